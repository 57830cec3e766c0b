# Real local emulators for the connector integration tests, for tests/run.sh: moto (AWS, with
# IAM enforcement on), Debian's docker-registry (the CNCF distribution registry, htpasswd
# auth), azurite's blob service (Azure Storage; twice: plain http with SharedKey, and https with
# bearer tokens from a test CA), gcp-storage-emulator (GCS) and a throwaway sshd, each a plain
# process on a free 127.0.0.1 port, logs and data in a mktemp dir.
# Source it, then: emulators_install (only what is missing: apt packages, the venv tests/.venv
# from tests/emulators/requirements.txt, npm ci in tests/emulators), emulators_start (exports
# TEST_AWS_*, TEST_REGISTRY_*, TEST_AZURITE_* (with TEST_AZURITE_HTTPS_BLOB_URL and
# TEST_AZURITE_CA_PEM_FILE), TEST_GCS_URL and TEST_SSH_*), emulators_stop (also run on EXIT by
# the caller; safe to call twice). Check it all with tests/emulators-check.sh.
# shellcheck shell=bash

EMU_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EMU_VENV=$EMU_TESTS/.venv
EMU_PKG=$EMU_TESTS/emulators
EMU_DIR=""
EMU_PIDS=()

# --- install -------------------------------------------------------------------------

emulators_install() {
  local missing=() py=python3 sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  { command -v ssh && command -v ssh-keygen; } >/dev/null || missing+=(openssh-client)
  command -v curl >/dev/null || missing+=(curl ca-certificates)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  # A venv whose interpreter went away (e.g. another pyenv version) is rebuilt.
  if [ -e "$EMU_VENV" ] && ! "$EMU_VENV/bin/python" -c '' >/dev/null 2>&1; then rm -rf "$EMU_VENV"; fi
  if [ ! -e "$EMU_VENV" ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3 python3-venv) # Debian's python3 has no ensurepip without python3-venv
    py=/usr/bin/python3
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages' own services are not used; docker-registry's would hold port 5000.
    case " ${missing[*]} " in *" docker-registry "*) emu_no_service "$sudo" docker-registry ;; esac
    case " ${missing[*]} " in *" openssh-server "*) emu_no_service "$sudo" ssh ssh.socket ;; esac
  fi
  if [ ! -e "$EMU_VENV" ]; then
    "$py" -m venv "$EMU_VENV"
  fi
  if [ ! -e "$EMU_VENV/.installed" ] || [ "$EMU_PKG/requirements.txt" -nt "$EMU_VENV/.installed" ]; then
    "$EMU_VENV/bin/pip" install -q --disable-pip-version-check --no-input -r "$EMU_PKG/requirements.txt"
    touch "$EMU_VENV/.installed"
  fi
  if [ ! -d "$EMU_PKG/node_modules" ] || [ "$EMU_PKG/package-lock.json" -nt "$EMU_PKG/node_modules" ]; then
    npm ci --prefix "$EMU_PKG" --no-audit --no-fund --loglevel=error >/dev/null
    touch "$EMU_PKG/node_modules"
  fi
}

# sudo service...: stops and disables services that a package's postinst may have started.
emu_no_service() {
  local sudo=$1 svc
  shift
  for svc in "$@"; do
    if [ -d /run/systemd/system ]; then
      $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$svc" ]; then
      $sudo "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
      $sudo update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  done
}

# --- helpers -------------------------------------------------------------------------

