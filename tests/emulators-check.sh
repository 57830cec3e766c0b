#!/usr/bin/env bash
# Self-check for tests/emulators.sh: installs what is missing, starts every emulator, prints
# what it exported (secrets hidden) and smoke-checks each one the way the connector tests
# will use it. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/emulators.sh

t0=$(date +%s%N)
emulators_install
t1=$(date +%s%N)
trap emulators_stop EXIT
emulators_start
t2=$(date +%s%N)
echo "install $(((t1 - t0) / 1000000)) ms, start $(((t2 - t1) / 1000000)) ms"
env | grep '^TEST_' | sort | sed -E 's/^([A-Z0-9_]*(SECRET_ACCESS_KEY|PASSWORD|_KEY|_B64))=.*/\1=<hidden>/'

passed=0
failed=0
check() { # description command...
  local what=$1
  shift
  if "$@" >"$EMU_DIR/check.out" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what"
    sed 's/^/     /' "$EMU_DIR/check.out"
  fi
}
fails() { ! "$@"; }
has() { # needle command...: the command's output contains the needle
  local needle=$1 out
  shift
  out=$("$@") && grep -qF -- "$needle" <<<"$out"
}

# --- AWS (moto, IAM enforced) ---
aws_as() { emu_aws "$TEST_AWS_ACCESS_KEY_ID" "$TEST_AWS_SECRET_ACCESS_KEY" "$@"; }
check "aws: sts get-caller-identity is the test user" \
  has ":user/portcullis-test" aws_as sts get-caller-identity --query Arn
check "aws: a wrong secret is refused" fails emu_aws "$TEST_AWS_ACCESS_KEY_ID" wrong sts get-caller-identity
check "aws: an unknown access key is refused" fails emu_aws AKIAUNKNOWNKEY000000 wrong s3api list-buckets
check "aws: s3 create-bucket" aws_as s3api create-bucket --bucket portcullis-check
check "aws: s3 list-buckets" has portcullis-check aws_as s3api list-buckets --query 'Buckets[].Name'
assume_role_s3() {
  local id secret token
  read -r id secret token < <(aws_as sts assume-role --role-arn "$TEST_AWS_ROLE_ARN" --role-session-name check \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]')
  EMU_AWS_TOKEN=$token has portcullis-check emu_aws "$id" "$secret" s3api list-buckets --query 'Buckets[].Name'
}
check "aws: sts assume-role, then s3 with the temporary credentials" assume_role_s3
check "aws: ecr create-repository" aws_as ecr create-repository --repository-name team/check
check "aws: ecr describe-repositories" has team/check aws_as ecr describe-repositories --query 'repositories[].repositoryName'
# moto hashes its parsed parameters instead of the empty body of a non-S3 GET unless the
# signed request carries x-amz-content-sha256, so the CLI's eks calls fail; sign that header.
eks_list_clusters() {
  AWS_ACCESS_KEY_ID=$TEST_AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$TEST_AWS_SECRET_ACCESS_KEY "$EMU_VENV/bin/python" - <<'EOF'
import os, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url = os.environ["TEST_AWS_ENDPOINT"] + "/clusters"
req = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]), "eks", os.environ["TEST_AWS_REGION"]).add_auth(req)
print(urllib.request.urlopen(urllib.request.Request(url, headers=dict(req.headers.items()))).read().decode())
EOF
}
check "aws: eks list-clusters (signing x-amz-content-sha256)" has '"clusters"' eks_list_clusters

# --- Docker registry ---
check "registry: the catalog lists team/alpha and team/beta" \
  has '{"repositories":["team/alpha","team/beta"]}' curl -sSf -u "$TEST_REGISTRY_USER:$TEST_REGISTRY_PASSWORD" "$TEST_REGISTRY_URL/v2/_catalog"
check "registry: a wrong password gets 401 with a Basic challenge" \
  has 'Www-Authenticate: Basic realm="portcullis-test-registry"' curl -s -o /dev/null -D - -u "$TEST_REGISTRY_USER:wrong" "$TEST_REGISTRY_URL/v2/_catalog"
