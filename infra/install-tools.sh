#!/usr/bin/env bash
# Installs the pinned Python tools the project needs into git-ignored
# virtual environments under .tools/: the moto server (the local AWS
# emulator), the SAM CLI with cfn-lint, and checkov (the template's security
# checks). Each environment is rebuilt only when its lock file in
# infra/requirements/ changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"
python=${PYTHON:-python3}

install() { # name
  local name=$1 lock="$root/infra/requirements/$1.txt" venv="$tools/$1"
  local want; want=$(sha256sum "$lock" | cut -d' ' -f1)
  if [ -f "$venv/.lock-sha256" ] && [ "$(cat "$venv/.lock-sha256")" = "$want" ]; then
    return 0
  fi
  echo "installing $name tools into .tools/$name" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$lock"
  echo "$want" > "$venv/.lock-sha256"
}

for name in "$@"; do install "$name"; done
