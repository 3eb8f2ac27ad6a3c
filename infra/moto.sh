#!/usr/bin/env bash
# Starts or stops the local AWS emulator (moto in server mode) on 127.0.0.1.
#   infra/moto.sh start [PORT]   start it (PORT 0 or empty: a free port) and
#                                print its endpoint URL once it answers
#   infra/moto.sh stop           stop it
# State lives in $MOTO_STATE_DIR (default .run/, git-ignored) as
# moto.{pid,port,log}; give each concurrent user its own directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run="${MOTO_STATE_DIR:-$root/.run}"
mkdir -p "$run"
python="$root/.tools/moto/bin/python"

free_port() {
  "$python" - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

case "${1:-}" in
start)
  [ -x "$python" ] || "$root/infra/install-tools.sh" moto
  if [ -f "$run/moto.pid" ] && kill -0 "$(cat "$run/moto.pid")" 2>/dev/null; then
    echo "http://127.0.0.1:$(cat "$run/moto.port")"
    exit 0
  fi
  port=${2:-0}
  [ "$port" = 0 ] && port=$(free_port)
  # moto never invokes Scheduler targets: the tests and the local stack
  # fire schedules themselves. serve.py is moto_server with two fixes (one
  # request at a time; a base-table Query reads only its partition) and
  # speed-ups that change no answer (see the file).
  "$python" "$root/infra/moto/serve.py" -H 127.0.0.1 -p "$port" >"$run/moto.log" 2>&1 &
  echo $! >"$run/moto.pid"
  echo "$port" >"$run/moto.port"
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
      echo "http://127.0.0.1:$port"
      exit 0
    fi
    kill -0 "$(cat "$run/moto.pid")" 2>/dev/null || { cat "$run/moto.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "moto did not start; see $run/moto.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$run/moto.pid" ]; then
    pid=$(cat "$run/moto.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$run/moto.pid" "$run/moto.port"
  fi
  ;;
*)
  echo "usage: $0 start [PORT] | stop" >&2
  exit 2
  ;;
esac
