#!/usr/bin/env python3
"""Parses every manifest under deploy/k8s and checks the fields that matter.

There is no cluster or kubectl here, so this stands in for `kubectl apply --dry-run`
on what can go wrong between our own files:
- every YAML document parses and has apiVersion, kind, metadata.name; every file a
  kustomization names exists;
- the Deployment's container ports equal the ports in the ConfigMap's mscredd config
  (metrics.listen, health.listen), which must listen on all pod addresses;
- probes use the health port and the paths the HealthServer really serves (read from
  daemon/src/health_server.cc): startup and liveness on /healthz, readiness on /readyz;
- terminationGracePeriodSeconds > shutdown.drain_deadline_s of the ConfigMap's config;
- resource requests are set; the pod runs as the image's non-root uid (Dockerfile USER);
- --config points at the mounted ConfigMap key; Service, ServiceMonitor and PDB select
  the pod's labels and name existing ports;
- overlays/gpu requests nvidia.com/gpu and changes only worker.device in the config;
- optional/: KEDA scales the Deployment on the config's consumer group and topic; the
  PrometheusRule equals deploy/prometheus/mscred-rules.yml;
- when config.example.yaml exists, every key the ConfigMap's config uses exists there.

Usage: check_k8s.py REPO_ROOT            (check)
       check_k8s.py --write-prometheusrule REPO_ROOT/deploy   (regenerate)
"""

import glob
import os
import re
import sys

import yaml


FREE_FORM = {"entities.models"}


class Checker:
    def __init__(self):
        self.failures = []

    def expect(self, condition, message):
        if not condition:
            self.failures.append(message)
        return condition


