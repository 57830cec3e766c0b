# schemathesis (PyPI), for fuzzing the JSON API from its OpenAPI document, in its own venv
# tests/schemathesis/.venv from tests/schemathesis/requirements.txt (apart from tests/.venv,
# which is the emulators'). Source it, then: schemathesis_install (creates or rebuilds the venv
# and pip installs when the requirements are newer than its .installed marker; quiet), and
# schemathesis_bin (prints the path of the venv's `st`; also exported as SCHEMATHESIS_BIN).
# schemathesis 4.x needs Python >= 3.11 (Debian's python3 and the pyenv one here both are).
# shellcheck shell=bash

ST_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ST_PKG=$ST_TESTS/schemathesis
ST_VENV=$ST_PKG/.venv

schemathesis_install() {
  local py=python3 sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # A venv whose interpreter went away (e.g. another pyenv version) is rebuilt.
  if [ -e "$ST_VENV" ] && ! "$ST_VENV/bin/python" -c '' >/dev/null 2>&1; then rm -rf "$ST_VENV"; fi
  if [ ! -e "$ST_VENV" ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    # Debian's python3 has no ensurepip without python3-venv.
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
    py=/usr/bin/python3
  fi
  if [ ! -e "$ST_VENV" ]; then
    "$py" -m venv "$ST_VENV" || return 1
  fi
  if [ ! -e "$ST_VENV/.installed" ] || [ "$ST_PKG/requirements.txt" -nt "$ST_VENV/.installed" ]; then
    "$ST_VENV/bin/pip" install -q --disable-pip-version-check --no-input -r "$ST_PKG/requirements.txt" || return 1
    touch "$ST_VENV/.installed"
  fi
  export SCHEMATHESIS_BIN=$ST_VENV/bin/st
}

schemathesis_bin() { echo "$ST_VENV/bin/st"; }
