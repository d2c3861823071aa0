# shellcheck shell=bash
# Sourced by scripts/demo and scripts/bench: starts LocalStack (from .venv/localstack, see
# scripts/setup-emulators) on a free 127.0.0.1 port and stops it, by process group, on exit.
#
#   start_localstack WORK_DIR   sets LOCALSTACK_PORT and LOCALSTACK_PID; keeps LocalStack's
#                               files and log under WORK_DIR; exits 1 with the log when
#                               LocalStack is not healthy within 60 s
#   stop_localstack             stops it (idempotent)

start_localstack() {
  local work="$1" root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  LOCALSTACK_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$work/tmp" "$work/volume" "$work/cache"
  env -u LOCALSTACK_AUTH_TOKEN -u LOCALSTACK_API_KEY \
    GATEWAY_LISTEN="127.0.0.1:$LOCALSTACK_PORT" GATEWAY_SERVER=hypercorn DNS_ADDRESS=0 PERSISTENCE=0 \
    DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 TMPDIR="$work/tmp" \
    LOCALSTACK_VOLUME_DIR="$work/volume" XDG_CACHE_HOME="$work/cache" \
    setsid "$root/.venv/localstack/bin/python" -m localstack.runtime.main >"$work/localstack.log" 2>&1 &
  LOCALSTACK_PID=$!
  local _
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$LOCALSTACK_PORT/_localstack/health" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  echo "LocalStack did not start; its log:" >&2
  cat "$work/localstack.log" >&2
  stop_localstack
  exit 1
}

stop_localstack() {
  if [ -n "${LOCALSTACK_PID:-}" ]; then
    kill -TERM -- "-$LOCALSTACK_PID" 2>/dev/null || true
    wait "$LOCALSTACK_PID" 2>/dev/null || true
    LOCALSTACK_PID=
  fi
}