def load_all(root):
    """{relative path: [documents]} for every YAML file under root."""
    docs = {}
    for path in sorted(glob.glob(os.path.join(root, "**", "*.yaml"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            docs[os.path.relpath(path, root)] = [d for d in yaml.safe_load_all(f) if d is not None]
    return docs


def find(docs, kind, folder):
    found = [d for p, ds in docs.items() if p.startswith(folder) for d in ds if d.get("kind") == kind]
    return found[0] if len(found) == 1 else None


def listen_port(config, section, check):
    listen = str((config.get(section) or {}).get("listen", ""))
    match = re.fullmatch(r"(\[[^\]]+\]|[^:]+):(\d+)", listen)
    if not check.expect(match, f"ConfigMap config {section}.listen '{listen}' is not host:port"):
        return None, None
    return match.group(1).strip("[]"), int(match.group(2))


def served_paths(repo):
    with open(os.path.join(repo, "daemon/src/health_server.cc"), encoding="utf-8") as f:
        source = f.read()
    paths = dict(re.findall(r'k(Healthz|Readyz)Path = "([^"]+)"', source))
    return paths.get("Healthz"), paths.get("Readyz")


def dockerfile_uid(repo):
    with open(os.path.join(repo, "deploy/docker/Dockerfile"), encoding="utf-8") as f:
        users = re.findall(r"^USER (\d+)", f.read(), flags=re.M)
    return int(users[-1]) if users else None


def key_paths(node, prefix=""):
    """Dotted key paths of a config; list items contribute their keys under `name[]`."""
    paths = set()
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            # Free-form maps are data, not schema: librdkafka settings are passed through,
            # entities.models maps entity names to model names.
            if path not in FREE_FORM and not path.endswith(".librdkafka"):
                paths |= key_paths(value, path)
    elif isinstance(node, list):
        for item in node:
            paths |= key_paths(item, prefix + "[]")
    return paths


def check_kustomizations(root, docs, check):
    for path, ds in docs.items():
        for doc in ds:
            if doc.get("kind") != "Kustomization":
                continue
            folder = os.path.dirname(os.path.join(root, path))
            names = list(doc.get("resources", [])) + [p["path"] for p in doc.get("patches", [])]
            for name in names:
                check.expect(os.path.exists(os.path.join(folder, name)),
                             f"{path}: names '{name}', which does not exist")


def container_of(deployment):
    return deployment["spec"]["template"]["spec"]["containers"][0]


def check_deployment(repo, deployment, config, check):
    pod = deployment["spec"]["template"]["spec"]
    container = container_of(deployment)
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}

    # Ports agree with the config, which must listen beyond loopback.
    for section in ("metrics", "health"):
        host, port = listen_port(config, section, check)
        if port is None:
            continue
        check.expect(ports.get(section) == port,
                     f"containerPort '{section}'={ports.get(section)} but config {section}.listen "
                     f"uses port {port}")
        check.expect(host in ("0.0.0.0", "::"),
                     f"config {section}.listen host {host} is unreachable from outside the pod")

    # Probes on the real paths and the health port.
    healthz, readyz = served_paths(repo)
    check.expect(healthz and readyz, "health_server.cc: kHealthzPath / kReadyzPath not found")
    want = {"startupProbe": healthz, "livenessProbe": healthz, "readinessProbe": readyz}
    for probe, path in want.items():
        spec = container.get(probe)
        if not check.expect(spec and "httpGet" in spec, f"container has no HTTP {probe}"):
            continue
        get = spec["httpGet"]
        check.expect(get.get("path") == path, f"{probe} path {get.get('path')} != served {path}")
        port = get.get("port")
        check.expect(port == "health" or port == ports.get("health"),
                     f"{probe} port {port} is not the health port")

    # Grace period against the drain deadline.
    drain = float((config.get("shutdown") or {}).get("drain_deadline_s", 20))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check.expect(grace > drain, f"terminationGracePeriodSeconds {grace} <= drain_deadline_s {drain}")
    print(f"grace period {grace}s > drain deadline {drain:g}s; probes {healthz}, {readyz} "
          f"on port {ports.get('health')}; metrics on {ports.get('metrics')}")

    requests = (container.get("resources") or {}).get("requests") or {}
    check.expect("cpu" in requests and "memory" in requests, "container lacks cpu/memory requests")

    security = pod.get("securityContext") or {}
    check.expect(security.get("runAsNonRoot") is True, "pod securityContext lacks runAsNonRoot")
    uid = dockerfile_uid(repo)
    check.expect(security.get("runAsUser") == uid,
                 f"runAsUser {security.get('runAsUser')} != Dockerfile USER {uid}")
    csec = container.get("securityContext") or {}
    check.expect(csec.get("readOnlyRootFilesystem") is True, "root filesystem is writable")
    check.expect(csec.get("allowPrivilegeEscalation") is False, "privilege escalation allowed")

    # --config names the mounted ConfigMap key.
    args = container.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args else None
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounted = False
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        if "configMap" in volume and config_path:
            mounted |= os.path.dirname(config_path) == mount["mountPath"].rstrip("/")
    check.expect(mounted, f"--config {config_path} is not inside the mounted ConfigMap")
    return ports


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def check_service_side(deployment, service, monitor, pdb, ports, check):
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    check.expect(selects(deployment["spec"]["selector"]["matchLabels"], pod_labels),
                 "Deployment selector does not match its pod template")
    check.expect(selects(service["spec"]["selector"], pod_labels),
                 "Service selector does not match the pods")
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    metrics = service_ports.get("metrics")
    if check.expect(metrics, "Service has no 'metrics' port"):
        check.expect(metrics.get("targetPort") in ("metrics", ports.get("metrics")),
                     "Service metrics targetPort is not the container's metrics port")
    check.expect(selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]),
                 "ServiceMonitor selector does not match the Service")
    for endpoint in monitor["spec"]["endpoints"]:
        check.expect(endpoint.get("port") in service_ports,
                     f"ServiceMonitor endpoint port {endpoint.get('port')} not on the Service")
        check.expect(endpoint.get("path", "/metrics") == "/metrics", "ServiceMonitor path")
    check.expect(selects(pdb["spec"]["selector"]["matchLabels"], pod_labels),
                 "PodDisruptionBudget does not select the pods")


