#!/usr/bin/env python3
"""Prints the checks that did not pass in a conformance scenario's output directory.

    failed_checks.py DIR

The suite writes `checks.json` under DIR for each run; its console output is kept out of CI's
log because its summary line reads like a test runner's, so tests/run.sh shows these lines
instead when a scenario fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    files = sorted(Path(sys.argv[1]).rglob("checks.json"))
    if not files:
        print(f"  no checks.json under {sys.argv[1]}")
    for path in files:
        for check in json.loads(path.read_text(encoding="utf-8")):
            if check.get("status") != "SUCCESS":
                detail = check.get("errorMessage") or check.get("description", "")
                print(f"  {check.get('status')} {check.get('id')}: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