emu_port() { "$EMU_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
emu_secret() { "$EMU_VENV/bin/python" -c 'import secrets; print(secrets.token_hex(16))'; }

# log command...: starts a logged background process, remembered for emulators_stop.
emu_spawn() {
  local log=$1
  shift
  "$@" </dev/null >"$log" 2>&1 &
  EMU_PIDS+=($!)
  EMU_LAST_PID=$!
}

# name log pid command...: polls the command for ~30 s; on failure prints the log, returns 1.
emu_wait() {
  local name=$1 log=$2 pid=$3 i
  shift 3
  for ((i = 0; i < 150; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "$name did not start:" >&2
  cat "$log" >&2
  return 1
}

# The venv's aws CLI against moto, isolated from the caller's AWS configuration:
# emu_aws ACCESS_KEY_ID SECRET ARGS... (with EMU_AWS_TOKEN set: temporary credentials).
emu_aws() {
  local id=$1 secret=$2 token=()
  shift 2
  [ -z "${EMU_AWS_TOKEN:-}" ] || token=(AWS_SESSION_TOKEN="$EMU_AWS_TOKEN")
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_SECURITY_TOKEN -u AWS_ROLE_ARN \
    -u AWS_WEB_IDENTITY_TOKEN_FILE -u AWS_CA_BUNDLE -u AWS_ENDPOINT_URL \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
    AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard AWS_PAGER="" \
    AWS_ACCESS_KEY_ID="$id" AWS_SECRET_ACCESS_KEY="$secret" "${token[@]}" \
    "$EMU_VENV/bin/aws" --endpoint-url "$TEST_AWS_ENDPOINT" --output text "$@"
}

# --- start / stop --------------------------------------------------------------------

emulators_start() {
  EMU_DIR=$(mktemp -d /tmp/portcullis-emulators.XXXXXX)
  EMU_PIDS=()
  # Launch them all first so that they boot in parallel, then wait for and seed each.
  emu_moto_launch && emu_registry_launch && emu_azurite_launch && emu_azurite_https_launch &&
    emu_gcs_launch && emu_sshd_launch &&
    emu_moto_ready && emu_registry_ready && emu_azurite_ready && emu_azurite_https_ready &&
    emu_gcs_ready && emu_sshd_ready
}

emulators_stop() {
  [ -n "${EMU_DIR:-}" ] || return 0
  local pid i
  for pid in "${EMU_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${EMU_PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$EMU_DIR"
  EMU_DIR=""
  EMU_PIDS=()
}

# --- AWS: moto_server, IAM enforced after the bootstrap's free requests ---------------

# Exactly the number of requests emu_moto_ready makes with the bootstrap credentials (which
# are not checked); every later request must be SigV4-signed by a known key with a policy.
EMU_MOTO_FREE_ACTIONS=5

emu_moto_launch() {
  local port
  port=$(emu_port) || return 1
  mkdir -p "$EMU_DIR/moto"
  EMU_MOTO_LOG=$EMU_DIR/moto/moto.log
  export TEST_AWS_ENDPOINT="http://127.0.0.1:$port" TEST_AWS_REGION=us-east-1
  export TEST_AWS_CLI="$EMU_VENV/bin/aws"
  emu_spawn "$EMU_MOTO_LOG" env INITIAL_NO_AUTH_ACTION_COUNT=$EMU_MOTO_FREE_ACTIONS \
    "$EMU_VENV/bin/moto_server" -H 127.0.0.1 -p "$port"
  EMU_MOTO_PID=$EMU_LAST_PID
}

emu_moto_ready() {
  # /moto-api/ requests are not counted as actions.
  emu_wait moto "$EMU_MOTO_LOG" "$EMU_MOTO_PID" curl -sf -o /dev/null "$TEST_AWS_ENDPOINT/moto-api/data.json" || return 1
  local b=bootstrap all access key fail=""
  all='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
  access='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","ecr:*","eks:*","sts:*"],"Resource":"*"}]}'
  # The EMU_MOTO_FREE_ACTIONS (5) unauthenticated requests:
  emu_aws $b $b iam create-user --user-name portcullis-test >/dev/null &&                         # 1
    emu_aws $b $b iam put-user-policy --user-name portcullis-test --policy-name allow-all \
      --policy-document "$all" &&                                                                 # 2
    key=$(emu_aws $b $b iam create-access-key --user-name portcullis-test \
      --query 'AccessKey.[AccessKeyId,SecretAccessKey]') &&                                       # 3
    TEST_AWS_ROLE_ARN=$(emu_aws $b $b iam create-role --role-name portcullis-test-role --query Role.Arn \
      --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/portcullis-test","arn:aws:iam::123456789012:root"]},"Action":"sts:AssumeRole"}]}') && # 4
    emu_aws $b $b iam put-role-policy --role-name portcullis-test-role --policy-name access \
      --policy-document "$access" ||                                                              # 5
    fail="the IAM bootstrap failed"
  if [ -z "$fail" ]; then
    read -r TEST_AWS_ACCESS_KEY_ID TEST_AWS_SECRET_ACCESS_KEY <<<"$key"
    export TEST_AWS_ACCESS_KEY_ID TEST_AWS_SECRET_ACCESS_KEY TEST_AWS_ROLE_ARN
    # Enforcement must now be on: the bootstrap key and a wrong secret are refused.
    if emu_aws $b $b iam list-users >/dev/null 2>&1; then
      fail="IAM enforcement is off (an unsigned request after the bootstrap succeeded)"
    elif emu_aws "$TEST_AWS_ACCESS_KEY_ID" wrong-secret sts get-caller-identity >/dev/null 2>&1; then
      fail="IAM enforcement is off (a wrong secret was accepted)"
    elif ! emu_aws "$TEST_AWS_ACCESS_KEY_ID" "$TEST_AWS_SECRET_ACCESS_KEY" sts get-caller-identity >/dev/null; then
      fail="the bootstrap credentials do not work"
    fi
  fi
  if [ -n "$fail" ]; then
    echo "moto: $fail:" >&2
    cat "$EMU_MOTO_LOG" >&2
    return 1
  fi
}

# --- Docker registry: Debian's docker-registry (distribution v2), htpasswd auth --------

emu_registry_launch() {
  local port d=$EMU_DIR/registry
  port=$(emu_port) || return 1
  mkdir -p "$d/data"
  export TEST_REGISTRY_URL="http://127.0.0.1:$port" TEST_REGISTRY_USER=portcullis
  TEST_REGISTRY_PASSWORD=$(emu_secret) || return 1
  export TEST_REGISTRY_PASSWORD TEST_REGISTRY_REPOSITORIES="team/alpha team/beta"
  # bcrypt entry from the venv's bcrypt (no apache2-utils needed); password via the environment.
  EMU_U=$TEST_REGISTRY_USER EMU_P=$TEST_REGISTRY_PASSWORD "$EMU_VENV/bin/python" -c \
    'import bcrypt, os; print(os.environ["EMU_U"] + ":" + bcrypt.hashpw(os.environ["EMU_P"].encode(), bcrypt.gensalt(10)).decode())' \
    >"$d/htpasswd" || return 1
  cat >"$d/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(emu_secret)
auth:
  htpasswd:
    realm: portcullis-test-registry
    path: $d/htpasswd
EOF
  EMU_REGISTRY_LOG=$d/registry.log
  emu_spawn "$EMU_REGISTRY_LOG" /usr/bin/docker-registry serve "$d/config.yml"
  EMU_REGISTRY_PID=$EMU_LAST_PID
}

emu_registry_ready() {
  emu_wait docker-registry "$EMU_REGISTRY_LOG" "$EMU_REGISTRY_PID" curl -s -o /dev/null "$TEST_REGISTRY_URL/v2/" || return 1
  local repo catalog
  for repo in $TEST_REGISTRY_REPOSITORIES; do
    if ! emu_registry_push "$repo"; then
      echo "docker-registry: pushing $repo failed:" >&2
      cat "$EMU_REGISTRY_LOG" >&2
      return 1
    fi
  done
  catalog=$(curl -sSf -u "$TEST_REGISTRY_USER:$TEST_REGISTRY_PASSWORD" "$TEST_REGISTRY_URL/v2/_catalog")
  if [ "$catalog" != '{"repositories":["team/alpha","team/beta"]}' ]; then
    echo "docker-registry: unexpected catalog: $catalog" >&2
    return 1
  fi
}

# repository: a config blob and a one-file layer blob, then an OCI manifest tagged v1.
emu_registry_push() {
  local repo=$1 d
  d=$(mktemp -d "$EMU_DIR/registry/push.XXXXXX")
  mkdir "$d/root"
  printf '%s\n' "$repo" >"$d/root/hello.txt"
  tar -C "$d/root" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$d/layer.tar" hello.txt || return 1
  gzip -n -c "$d/layer.tar" >"$d/layer.tar.gz" || return 1
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$(emu_digest "$d/layer.tar")" >"$d/config.json"
  emu_registry_blob "$repo" "$d/config.json" && emu_registry_blob "$repo" "$d/layer.tar.gz" || return 1
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
    "$(emu_digest "$d/config.json")" "$(wc -c <"$d/config.json")" \
    "$(emu_digest "$d/layer.tar.gz")" "$(wc -c <"$d/layer.tar.gz")" >"$d/manifest.json"
  curl -sSf -o /dev/null -u "$TEST_REGISTRY_USER:$TEST_REGISTRY_PASSWORD" -X PUT \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$d/manifest.json" \
    "$TEST_REGISTRY_URL/v2/$repo/manifests/v1"
}

emu_digest() { echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"; }

# repository file: monolithic blob upload (POST to start, PUT the bytes with ?digest=).
emu_registry_blob() {
  local location
  location=$(curl -sSf -o /dev/null -D - -u "$TEST_REGISTRY_USER:$TEST_REGISTRY_PASSWORD" -X POST \
    "$TEST_REGISTRY_URL/v2/$1/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [ -n "$location" ] || return 1
  case $location in /*) location=$TEST_REGISTRY_URL$location ;; esac
  case $location in *\?*) location="$location&digest=$(emu_digest "$2")" ;; *) location="$location?digest=$(emu_digest "$2")" ;; esac
  curl -sSf -o /dev/null -u "$TEST_REGISTRY_USER:$TEST_REGISTRY_PASSWORD" -X PUT \
    -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$location"
}

# --- Azure Storage: azurite's blob service, SharedKey with the well-known dev account -----

# The emulator's well-known development key, published in Microsoft's azurite docs.
EMU_AZURITE_DEV_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

emu_azurite_launch() {
  local port d=$EMU_DIR/azurite
  port=$(emu_port) || return 1
  mkdir -p "$d"
  export TEST_AZURITE_BLOB_URL="http://127.0.0.1:$port/devstoreaccount1" TEST_AZURITE_ACCOUNT=devstoreaccount1
  export TEST_AZURITE_KEY=$EMU_AZURITE_DEV_KEY
  EMU_AZURITE_LOG=$d/azurite.log
  emu_spawn "$EMU_AZURITE_LOG" env -u AZURITE_ACCOUNTS -C "$d" node "$EMU_PKG/node_modules/azurite/dist/src/blob/main.js" \
    --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence \
    --loose --skipApiVersionCheck --disableTelemetry --disableProductStyleUrl
  EMU_AZURITE_PID=$EMU_LAST_PID
}

emu_azurite_ready() {
  emu_wait azurite "$EMU_AZURITE_LOG" "$EMU_AZURITE_PID" curl -s -o /dev/null "$TEST_AZURITE_BLOB_URL?comp=list" || return 1
  local c
  for c in alpha beta; do
    if ! "$EMU_VENV/bin/python" "$EMU_PKG/azblob.py" PUT "$c?restype=container" >/dev/null; then
      echo "azurite: creating container $c failed:" >&2
      cat "$EMU_AZURITE_LOG" >&2
      return 1
    fi
  done
}

# --- Azure Storage over https: a second azurite accepting bearer tokens (--oauth basic) -----
# azurite takes OAuth tokens only over https. Its certificate for 127.0.0.1 comes from a CA
# made here (TEST_AZURITE_CA_PEM_FILE); the tokens come from the test's own token endpoint.

emu_azurite_https_launch() {
  local port d=$EMU_DIR/azurite-https
  port=$(emu_port) || return 1
  mkdir -p "$d"
  if ! emu_test_certificates "$d" 127.0.0.1; then
    echo "azurite (https): making the test certificates with openssl failed" >&2
    return 1
  fi
  export TEST_AZURITE_HTTPS_BLOB_URL="https://127.0.0.1:$port/devstoreaccount1" TEST_AZURITE_CA_PEM_FILE=$d/ca.pem
  EMU_AZURITE_HTTPS_LOG=$d/azurite.log
  emu_spawn "$EMU_AZURITE_HTTPS_LOG" env -u AZURITE_ACCOUNTS -C "$d" node "$EMU_PKG/node_modules/azurite/dist/src/blob/main.js" \
    --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence \
    --loose --skipApiVersionCheck --disableTelemetry --disableProductStyleUrl \
    --oauth basic --cert "$d/cert.pem" --key "$d/key.pem"
  EMU_AZURITE_HTTPS_PID=$EMU_LAST_PID
}

# dir ip: a test CA (dir/ca.pem) and a server certificate for ip it signed (dir/cert.pem,
# dir/key.pem), valid two days.
emu_test_certificates() {
  local d=$1 ip=$2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=portcullis test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$ip" \
      -keyout "$d/key.pem" -out "$d/server.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$ip" >"$d/server.ext" &&
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
      -extfile "$d/server.ext" -out "$d/cert.pem" >/dev/null 2>&1
}

emu_azurite_https_ready() {
  emu_wait "azurite (https)" "$EMU_AZURITE_HTTPS_LOG" "$EMU_AZURITE_HTTPS_PID" \
    curl -s -o /dev/null --cacert "$TEST_AZURITE_CA_PEM_FILE" "$TEST_AZURITE_HTTPS_BLOB_URL?comp=list" || return 1
  local c
  for c in alpha beta; do
    if ! SSL_CERT_FILE=$TEST_AZURITE_CA_PEM_FILE TEST_AZURITE_BLOB_URL=$TEST_AZURITE_HTTPS_BLOB_URL \
      TEST_AZURITE_ACCOUNT=devstoreaccount1 TEST_AZURITE_KEY=$EMU_AZURITE_DEV_KEY "$EMU_VENV/bin/python" "$EMU_PKG/azblob.py" PUT "$c?restype=container" >/dev/null; then
      echo "azurite (https): creating container $c failed:" >&2
      cat "$EMU_AZURITE_HTTPS_LOG" >&2
      return 1
    fi
  done
}

# --- GCS: gcp-storage-emulator, in memory ---------------------------------------------

emu_gcs_launch() {
  local port
  port=$(emu_port) || return 1
  mkdir -p "$EMU_DIR/gcs"
  export TEST_GCS_URL="http://127.0.0.1:$port"
  EMU_GCS_LOG=$EMU_DIR/gcs/gcs.log
  emu_spawn "$EMU_GCS_LOG" env -C "$EMU_DIR/gcs" "$EMU_VENV/bin/gcp-storage-emulator" start \
    --host 127.0.0.1 --port "$port" --in-memory
  EMU_GCS_PID=$EMU_LAST_PID
}

emu_gcs_ready() {
  emu_wait gcp-storage-emulator "$EMU_GCS_LOG" "$EMU_GCS_PID" \
    curl -sf -o /dev/null "$TEST_GCS_URL/storage/v1/b?project=test-project" || return 1
  local b
  for b in alpha-bucket beta-bucket; do
    if ! curl -sSf -o /dev/null -X POST -H 'Content-Type: application/json' --data "{\"name\":\"$b\"}" \
      "$TEST_GCS_URL/storage/v1/b?project=test-project"; then
      echo "gcp-storage-emulator: creating bucket $b failed:" >&2
      cat "$EMU_GCS_LOG" >&2
      return 1
    fi
  done
}

# --- SSH: a second, unprivileged-port sshd, key auth only ------------------------------

emu_sshd_launch() {
  local port d=$EMU_DIR/ssh
  port=$(emu_port) || return 1
  mkdir -p "$d"
  export TEST_SSH_HOST=127.0.0.1 TEST_SSH_PORT=$port TEST_SSH_USER
  TEST_SSH_USER=$(id -un)
  ssh-keygen -q -t ed25519 -N '' -C portcullis-test-host -f "$d/host_ed25519" &&
    ssh-keygen -q -t ed25519 -N '' -C portcullis-test-ed25519 -f "$d/id_ed25519" &&
    ssh-keygen -q -t rsa -b 3072 -N '' -C portcullis-test-rsa -f "$d/id_rsa" || return 1
  cat "$d/id_ed25519.pub" "$d/id_rsa.pub" >"$d/authorized_keys"
  TEST_SSH_ED25519_KEY_B64=$(base64 -w0 "$d/id_ed25519")
  TEST_SSH_RSA_KEY_B64=$(base64 -w0 "$d/id_rsa")
  TEST_SSH_HOST_KEY_FINGERPRINT=$(ssh-keygen -l -E sha256 -f "$d/host_ed25519.pub" | cut -d' ' -f2)
  export TEST_SSH_ED25519_KEY_B64 TEST_SSH_RSA_KEY_B64 TEST_SSH_HOST_KEY_FINGERPRINT
  cat >"$d/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $d/host_ed25519
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers $TEST_SSH_USER
Subsystem sftp internal-sftp
EOF
  # sshd running as root needs its privilege separation directory.
  if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then mkdir -m 0755 /run/sshd; fi
  EMU_SSHD_LOG=$d/sshd.log
  emu_spawn "$EMU_SSHD_LOG" /usr/sbin/sshd -D -e -f "$d/sshd_config"
  EMU_SSHD_PID=$EMU_LAST_PID
}

# key command...: runs the command over ssh with that key.
emu_ssh() {
  local key=$1
  shift
  ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
    -o IdentitiesOnly=yes -o IdentityAgent=none -o ConnectTimeout=5 -o LogLevel=ERROR \
    -i "$key" -p "$TEST_SSH_PORT" "$TEST_SSH_USER@$TEST_SSH_HOST" "$@"
}

emu_sshd_ready() {
  emu_wait sshd "$EMU_SSHD_LOG" "$EMU_SSHD_PID" emu_ssh "$EMU_DIR/ssh/id_ed25519" true
}