def check_gpu_overlay(docs, base_config, check):
    patch = next((d for p, ds in docs.items() if p.startswith("overlays/gpu/") for d in ds
                  if d.get("kind") == "Deployment"), None)
    if check.expect(patch, "overlays/gpu has no Deployment patch"):
        limits = patch["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        check.expect(int(limits.get("nvidia.com/gpu", 0)) >= 1, "GPU overlay requests no GPU")
    cm = find(docs, "ConfigMap", "overlays/gpu/")
    if check.expect(cm, "overlays/gpu has no ConfigMap patch"):
        gpu_config = yaml.safe_load(cm["data"]["mscredd.yaml"])
        device = str((gpu_config.get("worker") or {}).get("device", ""))
        check.expect(device.startswith("cuda"), f"GPU config worker.device is '{device}', not cuda")
        gpu_config.setdefault("worker", {})["device"] = (base_config.get("worker") or {}).get("device")
        check.expect(gpu_config == base_config,
                     "overlays/gpu config differs from the base in more than worker.device")


def kafka_source(config):
    return next((s for s in config.get("sources", []) if s.get("type") == "kafka"), None)


def check_optional(repo, docs, deployment, config, check):
    keda = find(docs, "ScaledObject", "optional/")
    if keda:
        check.expect(keda["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"],
                     "KEDA ScaledObject does not target the Deployment")
        source = kafka_source(config) or {}
        for trigger in keda["spec"]["triggers"]:
            meta = trigger["metadata"]
            check.expect(meta.get("consumerGroup") == source.get("group_id"),
                         f"KEDA consumerGroup {meta.get('consumerGroup')} != config group_id")
            check.expect(meta.get("topic") in source.get("topics", []),
                         f"KEDA topic {meta.get('topic')} is not a source topic")
    rule = find(docs, "PrometheusRule", "optional/")
    if rule:
        with open(os.path.join(repo, "deploy/prometheus/mscred-rules.yml"), encoding="utf-8") as f:
            groups = yaml.safe_load(f)["groups"]
        check.expect(rule["spec"]["groups"] == groups,
                     "optional/prometheusrule.yaml differs from deploy/prometheus/mscred-rules.yml; "
                     "regenerate it with --write-prometheusrule")


def check_config_keys(repo, config, check):
    example_path = os.path.join(repo, "config.example.yaml")
    if not os.path.exists(example_path):
        print("note: config.example.yaml not present yet; ConfigMap keys not cross-checked")
        return
    with open(example_path, encoding="utf-8") as f:
        example = yaml.safe_load(f) or {}
    unknown = sorted(key_paths(config) - key_paths(example))
    check.expect(not unknown, f"ConfigMap config uses keys config.example.yaml lacks: {unknown}")


def write_prometheusrule(deploy):
    with open(os.path.join(deploy, "prometheus/mscred-rules.yml"), encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    path = os.path.join(deploy, "k8s/optional/prometheusrule.yaml")
    with open(path, encoding="utf-8") as f:
        header = "".join(l for l in f if l.startswith("#"))
        f.seek(0)
        doc = yaml.safe_load(f)
    doc["spec"]["groups"] = groups
    with open(path, "w", encoding="utf-8") as f:
        f.write(header + yaml.safe_dump(doc, sort_keys=False, width=100))
    print("wrote", path)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--write-prometheusrule":
        write_prometheusrule(sys.argv[2])
        return 0
    repo = sys.argv[1]
    root = os.path.join(repo, "deploy/k8s")
    check = Checker()

    docs = load_all(root)
    for path, ds in docs.items():
        for doc in ds:
            for field in ("apiVersion", "kind"):
                check.expect(field in doc, f"{path}: document without {field}")
            if doc.get("kind") != "Kustomization":
                check.expect((doc.get("metadata") or {}).get("name"), f"{path}: no metadata.name")
    check_kustomizations(root, docs, check)

    deployment = find(docs, "Deployment", "base/")
    configmap = find(docs, "ConfigMap", "base/")
    service = find(docs, "Service", "base/")
    monitor = find(docs, "ServiceMonitor", "base/")
    pdb = find(docs, "PodDisruptionBudget", "base/")
    for name, doc in [("Deployment", deployment), ("ConfigMap", configmap), ("Service", service),
                      ("ServiceMonitor", monitor), ("PodDisruptionBudget", pdb)]:
        check.expect(doc is not None, f"base/ must hold exactly one {name}")
    if check.failures:
        return report(check)

    config = yaml.safe_load(configmap["data"]["mscredd.yaml"])
    ports = check_deployment(repo, deployment, config, check)
    check_service_side(deployment, service, monitor, pdb, ports, check)
    check_gpu_overlay(docs, config, check)
    check_optional(repo, docs, deployment, config, check)
    check_config_keys(repo, config, check)
    print(f"parsed {sum(len(d) for d in docs.values())} documents in {len(docs)} files")
    return report(check)


def report(check):
    for failure in check.failures:
        print("FAIL:", failure)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
