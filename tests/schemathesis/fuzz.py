"""Fuzzes the JSON API with schemathesis from its own OpenAPI document.

Starts a release `portcullis serve` on a fresh database (SQLite in a temporary data
directory, or the PostgreSQL database given), seeds a namespace, a service account with
a key, an environment, a connector and a viewer, then runs schemathesis (every check,
every phase, a fixed seed and number of examples) as the global admin and as the viewer.
Operations that would end the caller's own access (revoking its token, changing its user
or its bindings) run last, in a pass of their own, so that they cannot hide the rest.
Exits non-zero when schemathesis reports any failure. Run by tests/run.sh:

    fuzz.py --bin target/release/portcullis --st .venv/bin/st [--database-url postgres://…]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN_PASSWORD = "fuzz-admin-password-1"
VIEWER_PASSWORD = "fuzz-viewer-password-1"

# Run last, alone: each can take away the caller's own access.
SELF_ENDING = [
    "DELETE /api/v1/tokens/{id}",
    "PATCH /api/v1/users/{name}",
    "PUT /api/v1/users/{name}/role-bindings",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None, expect=(200, 201, 204)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status, text = res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if status not in expect:
        raise SystemExit(f"seeding: {method} {path} answered {status}: {text}")
    return json.loads(text) if text else None


def login(base, username, password):
    body = {"username": username, "password": password}
    return call(base, "POST", "/api/v1/login", body)["access_token"]


def seed(base):
    """The data the fuzzer starts from; returns the admin's and the viewer's tokens."""
    admin = login(base, "admin", ADMIN_PASSWORD)
    call(base, "POST", "/api/v1/namespaces", {"name": "team-a", "description": "fuzzed"}, admin)
    call(base, "POST", "/api/v1/service-accounts", {"name": "ci", "namespace": "team-a"}, admin)
    call(base, "POST", "/api/v1/namespaces/team-a/service-accounts/ci/api-keys",
         {"name": "deploy"}, admin)
    call(base, "PUT", "/api/v1/namespaces/team-a/service-accounts/ci/role-bindings",
         {"team-a/*": ["viewer"]}, admin)
    call(base, "POST", "/api/v1/environments",
         {"namespace": "team-a", "name": "train", "specification": "dependencies: [python]"},
         admin)
    call(base, "POST", "/api/v1/connectors", {
        "name": "registry", "namespace": "team-a", "connector_type": "docker",
        "auth_method": "password",
        "configuration": {"username": "ci", "password": "s3cret", "registry": "ghcr.io"},
    }, admin)
    call(base, "POST", "/api/v1/users",
         {"name": "viewer", "password": VIEWER_PASSWORD, "primary_namespace": "viewer-home"},
         admin)
    call(base, "PUT", "/api/v1/users/viewer/role-bindings", {"team-a/*": ["viewer"]}, admin)
    return admin, login(base, "viewer", VIEWER_PASSWORD)


def schemathesis(st, base, token, label, only=None, skip=(), admin=True):
    """One schemathesis run; returns its exit code. Operations that only 401 or 403
    fail an admin's run (its token is not working) but not a viewer's (they are
    admin-only)."""
    work = tempfile.mkdtemp(prefix=f"st-{label.split()[0]}-")
    config = os.path.join(work, "schemathesis.toml")
    with open(os.path.join(HERE, "schemathesis.toml")) as f:
        text = f.read()
    if not admin:
        text = text.replace('fail-on = ["missing_auth", ', 'fail-on = [')
    with open(config, "w") as f:
        f.write(text)
    cmd = [st, "--config-file", config, "run",
           base + "/api/v1/openapi.json",
           "--report", "junit", "--report-junit-path", os.path.join(work, "junit.xml")]
    for name in skip:
        cmd += ["--exclude-name", name]
    if only is not None:
        for name in only:
            cmd += ["--include-name", name]
    env = dict(os.environ, PORTCULLIS_TOKEN=token, HYPOTHESIS_STORAGE_DIRECTORY=work,
               NO_COLOR="1")
    print(f"\n--- schemathesis as {label} ---", flush=True)
    started = time.monotonic()
    try:
        code = subprocess.run(cmd, cwd=work, env=env, timeout=900).returncode
    except subprocess.TimeoutExpired:
        print(f"schemathesis as {label}: over 15 minutes", flush=True)
        code = 124
    print(f"--- schemathesis as {label}: exit {code} in {time.monotonic() - started:.0f} s ---",
          flush=True)
    return code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, type=os.path.abspath,
                    help="the portcullis binary (release build)")
    ap.add_argument("--st", required=True, type=os.path.abspath, help="schemathesis' st")
    ap.add_argument("--database-url", help="a fresh PostgreSQL database (default: SQLite)")
    ap.add_argument("--as", dest="who", choices=["admin", "viewer", "both"], default="both")
    args = ap.parse_args()

    data = tempfile.mkdtemp(prefix="portcullis-fuzz-")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PORTCULLIS_DATA_DIR": data,
        "PORTCULLIS_BIND": f"127.0.0.1:{port}",
        "PORTCULLIS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PORTCULLIS_LOG": "warn",
        # The fuzzer sends bad credentials on purpose; they must meet 401s, not 429s.
        "PORTCULLIS_LOGIN_BURST": "1000000",
    }
    if args.database_url:
        env["PORTCULLIS_DATABASE_URL"] = args.database_url
    log_path = os.path.join(data, "server.log")
    with open(log_path, "w") as log:
        server = subprocess.Popen([args.bin, "serve"], env=env, stderr=log, stdout=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start:\n" + open(log_path).read())
            time.sleep(0.2)
        admin, viewer = seed(base)
        codes = []
        if args.who in ("viewer", "both"):
            codes.append(
                schemathesis(args.st, base, viewer, "viewer", skip=SELF_ENDING, admin=False)
            )
        if args.who in ("admin", "both"):
            codes.append(schemathesis(args.st, base, admin, "admin", skip=SELF_ENDING))
            admin = login(base, "admin", ADMIN_PASSWORD)
            codes.append(schemathesis(args.st, base, admin, "admin (self-ending operations)",
                                      only=SELF_ENDING))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    with open(log_path) as f:
        errors = [line for line in f if " ERROR " in line or "panicked" in line]
    if errors:
        print("server errors:\n" + "".join(errors[:50]), flush=True)
    if any(codes) or errors:
        sys.exit(1)
    print("schemathesis: no failures", flush=True)


if __name__ == "__main__":
    main()
