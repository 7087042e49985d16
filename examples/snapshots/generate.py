#!/usr/bin/env python3
"""Writes the bundled incident snapshots next to this file (format: README.md).

    python3 examples/snapshots/generate.py            # all bundles
    python3 examples/snapshots/generate.py --check    # regenerate, then validate every file
    python3 examples/snapshots/generate.py checkout-oom

Standard library only; every random draw is seeded, so a re-run rewrites identical bytes.
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# The server embeds this directory (include_dir!), so leave no __pycache__ behind in it.
sys.dont_write_bytecode = True

from generator.scenarios import (  # noqa: E402
    checkout_oom, cni_ip_exhaustion, missing_configmap_key, noisy_neighbour)

SCENARIOS = {"checkout-oom": checkout_oom.build, "cni-ip-exhaustion": cni_ip_exhaustion.build,
             "noisy-neighbour": noisy_neighbour.build,
             "missing-configmap-key": missing_configmap_key.build}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="*", help="bundle names (default: all)")
    parser.add_argument("--check", action="store_true", help="validate the written bundles")
    args = parser.parse_args()
    names = args.bundles or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown bundle(s) {unknown}; known: {sorted(SCENARIOS)}")
    failures = 0
    for name in names:
        bundle = SCENARIOS[name]()
        out, files = bundle.write(HERE)
        size = sum(len(text.encode()) for text in files.values())
        print(f"{name}: {len(files)} files, {size / 1e6:.2f} MB -> {out.relative_to(HERE.parent.parent)}")
        if args.check:
            from generator import check
            problems = check.bundle(out)
            for problem in problems:
                print(f"  FAIL {problem}")
            failures += len(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
