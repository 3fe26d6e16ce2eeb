#!/usr/bin/env bash
# The contract: `buf lint` with the rules in buf.yaml, and `buf breaking`
# against the previous commit (when the clone has it): a change that would
# break existing clients (a field renumbered, retyped or removed, a method
# gone) fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q --disable-pip-version-check "buf-bin==1.75.0"
buf lint
buf build -o /dev/null
if git rev-parse -q --verify HEAD~1 >/dev/null; then
  buf breaking --against '.git#ref=HEAD~1,subdir=proto'
  echo "buf: lint clean, no breaking change against $(git rev-parse --short HEAD~1)"
else
  echo "buf: lint clean; no previous commit in this clone to compare with"
fi
