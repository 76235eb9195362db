#!/usr/bin/env bash
# Compile the Python lock files from pyproject.toml with `uv pip compile`, every package pinned with its hashes:
#   requirements/dev.lock    hypertest's dependencies and the dev extra: what scripts/bootstrap.sh (and so CI) installs
#   requirements/action.txt  the runtime dependencies (the aws and node extras): what the action's Dockerfile installs
# Both are universal (every platform, Python >= 3.11), so the action image builds for amd64 and arm64 from one file.
# Without arguments the pins already in the files are kept where pyproject.toml still allows them; pass
# `--upgrade` (everything) or `--upgrade-package NAME` (one package) to move them. The action's pins are taken
# from the dev lock (a constraint), so the tests run the versions the image ships.
# The npm packages are locked by their own package-lock.json files (`npm install` in the suite's folder).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV="${UV:-$ROOT/.venv/bin/uv}"
[ -x "$UV" ] || UV="$(command -v uv)" || { echo "[lock] uv not found: run scripts/bootstrap.sh first" >&2; exit 2; }
cd "$ROOT"
common=(--universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "bash scripts/lock.sh")
echo "[lock] requirements/dev.lock" >&2
"$UV" pip compile pyproject.toml --extra dev "${common[@]}" --output-file requirements/dev.lock "$@"
echo "[lock] requirements/action.txt" >&2
"$UV" pip compile pyproject.toml --extra aws --extra node "${common[@]}" --constraints requirements/dev.lock \
  --output-file requirements/action.txt "$@"
