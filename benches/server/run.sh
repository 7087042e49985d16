#!/usr/bin/env bash
# Server benchmarks (issue 2 §7): builds the release binary, then runs the Python harness, which
# installs the pinned peers if needed, measures, prints markdown and writes target/bench/server.md.
# Arguments go to bench.py (see `bash benches/server/run.sh --help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ " $* " != *" --help "* && " $* " != *" --binary "* ]]; then
  # Up to date: a no-op. Another build of this target dir running: cargo waits on its lock.
  cargo build --release -p eks-ops-mcp
fi
# bench.py builds the Rust HTTP load generator (cargo bench --bench http_load --no-run) itself.
# The Python client (--client python) shares the cores with the server, so it runs on uvloop
# (pinned) from a venv of its own; without a registry it falls back to the default asyncio loop,
# and the report says which loop was used.
PYTHON=python3
HARNESS_VENV=.ci/work/harness-venv
if [[ " $* " != *" --help "* ]]; then
  if [[ ! -x $HARNESS_VENV/bin/python ]] || ! "$HARNESS_VENV/bin/python" -c 'import uvloop' 2>/dev/null; then
    python3 -m venv "$HARNESS_VENV" && "$HARNESS_VENV/bin/python" -m pip install --quiet 'uvloop==0.23.0' \
      || echo "bench: uvloop not installed; the HTTP client uses the default asyncio loop" >&2
  fi
  if [[ -x $HARNESS_VENV/bin/python ]]; then
    PYTHON=$HARNESS_VENV/bin/python
  fi
fi
exec "$PYTHON" benches/server/bench.py "$@"
