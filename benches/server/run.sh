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
exec python3 benches/server/bench.py "$@"
