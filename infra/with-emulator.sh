#!/usr/bin/env bash
# Runs a command with the local AWS emulator up: starts moto on a free
# 127.0.0.1 port, exports RTBF_EMULATOR_URL, runs the command, and stops
# the emulator however the command ends. When the command fails, the
# requests the emulator was slow to serve (its "rtbf-slow" log lines, see
# infra/moto/serve.py) are printed, since a test that timed out waiting for
# the emulator is usually waiting behind one of them. RTBF_MOTO_LOG=<file>
# keeps the emulator's whole log there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/.run"
# An emulator of its own, so that concurrent runs do not stop each other's.
export MOTO_STATE_DIR=$(mktemp -d "$root/.run/moto.XXXXXX")
url=$("$root/infra/moto.sh" start)
finish() {
  rc=$?
  "$root/infra/moto.sh" stop
  if [ "$rc" != 0 ] && grep -q '^rtbf-slow' "$MOTO_STATE_DIR/moto.log" 2>/dev/null; then
    echo "with-emulator: requests the emulator took more than ${RTBF_MOTO_SLOW_SECONDS:-1}s over:" >&2
    grep '^rtbf-slow' "$MOTO_STATE_DIR/moto.log" | tail -50 >&2
  fi
  if [ -n "${RTBF_MOTO_LOG:-}" ]; then cp "$MOTO_STATE_DIR/moto.log" "$RTBF_MOTO_LOG" || true; fi
  rm -rf "$MOTO_STATE_DIR"
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM
export RTBF_EMULATOR_URL="$url"
# The emulator speaks plain HTTP: a CA bundle from the machine's
# environment would only make the SDK refuse the tests' own HTTP clients
# (the fault injectors, the AWS behaviour model).
export AWS_CA_BUNDLE=
"$@"
