#!/usr/bin/env bash
# Runs the browser end-to-end test (console.test.mjs) against the local
# stack: builds .run/local, starts it on a free 127.0.0.1 port against the
# emulator of RTBF_EMULATOR_URL (infra/with-emulator.sh sets it), runs the
# test in headless Chromium, and stops the stack however the test ends.
# Usage: infra/with-emulator.sh infra/e2e/run.sh   (or `make e2e`)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${RTBF_EMULATOR_URL:?run under infra/with-emulator.sh (RTBF_EMULATOR_URL)}"
[ -d infra/e2e/node_modules/playwright-core ] || { echo "run: npm ci --prefix infra/e2e" >&2; exit 1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "no ${CHROMIUM:-/usr/bin/chromium}: apt-get install -y chromium" >&2; exit 1; }

mkdir -p .run
go build -o .run/local ./infra/local
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
work=$(mktemp -d "$root/.run/e2e.XXXXXX")
log="$work/local.log"

.run/local -addr "127.0.0.1:$port" -emulator-url "$RTBF_EMULATOR_URL" \
	-prefix "rtbf-e2e-$$" -build-dir "$work/build" >"$log" 2>&1 &
pid=$!
stop() {
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap stop EXIT INT TERM

# Ready when the console answers (the functions are built by then).
for i in $(seq 600); do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "the local stack exited before it was ready:" >&2
		cat "$log" >&2
		exit 1
	fi
	curl -fsS -o /dev/null "$url/" 2>/dev/null && break
	if [ "$i" = 600 ]; then echo "the local stack was not ready in 5 minutes:" >&2; cat "$log" >&2; exit 1; fi
	sleep 0.5
done

export RTBF_CONSOLE_URL="$url" RTBF_SCREENSHOTS="$root/.run/e2e-screenshots"
rm -rf "$RTBF_SCREENSHOTS"
if ! node --test --test-reporter=spec infra/e2e/console.test.mjs; then
	echo "--- local stack log ---" >&2
	tail -n 80 "$log" >&2
	exit 1
fi
echo "screenshots: $RTBF_SCREENSHOTS"
