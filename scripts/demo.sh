#!/usr/bin/env bash
# Set everything up, then run the example suite on the local provider, in parallel, on real Chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
export PATH="$ROOT/.venv/bin:$PATH"
exec python "$ROOT/entrypoint.py" invoke --config "$ROOT/examples/demo/hypertest.yml" "$@"
