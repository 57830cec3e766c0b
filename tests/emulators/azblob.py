"""One SharedKey-signed request to the azurite blob service (standard library only), for
tests/emulators.sh and tests/emulators-check.sh.

Usage: python3 azblob.py METHOD [PATH][?QUERY]  (PATH relative to $TEST_AZURITE_BLOB_URL,
e.g. `PUT 'alpha?restype=container'` or `GET '?comp=list'`). Reads TEST_AZURITE_BLOB_URL,
TEST_AZURITE_ACCOUNT and TEST_AZURITE_KEY; prints the response body; exits 1 on an HTTP error
(after printing the status and body to stderr), 2 on a connection error.
"""

import base64
import hashlib
import hmac
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from email.utils import formatdate

API_VERSION = "2021-08-06"


def string_to_sign(method, headers, account, url):
    parts = urllib.parse.urlsplit(url)
    ms = sorted((k.lower(), v.strip()) for k, v in headers.items() if k.lower().startswith("x-ms-"))
    resource = "/" + account + (parts.path or "/")
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    for name in sorted(query, key=str.lower):
        resource += "\n" + name.lower() + ":" + ",".join(sorted(query[name]))
    length = headers.get("Content-Length", "")
    return "\n".join(
        [
            method,
            headers.get("Content-Encoding", ""),
            headers.get("Content-Language", ""),
            "" if length == "0" else length,  # empty for 0 since version 2015-02-21
            headers.get("Content-MD5", ""),
            headers.get("Content-Type", ""),
            "",  # Date: x-ms-date is used instead
            headers.get("If-Modified-Since", ""),
            headers.get("If-Match", ""),
            headers.get("If-None-Match", ""),
            headers.get("If-Unmodified-Since", ""),
            headers.get("Range", ""),
        ]
        + [k + ":" + v for k, v in ms]
        + [resource]
    )


def main():
    method = sys.argv[1].upper()
    rel = sys.argv[2] if len(sys.argv) > 2 else ""
    base = os.environ["TEST_AZURITE_BLOB_URL"].rstrip("/")
    account = os.environ["TEST_AZURITE_ACCOUNT"]
    key = base64.b64decode(os.environ["TEST_AZURITE_KEY"])
    url = base + ("/" + rel.lstrip("/") if rel and not rel.startswith("?") else rel)
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION}
    if method in ("PUT", "POST", "DELETE"):
        headers["Content-Length"] = "0"
    sig = hmac.new(key, string_to_sign(method, headers, account, url).encode(), hashlib.sha256)
    headers["Authorization"] = "SharedKey %s:%s" % (account, base64.b64encode(sig.digest()).decode())
    # data=None: urllib would otherwise add a Content-Type that is not in the signature.
    req = urllib.request.Request(url, data=None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            sys.stdout.write(resp.read().decode())
    except urllib.error.HTTPError as e:
        sys.stderr.write("HTTP %d %s\n%s\n" % (e.code, e.reason, e.read().decode(errors="replace")))
        sys.exit(1)
    except OSError as e:
        sys.stderr.write("%s\n" % e)
        sys.exit(2)


if __name__ == "__main__":
    main()
