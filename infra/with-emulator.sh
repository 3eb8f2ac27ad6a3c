#!/usr/bin/env bash
# Runs a command with the local AWS emulator up: starts moto on a free
# 127.0.0.1 port, exports RTBF_EMULATOR_URL, runs the command, and stops
# the emulator however the command ends.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/.run"
# An emulator of its own, so that concurrent runs do not stop each other's.
export MOTO_STATE_DIR=$(mktemp -d "$root/.run/moto.XXXXXX")
url=$("$root/infra/moto.sh" start)
trap '"$root/infra/moto.sh" stop; rm -rf "$MOTO_STATE_DIR"' EXIT INT TERM
export RTBF_EMULATOR_URL="$url"
# The emulator speaks plain HTTP: a CA bundle from the machine's
# environment would only make the SDK refuse the tests' own HTTP clients
# (the fault injectors, the AWS behaviour model).
export AWS_CA_BUNDLE=
"$@"
