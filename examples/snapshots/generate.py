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


def _alarm_states(timestamps, values, breach, periods):
    """(timestamp, state) transitions of an alarm over a series: ALARM once `periods` datapoints
    in a row breach, OK once the latest does not; missing data keeps the state."""
    state, run, out = "OK", 0, []
    for t, v in zip(timestamps, values):
        if v is None:
            continue
        run = run + 1 if breach(v) else 0
        new = "ALARM" if run >= periods else ("OK" if run == 0 else state)
        if new != state:
            out.append((t, state, new, v))
            state = new
    return state, out


def _iso(ms):
    from datetime import datetime, timezone
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def write_alarms(bundle, out):
    """alarms/alarms.json: CloudWatch alarms on the bundle's own CloudWatch series (restarts per
    workload, target 5XX per load balancer, failed nodes) plus a composite, in DescribeAlarms and
    DescribeAlarmHistory shapes; states and history are evaluated from the series (format:
    README.md, Alarm files)."""
    series = [json.loads(line) for line in
              (out / "metrics" / "cloudwatch.jsonl").read_text().splitlines() if line.strip()]
    region = bundle.region
    account = bundle.account
    rules = {  # metric name -> (statistic, comparison, threshold, periods, description)
        "pod_number_of_container_restarts": ("Maximum", "GreaterThanThreshold", 0.0, 1,
                                             "containers of {PodName} restarted"),
        "HTTPCode_Target_5XX_Count": ("Sum", "GreaterThanThreshold", 50.0, 3,
                                      "load balancer targets answer 5XX"),
        "cluster_failed_node_count": ("Maximum", "GreaterThanThreshold", 0.0, 2,
                                      "nodes with failing conditions"),
    }
    alarms, history = [], []
    for s in series:
        rule = rules.get(s["name"])
        if rule is None:
            continue
        stat, op, threshold, periods, text = rule
        values = s["values"]
        if s["name"] == "pod_number_of_container_restarts" and not any(v for v in values if v):
            continue
        labels = s["labels"]
        dims = [{"Name": k.removeprefix("Dimension."), "Value": v}
                for k, v in sorted(labels.items()) if k != "Namespace"]
        subject = labels.get("PodName") or labels.get("LoadBalancer", "").split("/")[1:2] or [""]
        subject = subject if isinstance(subject, str) else subject[0]
        name = "-".join(p for p in [labels.get("ClusterName", ""), labels.get("Dimension.Namespace", ""),
                                    subject, s["name"].lower()] if p)
        state, changes = _alarm_states(s["timestamps"], values, lambda v: v > threshold, periods)
        updated = changes[-1][0] if changes else s["timestamps"][0]
        last = changes[-1] if changes else None
        reason = (f"Threshold Crossed: {periods} datapoint(s) [{last[3]}] "
                  f"{'was' if last[2] == 'ALARM' else 'was not'} greater than the threshold "
                  f"({threshold})." if last else "Threshold not crossed")
        alarms.append({
            "AlarmName": name,
            "AlarmArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
            "AlarmDescription": text.format(**{"PodName": subject}),
            "StateValue": state, "StateReason": reason, "StateUpdatedTimestamp": _iso(updated),
            "Namespace": labels["Namespace"], "MetricName": s["name"], "Dimensions": dims,
            "Statistic": stat, "Period": 60, "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods, "Threshold": threshold, "ComparisonOperator": op,
            "TreatMissingData": "missing", "ActionsEnabled": True,
            "AlarmActions": [f"arn:aws:sns:{region}:{account}:oncall"],
        })
        for t, old, new, _ in changes:
            history.append({"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": _iso(t),
                            "HistoryItemType": "StateUpdate",
                            "HistorySummary": f"Alarm updated from {old} to {new}"})
    firing = [a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM"]
    composites = []
    if len(firing) >= 2:
        name = f"{bundle.cluster}-service-degraded"
        composites.append({
            "AlarmName": name,
            "AlarmArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
            "AlarmDescription": "more than one symptom alarm fires at once",
            "AlarmRule": " AND ".join(f'ALARM("{n}")' for n in firing[:2]),
            "StateValue": "ALARM", "StateReason": "rule evaluated to ALARM",
            "StateUpdatedTimestamp": max(a["StateUpdatedTimestamp"] for a in alarms
                                         if a["AlarmName"] in firing[:2]),
            "ActionsEnabled": True,
        })
        history.append({"AlarmName": name, "AlarmType": "CompositeAlarm",
                        "Timestamp": composites[0]["StateUpdatedTimestamp"],
                        "HistoryItemType": "StateUpdate",
                        "HistorySummary": "Alarm updated from OK to ALARM"})
    history.sort(key=lambda h: (h["Timestamp"], h["AlarmName"]))
    doc = {"MetricAlarms": alarms, "CompositeAlarms": composites, "AlarmHistoryItems": history}
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    path = out / "alarms" / "alarms.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return {"alarms/alarms.json": text}


# Versions EKS offers per add-on, with the Kubernetes versions each runs on and the default
# there (DescribeAddonVersions' shape); a plausible catalog for the demo, not AWS's list.
ADDON_CATALOG = {
    "vpc-cni": ("networking", [("v1.19.6-eksbuild.7", ["1.32", "1.33", "1.34"], []),
                               ("v1.20.4-eksbuild.1", ["1.32", "1.33", "1.34"], ["1.32", "1.33"]),
                               ("v1.20.5-eksbuild.1", ["1.33", "1.34"], ["1.34"])]),
    "kube-proxy": ("networking", [("v1.33.3-eksbuild.6", ["1.33"], ["1.33"]),
                                  ("v1.33.5-eksbuild.2", ["1.33"], []),
                                  ("v1.34.1-eksbuild.2", ["1.34"], ["1.34"])]),
    "coredns": ("networking", [("v1.12.3-eksbuild.1", ["1.33"], ["1.33"]),
                               ("v1.12.4-eksbuild.1", ["1.33", "1.34"], ["1.34"])]),
    "eks-pod-identity-agent": ("security", [("v1.3.8-eksbuild.2", ["1.32", "1.33", "1.34"],
                                             ["1.32", "1.33", "1.34"])]),
    "aws-ebs-csi-driver": ("storage", [("v1.48.0-eksbuild.2", ["1.32", "1.33", "1.34"], ["1.33"]),
                                       ("v1.50.1-eksbuild.1", ["1.33", "1.34"], ["1.34"])]),
    "amazon-cloudwatch-observability": ("observability", [
        ("v4.5.0-eksbuild.1", ["1.32", "1.33", "1.34"], ["1.33"]),
        ("v4.6.0-eksbuild.1", ["1.33", "1.34"], ["1.34"])]),
}


def _stable_id(*parts):
    import hashlib
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _addon_versions(installed):
    infos = []
    for name in sorted({a["addonName"] for a in installed}):
        kind, versions = ADDON_CATALOG[name]
        infos.append({"addonName": name, "type": kind, "owner": "aws", "publisher": "eks",
                      "addonVersions": [{"addonVersion": v, "compatibilities": [
                          {"clusterVersion": k, "defaultVersion": k in defaults,
                           "platformVersions": ["*"]} for k in ks]}
                          for v, ks, defaults in versions]})
    return infos


def _insight(bundle, name, status, reason, next_version, description, recommendation, resources):
    from generator.clock import iso
    return {"id": _stable_id(bundle.cluster, name), "name": name, "category": "UPGRADE_READINESS",
            "kubernetesVersion": next_version, "lastRefreshTime": iso(bundle.end - 3_600_000),
            "lastTransitionTime": iso(bundle.end - 6 * 86_400_000), "description": description,
            "insightStatus": {"status": status, "reason": reason},
            "recommendation": recommendation,
            "additionalInfo": {"EKS update cluster documentation":
                               "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html"},
            "resources": resources, "categorySpecificSummary": {}}


def _insights(bundle):
    cluster, nodegroups, installed = bundle.eks["cluster"], bundle.eks["nodegroups"], \
        bundle.eks["addons"]
    major, minor = cluster["version"].split(".")
    nxt = f"{major}.{int(minor) + 1}"
    arn = cluster["arn"].replace(":cluster/", ":nodegroup/")
    skewed = [n for n in nodegroups if n["version"] != cluster["version"]]
    stuck = [a for a in installed if not any(
        nxt in ks for v, ks, _ in ADDON_CATALOG[a["addonName"]][1] if v == a["addonVersion"])]
    return [
        _insight(bundle, f"Deprecated APIs removed in Kubernetes v{nxt}", "PASSING",
                 "No deprecated API usage detected within the last 30 days.", nxt,
                 f"Checks for usage of deprecated APIs that are scheduled for removal in Kubernetes v{nxt}.",
                 "No action required.", []),
        _insight(bundle, "Kubelet version skew", "WARNING" if skewed else "PASSING",
                 f"{len(skewed)} node groups run a kubelet older than the control plane."
                 if skewed else "Node kubelet versions match the control plane.", nxt,
                 "Checks the kubelet version of worker nodes against the control plane version.",
                 "Upgrade the node groups to the control plane version before upgrading the cluster.",
                 [{"arn": f"{arn}/{n['nodegroupName']}", "insightStatus": {
                     "status": "WARNING", "reason": f"kubelet {n['version']}"}} for n in skewed]),
        _insight(bundle, "Amazon EKS add-on version compatibility", "WARNING" if stuck else "PASSING",
                 f"{len(stuck)} add-ons are not compatible with Kubernetes v{nxt}." if stuck
                 else f"All add-ons have versions compatible with Kubernetes v{nxt}.", nxt,
                 "Checks installed EKS add-on versions against the next Kubernetes version.",
                 f"Update these add-ons to a version compatible with Kubernetes v{nxt} as part of the upgrade.",
                 [{"arn": a["addonArn"], "insightStatus": {
                     "status": "WARNING", "reason": f"{a['addonName']} {a['addonVersion']}"}}
                  for a in stuck]),
        _insight(bundle, "Cluster health issues", "PASSING" if not cluster.get("health") else "ERROR",
                 "No cluster health issues." if not cluster.get("health") else "The cluster reports health issues.",
                 nxt, "Checks the cluster for health issues that block an upgrade.",
                 "No action required." if not cluster.get("health") else "Resolve the health issues first.",
                 []),
    ]


def write_eks_health(bundle, out):
    """eks/addons.yaml (DescribeAddonVersions for the installed add-ons) and eks/insights.yaml
    (DescribeInsight objects) (format: README.md, EKS add-ons and insights)."""
    from generator import yamlout
    files = {"eks/addons.yaml": yamlout.dump({"addonVersions": _addon_versions(bundle.eks["addons"])}),
             "eks/insights.yaml": yamlout.dump({"insights": _insights(bundle)})}
    for rel, text in files.items():
        (out / rel).write_text(text)
    return files


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
        files.update(write_alarms(bundle, out))
        files.update(write_node_prices(bundle, out))
        files.update(write_eks_health(bundle, out))
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
