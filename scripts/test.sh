#!/usr/bin/env bash
# Set everything up, then run the linters, the type checker and the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
export PATH="$ROOT/.venv/bin:$PATH"
cd "$ROOT"
echo "[test] ruff"
ruff check .
echo "[test] mypy"
mypy hypertest runner entrypoint.py benchmarks scripts
echo "[test] zizmor"
# Offline: no GitHub API (the online audits compare pins with their tags). A finding that stays is ignored
# inline, with its reason, on its line.
zizmor --offline --no-progress .github/workflows action.yml examples/workflows/*.yml
echo "[test] pytest"
exec python -m pytest "$@"
