#!/usr/bin/env python3
"""Writes the bundled incident snapshots next to this file (format: README.md).

    python3 examples/snapshots/generate.py            # all bundles
    python3 examples/snapshots/generate.py --check    # regenerate, then validate every file
    python3 examples/snapshots/generate.py checkout-oom

Standard library only; every random draw is seeded, so a re-run rewrites identical bytes.
"""

import argparse
import json
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


# Approximate Linux on-demand list prices (USD per hour) in us-east-1, and regional factors,
# for the instance types the bundles run; a demo of cost allocation, not a price list.
US_EAST_1_HOURLY = {"m6i.large": 0.096, "m6i.xlarge": 0.192, "m6i.2xlarge": 0.384,
                    "c6i.xlarge": 0.17, "m6a.xlarge": 0.1728}
REGION_FACTOR = {"us-east-1": 1.0, "us-west-2": 1.0, "eu-west-1": 1.115, "eu-central-1": 1.2}
# Spot prices as a share of on-demand (a typical 60-70 % discount).
SPOT_SHARE = 0.36


def write_node_prices(bundle, out):
    """cost/node_prices.json: hourly price per instance type of the bundle's nodes, on-demand
    and Spot, in the bundle's region (format: README.md, Cost files)."""
    factor = REGION_FACTOR.get(bundle.region, 1.0)
    types = sorted({n.instance_type for n in bundle.nodes})
    on_demand = {t: round(US_EAST_1_HOURLY[t] * factor, 4) for t in types}
    spot = {t: round(on_demand[t] * SPOT_SHARE, 4) for t in sorted(
        {n.instance_type for n in bundle.nodes if n.capacity_type == "SPOT"})}
    doc = {"region": bundle.region, "currency": "USD", "eks_control_plane_hourly": 0.10,
           "on_demand": on_demand, "spot": spot}
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    path = out / "cost" / "node_prices.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return {"cost/node_prices.json": text}


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
        files.update(write_node_prices(bundle, out))
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
