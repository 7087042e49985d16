"""What every bundle's cluster has: nodes, namespaces, the EKS add-ons' pods, the EKS view and
Cost Explorer results."""

from .bundle import INSTANCE_TYPES
from .clock import DAY, HOUR, MINUTE, SECOND, day, iso
from .k8s import container, http_probe, meta
from .model import Run
from .signals import MIB, Profile
from .workloads import Deployment, daemonset

ECR = "602401143452.dkr.ecr.{region}.amazonaws.com"
KUBELET = "v1.33.5-eks-3025e55"
OS_IMAGE = "Amazon Linux 2023.9.20251110"
KERNEL = "6.1.156-177.286.amzn2023.x86_64"
RELEASE = "1.33.5-20251110"


def _reserved_cpu_m(cores):
    """EKS AMI kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of the next two,
    0.25% of the rest."""
    shares = [60, 10, 5, 5] + [2.5] * max(0, cores - 4)
    return int(sum(shares[:cores]))


def node_object(b, n):
    cpu, gib, max_pods = INSTANCE_TYPES[n.instance_type]
    cap_ki = int(gib * 2**20 * 0.947)
    # kube-reserved memory (255Mi + 11Mi per pod) plus the 100Mi hard eviction threshold.
    alloc_ki = cap_ki - (255 + 11 * max_pods + 100) * 1024
    labels = {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": n.instance_type,
        "beta.kubernetes.io/os": "linux", "eks.amazonaws.com/capacityType": n.capacity_type,
        "eks.amazonaws.com/nodegroup": n.nodegroup,
        "eks.amazonaws.com/nodegroup-image": b.eks_ami,
        "eks.amazonaws.com/sourceLaunchTemplateId": b.launch_templates[n.nodegroup],
        "eks.amazonaws.com/sourceLaunchTemplateVersion": "1",
        "failure-domain.beta.kubernetes.io/region": b.region,
        "failure-domain.beta.kubernetes.io/zone": n.zone,
        "k8s.io/cloud-provider-aws": b.cloud_provider_id, "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": n.instance_type,
        "topology.k8s.aws/zone-id": n.zone_id, "topology.kubernetes.io/region": b.region,
        "topology.kubernetes.io/zone": n.zone,
        **n.labels,
    }
    md = meta(b, n.name, None, n.created, labels=labels, uid=n.uid, updated=b.end - 12 * SECOND,
              annotations={"alpha.kubernetes.io/provided-node-ip": n.ip,
                           "node.alpha.kubernetes.io/ttl": "0",
                           "volumes.kubernetes.io/controller-managed-attach-detach": "true"})
    capacity = {"cpu": str(cpu), "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0",
                "hugepages-2Mi": "0", "memory": f"{cap_ki}Ki", "pods": str(max_pods)}
    allocatable = dict(capacity, cpu=f"{cpu * 1000 - _reserved_cpu_m(cpu)}m",
                       **{"ephemeral-storage": "95551679124", "memory": f"{alloc_ki}Ki"})
    status = {
        "addresses": [{"address": n.ip, "type": "InternalIP"},
                      {"address": n.name, "type": "InternalDNS"},
                      {"address": n.name, "type": "Hostname"}],
        "allocatable": allocatable, "capacity": capacity,
        "conditions": _node_conditions(b, n),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"architecture": "amd64", "bootID": b.ids.uid(),
                     "containerRuntimeVersion": "containerd://1.7.27", "kernelVersion": KERNEL,
                     "kubeletVersion": KUBELET, "machineID": b.ids.hex(32),
                     "operatingSystem": "linux", "osImage": OS_IMAGE,
                     "systemUUID": "ec2" + b.ids.hex(5) + "-" + b.ids.uid()[9:]},
    }
    return {"apiVersion": "v1", "kind": "Node", "metadata": md,
            "spec": {"providerID": f"aws:///{n.zone}/{n.instance_id}"}, "status": status}


