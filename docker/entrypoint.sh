#!/bin/sh
# Entrypoint of both images: runs the command it is given (gunicorn, celery, manage.py ...) after
# making sure the writable folders exist, and offers one helper for health checks:
#
#   docker-entrypoint probe-http URL   exit 0 only if GET URL answers 200 (no redirects followed)
set -eu

if [ "${1:-}" = "probe-http" ]; then
    url="${2:?usage: docker-entrypoint probe-http URL}"
    # Django checks the Host header against ALLOWED_HOSTS, so the probe sends the first allowed
    # host (".example.org" -> "example.org"; "*" -> "localhost"). X-Forwarded-Proto: https keeps
    # SECURE_SSL_REDIRECT from answering 301: gunicorn honours that header from 127.0.0.1 only.
    exec python - "$url" <<'PY'
import os
import sys
import urllib.error
import urllib.request

hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
host = hosts[0].lstrip(".") if hosts else "localhost"
if host == "*":
    host = "localhost"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


request = urllib.request.Request(
    sys.argv[1], headers={"Host": host, "X-Forwarded-Proto": "https"}
)
try:
    with urllib.request.build_opener(NoRedirect).open(request, timeout=5) as response:
        status = response.status
except urllib.error.HTTPError as exc:
    status = exc.code
except OSError as exc:
    sys.exit(f"probe-http: {sys.argv[1]} unreachable: {exc}")
if status != 200:
    sys.exit(f"probe-http: {sys.argv[1]} answered {status} (Host: {host})")
PY
fi

# Bind mounts (unlike fresh named volumes) may arrive without these folders.
mkdir -p "${VAR_DIR:-/var/lib/prefroute}" "${EMBEDDING_CACHE_DIR:-/var/cache/prefroute/embeddings}" \
    2>/dev/null || true

exec "$@"
