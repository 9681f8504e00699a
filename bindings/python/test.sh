#!/usr/bin/env bash
# Build the Python binding into a cached virtualenv and run its tests (pytest, incl. the shared
# conformance vectors) and the stub check (mypy stubtest). Idempotent; safe to run from any cwd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${TAGSMITH_CACHE:-$HOME/.cache/tagsmith}
venv=$cache/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp=$venv/.requirements-dev
if ! cmp -s "$here/requirements-dev.txt" "$stamp"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-dev.txt"
  cp "$here/requirements-dev.txt" "$stamp"
fi
export VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH
cd "$here"
# Debug build: tests run the same code as release, and build time is the scarce resource.
maturin develop --quiet
python -m pytest -q tests
python -m mypy.stubtest tagsmith --allowlist stubtest-allowlist.txt