def _node_conditions(b, n):
    beat = iso(b.end - 17 * SECOND)
    since = iso(n.created + 25 * SECOND)
    base = [("MemoryPressure", "False", "KubeletHasSufficientMemory",
             "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status")]
    out = []
    for kind, status, reason, message in base:
        override = n.conditions.get(kind)
        when = since
        if override:
            status, reason, message, t = override
            when = iso(t)
        out.append({"lastHeartbeatTime": beat, "lastTransitionTime": when, "message": message,
                    "reason": reason, "status": status, "type": kind})
    return out


def add_nodes(b, nodes):
    for n in nodes:
        n.uid = b.ids.uid()
        n.instance_id = n.instance_id or b.ids.instance_id()
        b.nodes.append(n)
        b.add(node_object(b, n))
        b.events.record({"kind": "Node", "name": n.name, "uid": n.name, "apiVersion": "v1",
                         "namespace": "default"}, "NodeReady",
                        f"Node {n.name} status is now: NodeReady", [n.created + 25 * SECOND],
                        host=n.name)


def add_namespaces(b, names, created, app_namespaces):
    for name in sorted(set(names) | {"default", "kube-system", "kube-public", "kube-node-lease",
                                     "amazon-cloudwatch"}):
        when = created if name in ("default", "kube-system", "kube-public", "kube-node-lease") \
            else created + 2 * HOUR + 7 * DAY * (name in app_namespaces)
        md = meta(b, name, None, when, labels={"kubernetes.io/metadata.name": name})
        b.add({"apiVersion": "v1", "kind": "Namespace", "metadata": md,
               "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    b.app_namespaces = set(app_namespaces)


def setup_identity(b, version):
    """Identifiers shared by the node objects and the EKS view."""
    b.k8s_version = version
    b.eks_ami = "ami-0" + b.ids.hex(16)
    b.cloud_provider_id = b.ids.hex(32)
    b.launch_templates = {}


def _steady(cpu, mem, **kw):
    return Profile(cpu, mem, noise=0.1, **kw)


def _aws_node_lines(b, eni_cap, pod, run, rng, window, extra=None):
    """ipamd's periodic pool report, from the pods that hold an address on the node."""
    out, node = [], pod.node
    t = max(run.start, window[0])
    while t < window[1]:
        t += int(rng.expovariate(1 / (9 * MINUTE)))
        assigned = sum(1 for p in b.pods if p.node is node and p.ip and p.ip != node.ip
                       and p.exists_at(t))
        # WARM_ENI_TARGET=1 keeps one spare ENI (14 secondary addresses) on top of those in use.
        total = min(14 * (assigned // 14 + 2), eni_cap.get(node.name, 10**6))
        out.append((t, '{"level":"info","ts":"%s","caller":"ipamd/ipamd.go:641","msg":"IP pool '
                       'stats: Total IPs/Prefixes = %d/0, AssignedIPs/CooldownIPs: %d/0, '
                       'c.maxIPsPerENI = 14"}' % (iso(t).replace("Z", ".%03dZ" % (t % 1000)),
                                                  total, min(assigned, total))))
    return out + (extra(pod, run, rng, window) if extra else [])


def add_system_pods(b, created, aws_node_extra=None, coredns_nodes=None, eni_cap=None):
    """aws-node, kube-proxy, CoreDNS and the CloudWatch agent and Fluent Bit on every node.

    `eni_cap` caps a node's address pool (node name -> addresses) when its subnet is full;
    `aws_node_extra(pod, run, rng, window)` adds scenario lines to aws-node's log.
    """
    region = b.region
    ecr = ECR.format(region=region)

    def long_run(node):
        return [Run(max(created, node.created) + 35 * SECOND, ready_after=8 * SECOND)]

    aws_node_specs = [
        container("aws-node", f"{ecr}/amazon-k8s-cni:v1.20.4-eksbuild.1",
                  requests={"cpu": "25m"}, ports=[("metrics", 61678)],
                  env=[{"name": "AWS_VPC_K8S_CNI_LOGLEVEL", "value": "DEBUG"},
                       {"name": "WARM_ENI_TARGET", "value": "1"},
                       {"name": "ENABLE_PREFIX_DELEGATION", "value": "false"},
                       {"name": "AWS_VPC_K8S_CNI_LOG_FILE", "value": "stdout"},
                       {"name": "MY_NODE_NAME", "valueFrom": {"fieldRef": {
                           "apiVersion": "v1", "fieldPath": "spec.nodeName"}}}]),
        container("aws-eks-nodeagent", f"{ecr}/amazon/aws-network-policy-agent:v1.2.7-eksbuild.1",
                  requests={"cpu": "25m"},
                  args=["--enable-ipv6=false", "--enable-network-policy=false"]),
    ]
    daemonset(b, "kube-system", "aws-node", b.nodes, aws_node_specs, lambda node: {
        "aws-node": {"runs": long_run(node), "profile": _steady(0.004, 48 * MIB),
                     "logs": lambda pod, c, i, run, rng, window: _aws_node_lines(
                         b, eni_cap or {}, pod, run, rng, window, extra=aws_node_extra)},
        "aws-eks-nodeagent": {"runs": long_run(node), "profile": _steady(0.001, 26 * MIB)}},
        created=created, labels={"app.kubernetes.io/name": "aws-node", "k8s-app": "aws-node"},
        pod_spec={"hostNetwork": True, "priorityClassName": "system-node-critical",
                  "serviceAccountName": "aws-node"})
    kube_proxy = [container("kube-proxy", f"{ecr}/eks/kube-proxy:v1.33.3-minimal-eksbuild.6",
                            requests={"cpu": "100m"},
                            command=["kube-proxy", "--v=2", "--config=/var/lib/kube-proxy-config/config"])]
    daemonset(b, "kube-system", "kube-proxy", b.nodes, kube_proxy, lambda node: {
        "kube-proxy": {"runs": long_run(node), "profile": _steady(0.002, 22 * MIB)}},
        created=created, labels={"k8s-app": "kube-proxy"},
        pod_spec={"hostNetwork": True, "priorityClassName": "system-node-critical",
                  "serviceAccountName": "kube-proxy"})
    agent = [container("cloudwatch-agent",
                       "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300060.0b1248",
                       requests={"cpu": "250m", "memory": "128Mi"},
                       limits={"cpu": "500m", "memory": "512Mi"})]
    daemonset(b, "amazon-cloudwatch", "cloudwatch-agent", b.nodes, agent, lambda node: {
        "cloudwatch-agent": {"runs": long_run(node), "profile": _steady(0.03, 92 * MIB, cpu_limit=0.5)}},
        created=created + HOUR, labels={"app.kubernetes.io/name": "cloudwatch-agent"},
        pod_spec={"serviceAccountName": "cloudwatch-agent"})
    fluent = [container("fluent-bit", "public.ecr.aws/aws-observability/aws-for-fluent-bit:3.1.0",
                        requests={"cpu": "50m", "memory": "25Mi"}, limits={"memory": "250Mi"})]
    daemonset(b, "amazon-cloudwatch", "fluent-bit", b.nodes, fluent, lambda node: {
        "fluent-bit": {"runs": long_run(node), "profile": _steady(0.012, 38 * MIB)}},
        created=created + HOUR, labels={"k8s-app": "fluent-bit"},
        pod_spec={"serviceAccountName": "cloudwatch-agent"})
    _coredns(b, created, coredns_nodes or b.nodes[:2], ecr)


def _coredns(b, created, nodes, ecr):
    dep = Deployment(b, "kube-system", "coredns", replicas=2, created=created,
                     labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"},
                     max_surge="25%", max_unavailable="1")
    spec = container("coredns", f"{ecr}/eks/coredns:v1.12.3-eksbuild.1",
                     requests={"cpu": "100m", "memory": "70Mi"}, limits={"memory": "170Mi"},
                     args=["-conf", "/etc/coredns/Corefile"],
                     ports=[("dns", 53), ("metrics", 9153)],
                     probes={"livenessProbe": http_probe("/health", 8080, period=10, failure=5,
                                                         initial=60, timeout=5),
                             "readinessProbe": http_probe("/ready", 8181, period=10)},
                     mounts=[{"mountPath": "/etc/coredns", "name": "config-volume", "readOnly": True}])
    rev = dep.revision(1, created, [spec], pod_labels={"eks.amazonaws.com/component": "coredns",
                                                       "k8s-app": "kube-dns"},
                       pod_spec={"priorityClassName": "system-cluster-critical",
                                 "serviceAccountName": "coredns", "volumes": [
                                     {"configMap": {"defaultMode": 420, "items": [
                                         {"key": "Corefile", "path": "Corefile"}], "name": "coredns"},
                                      "name": "config-volume"}]})
    for node in nodes:
        start = max(created, node.created) + 50 * SECOND
        dep.pod(rev, node, start - 10 * SECOND, {"coredns": {
            "runs": [Run(start, ready_after=4 * SECOND)],
            "profile": Profile(0.006, 24 * MIB, noise=0.15),
            "logs": lambda pod, c, i, run, rng, window: _coredns_lines(run, rng)}},
            ip=b.pod_ip(node))
    dep.finish()


def _coredns_lines(run, rng):
    reload = f"[INFO] plugin/reload: Running configuration SHA512 = {rng.getrandbits(256):064x}"
    return [(run.start + 200, ".:53"), (run.start + 210, reload),
            (run.start + 220, "CoreDNS-1.12.3"), (run.start + 230, "linux/amd64, go1.24.6, 58aba77a")]


def eks_view(b, *, created, endpoint_public, logging_enabled, nodegroups, addons, subnets, vpc,
             extra=None):
    """DescribeCluster, DescribeNodegroup and DescribeAddon results, as eks/cluster.yaml."""
    arn = f"arn:aws:eks:{b.region}:{b.account}:cluster/{b.cluster}"
    endpoint_id = b.ids.hex(32).upper()
    all_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    # The live EKS source's projection of DescribeCluster (src/sources/eks.rs): endpoint access
    # at the top, `logging` as the enabled log types, `health` as the list of issues. The VPC
    # and network details it leaves out follow in the API's own shape.
    cluster = {
        "name": b.cluster, "arn": arn, "version": b.k8s_version, "platformVersion": "eks.12",
        "status": "ACTIVE", "endpoint": f"https://{endpoint_id}.gr7.{b.region}.eks.amazonaws.com",
        "createdAt": iso(created), "endpointPublicAccess": endpoint_public,
        "endpointPrivateAccess": True,
        "publicAccessCidrs": ["0.0.0.0/0"] if endpoint_public else [],
        "logging": [t for t in all_types if t in logging_enabled],
        "oidcIssuer": f"https://oidc.eks.{b.region}.amazonaws.com/id/{endpoint_id}",
        "health": [], "tags": {"env": "production", "team": "platform"},
        "roleArn": f"arn:aws:iam::{b.account}:role/{b.cluster}-cluster-role",
        "resourcesVpcConfig": {
            "subnetIds": [s["SubnetId"] for s in subnets],
            "securityGroupIds": ["sg-0" + b.ids.hex(16)],
            "clusterSecurityGroupId": "sg-0" + b.ids.hex(16), "vpcId": vpc},
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4",
                                    "elasticLoadBalancing": {"enabled": False}},
        "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"},
        "upgradePolicy": {"supportType": "STANDARD"},
    }
    b.eks = {"cluster": cluster, "nodegroups": [_nodegroup(b, ng) for ng in nodegroups],
             "addons": [_addon(b, *a) for a in addons],
             # EC2 DescribeSubnets for the cluster's subnets: free addresses matter to the VPC CNI.
             "subnets": [{"SubnetId": s["SubnetId"], "VpcId": vpc, "CidrBlock": s["CidrBlock"],
                          "AvailabilityZone": s["AvailabilityZone"],
                          "AvailableIpAddressCount": s["AvailableIpAddressCount"],
                          "Tags": [{"Key": "Name", "Value": f"{b.cluster}-private-{s['AvailabilityZone']}"}]}
                         for s in subnets],
             **(extra or {})}


def _nodegroup(b, ng):
    name = ng["name"]
    out = {
        "nodegroupName": name,
        "nodegroupArn": f"arn:aws:eks:{b.region}:{b.account}:nodegroup/{b.cluster}/{name}/{b.ids.uid()}",
        "clusterName": b.cluster, "version": b.k8s_version, "releaseVersion": RELEASE,
        "createdAt": iso(ng["created"]), "modifiedAt": iso(ng.get("modified", ng["created"])),
        "status": ng.get("status", "ACTIVE"), "capacityType": ng["capacity_type"],
        "scalingConfig": {"minSize": ng["min"], "maxSize": ng["max"], "desiredSize": ng["desired"]},
        "instanceTypes": ng["instance_types"], "subnets": ng["subnets"],
        "amiType": "AL2023_x86_64_STANDARD",
        "nodeRole": f"arn:aws:iam::{b.account}:role/{b.cluster}-node-role",
        "labels": ng.get("labels", {}),
        "taints": ng.get("taints"),
        "resources": {"autoScalingGroups": [{"name": ng.get("asg") or f"eks-{name}-{b.ids.uid()}"}]},
        "health": ng.get("issues", []),
        "updateConfig": {"maxUnavailable": 1},
        "launchTemplate": {"name": f"eks-{name}", "version": "1",
                           "id": b.launch_templates[name]},
        "tags": {"env": "production"},
    }
    return {k: v for k, v in out.items() if v is not None}


def _addon(b, name, version, created, configuration=None):
    out = {"addonName": name, "clusterName": b.cluster, "status": "ACTIVE",
           "addonVersion": version, "health": {"issues": []},
           "addonArn": f"arn:aws:eks:{b.region}:{b.account}:addon/{b.cluster}/{name}/{b.ids.uid()}",
           "createdAt": iso(created), "modifiedAt": iso(created + 3 * DAY)}
    if configuration:
        out["configurationValues"] = configuration
    return out


def standard_addons(b, created, cni_config=None):
    return [("vpc-cni", "v1.20.4-eksbuild.1", created, cni_config),
            ("kube-proxy", "v1.33.3-eksbuild.6", created),
            ("coredns", "v1.12.3-eksbuild.1", created),
            ("eks-pod-identity-agent", "v1.3.8-eksbuild.2", created + DAY),
            ("aws-ebs-csi-driver", "v1.48.0-eksbuild.2", created + DAY),
            ("amazon-cloudwatch-observability", "v4.5.0-eksbuild.1", created + 10 * DAY)]


def cost_report(b, daily, shape=None):
    """GetCostAndUsage, daily, grouped by SERVICE, for the 30 days up to the capture day.

    `daily` maps service to a typical day in USD; `shape(day_index, service)` scales it, so a
    scenario can add a step or a spike. Weekends run a little lighter; the capture day is partial.
    """
    rng = b.rng_for("cost")
    last_day = b.end - b.end % DAY
    results = []
    for i in range(30):
        start = last_day - (29 - i) * DAY
        weekday = (start // DAY + 3) % 7  # 1970-01-01 was a Thursday
        weekend = 0.93 if weekday >= 5 else 1.0
        partial = (b.end - start) / DAY if i == 29 else 1.0
        groups = []
        for service, usd in daily.items():
            factor = weekend * partial * (shape(i, service) if shape else 1.0)
            amount = usd * factor * (1 + rng.gauss(0, 0.03))
            groups.append({"Keys": [service], "Metrics": {"UnblendedCost": {
                "Amount": f"{max(amount, 0.0):.10f}".rstrip("0").rstrip("."), "Unit": "USD"}}})
        results.append({"TimePeriod": {"Start": day(start), "End": day(start + DAY)},
                        "Total": {}, "Groups": groups, "Estimated": i == 29})
    b.cost = {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}],
              "ResultsByTime": results, "DimensionValueAttributes": []}


def node_event(b, node, reason, message, times, type="Warning", component="kubelet"):
    b.events.record({"kind": "Node", "name": node.name, "uid": node.name, "apiVersion": "v1",
                     "namespace": "default"}, reason, message, times, type=type,
                    component=component, host=node.name)