check "registry: team/alpha:v1 has an OCI manifest" \
  has '"tags":["v1"]' curl -sSf -u "$TEST_REGISTRY_USER:$TEST_REGISTRY_PASSWORD" "$TEST_REGISTRY_URL/v2/team/alpha/tags/list"

# --- Azure Storage (azurite) ---
list_containers() { "$EMU_VENV/bin/python" tests/emulators/azblob.py GET '?comp=list'; }
check "azurite: SharedKey list containers has alpha" has '<Name>alpha</Name>' list_containers
check "azurite: SharedKey list containers has beta" has '<Name>beta</Name>' list_containers
check "azurite: an unsigned request is refused" \
  has ' 403' curl -s -o /dev/null -w ' %{http_code}' "$TEST_AZURITE_BLOB_URL?comp=list"
check "azurite: a wrong key is refused" \
  fails env TEST_AZURITE_KEY=d3Jvbmcta2V5 "$EMU_VENV/bin/python" tests/emulators/azblob.py GET '?comp=list'

# --- Azure Storage over https (azurite, bearer tokens) ---
# A token with the claims azurite checks (it does not check the signature); ISS overrides iss.
azurite_token() {
  ISS=${1:-https://sts.windows.net/3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/} "$EMU_VENV/bin/python" -c '
import base64, json, os, time
part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
now = int(time.time())
claims = {"aud": "https://storage.azure.com", "iss": os.environ["ISS"], "nbf": now - 60, "iat": now - 60, "exp": now + 600}
print(part({"alg": "RS256", "typ": "JWT"}) + "." + part(claims) + ".c2lnbmF0dXJl")'
}
https_list() { # [curl options...]
  curl -sS "$@" -H 'x-ms-version: 2021-08-06' "$TEST_AZURITE_HTTPS_BLOB_URL?comp=list"
}
check "azurite (https): its certificate is not trusted without the test CA" fails https_list -o /dev/null
check "azurite (https): a bearer token lists alpha and beta" \
  bash -c "out=\$(curl -sSf --cacert '$TEST_AZURITE_CA_PEM_FILE' -H 'x-ms-version: 2021-08-06' \
    -H 'Authorization: Bearer $(azurite_token)' '$TEST_AZURITE_HTTPS_BLOB_URL?comp=list') &&
    grep -q '<Name>alpha</Name>' <<<\"\$out\" && grep -q '<Name>beta</Name>' <<<\"\$out\""
check "azurite (https): a token from another issuer is refused" \
  has ' 403' https_list --cacert "$TEST_AZURITE_CA_PEM_FILE" -o /dev/null -w ' %{http_code}' \
  -H "Authorization: Bearer $(azurite_token https://evil.example/)"

# --- GCS ---
check "gcs: list buckets has alpha-bucket and beta-bucket" \
  bash -c "out=\$(curl -sSf '$TEST_GCS_URL/storage/v1/b?project=test-project'); grep -q alpha-bucket <<<\"\$out\" && grep -q beta-bucket <<<\"\$out\""

# --- SSH ---
keyfile() { # NAME B64 -> a 0600 key file
  printf '%s' "$2" | base64 -d >"$EMU_DIR/$1" && chmod 600 "$EMU_DIR/$1" && echo "$EMU_DIR/$1"
}
ed=$(keyfile check_ed25519 "$TEST_SSH_ED25519_KEY_B64")
rsa=$(keyfile check_rsa "$TEST_SSH_RSA_KEY_B64")
ssh-keygen -q -t ed25519 -N '' -f "$EMU_DIR/check_other"
check "ssh: the ed25519 key logs in" has "$TEST_SSH_USER" emu_ssh "$ed" id -un
check "ssh: the rsa key logs in" emu_ssh "$rsa" true
check "ssh: an unauthorized key is refused" fails emu_ssh "$EMU_DIR/check_other" true
check "ssh: the host key fingerprint matches" \
  has "$TEST_SSH_HOST_KEY_FINGERPRINT" bash -c "ssh-keyscan -T 5 -p $TEST_SSH_PORT $TEST_SSH_HOST 2>/dev/null | ssh-keygen -l -E sha256 -f -"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
