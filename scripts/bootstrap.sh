#!/usr/bin/env bash
# Idempotent set-up on Debian: system packages, a virtualenv with hypertest and its tools (Node.js
# included, from PyPI), and the npm packages of the example and fixture suites. Safe to run again:
# each step is skipped when it is already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

say() { printf '[setup] %s\n' "$*" >&2; }

install_debian_packages() {
  local wanted=(python3 python3-venv python3-pip chromium ca-certificates procps docker.io docker-registry
                busybox-static debootstrap)
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_python_packages() {
  # The development tools come pinned, with their hashes, from requirements/dev.lock (scripts/lock.sh compiles it
  # from pyproject.toml); hypertest itself is then installed editable without dependencies. The stamp holds both
  # files' hashes, so a change to either installs again.
  local stamp="$VENV/.hypertest-stamp"
  local want
  want="$(cat "$ROOT/pyproject.toml" "$ROOT/requirements/dev.lock" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  say "installing hypertest and its development tools into $VENV (requirements/dev.lock)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes \
    --requirement "$ROOT/requirements/dev.lock" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$want" > "$stamp"
}

install_npm_packages() {
  # One `npm ci` per folder, all at once (they share npm's cache, which allows it): on a fresh machine they
  # wait on the registry more than on the CPU.
  local dir pids=() names=() failed=0 i
  for dir in "$ROOT/examples/demo" "$ROOT/tests/fixtures/suite" "$ROOT/benchmarks/suite" "$ROOT/benchmarks/runlevel_suite" "$ROOT/tests/fixtures/runlevel" "$ROOT/tests/fixtures/soak_suite"; do
    if [ -f "$dir/node_modules/.package-lock.json" ] && \
       [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
      continue
    fi
    say "installing npm packages in ${dir#"$ROOT"/}"
    (cd "$dir" && "$VENV/bin/npm" ci --no-audit --no-fund --loglevel=error >/dev/null) &
    pids+=("$!")
    names+=("${dir#"$ROOT"/}")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { say "npm ci failed in ${names[$i]}"; failed=1; }
  done
  return "$failed"
}

install_debian_packages
install_python_packages
install_npm_packages
