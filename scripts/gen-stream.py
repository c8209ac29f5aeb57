#!/usr/bin/env python3
"""Writes a synthetic, deterministic observability manifest stream for benchmarks.

Usage: gen-stream.py --size-mb N [--seed S] [--crd-every K] [--no-blobs] OUT

For namespaces ns-0001, ns-0002, ... it emits a Helm 3 style stack (`# Source:` comments):
a Namespace, ServiceAccounts, Grafana dashboard ConfigMaps with large JSON blobs,
PrometheusRules with many rules, Services, Deployments (grafana, tempo), StatefulSets
(loki, prometheus), DaemonSets (promtail with hostNetwork: false, node-exporter with
hostNetwork: true) and, every K namespaces, a CustomResourceDefinition with a big
openAPIV3Schema. It stops after the document that crosses the requested size.
With --no-blobs the dashboards, rules and CRDs are left out, so that a ~10 KB stream
(the start-up benchmark) still reaches a few workloads.
Python 3 standard library only; the same arguments always give the same bytes.
"""

import argparse
import json
import random
import sys

PANEL_TYPES = ["timeseries", "stat", "gauge", "table", "heatmap", "logs", "bargauge"]
METRICS = [
    "http_requests_total", "http_request_duration_seconds_bucket", "process_cpu_seconds_total",
    "go_goroutines", "container_memory_working_set_bytes", "node_cpu_seconds_total",
    "loki_ingester_chunks_flushed_total", "tempo_distributor_spans_received_total",
    "prometheus_tsdb_head_series", "kube_pod_container_status_restarts_total",
]
SEVERITIES = ["info", "warning", "critical"]


def dashboard(rng, ns, idx):
    panels = []
    for p in range(rng.randint(10, 18)):
        metric = rng.choice(METRICS)
        panels.append({
            "id": p + 1,
            "type": rng.choice(PANEL_TYPES),
            "title": f"{metric.replace('_', ' ')} #{p}",
            "gridPos": {"h": 8, "w": 12, "x": (p % 2) * 12, "y": (p // 2) * 8},
            "datasource": {"type": "prometheus", "uid": "prom-" + ns},
            "fieldConfig": {
                "defaults": {
                    "unit": rng.choice(["short", "s", "bytes", "reqps", "percent"]),
                    "thresholds": {"mode": "absolute", "steps": [
                        {"color": "green", "value": None},
                        {"color": "red", "value": rng.randint(50, 100)},
                    ]},
                },
                "overrides": [],
            },
            "targets": [{
                "refId": chr(65 + t),
                "expr": f'sum by (pod) (rate({metric}{{namespace="{ns}",job=~"{ns}-.*"}}[5m]))',
                "legendFormat": "{{pod}}",
            } for t in range(rng.randint(1, 3))],
        })
    return {
        "uid": f"{ns}-dash-{idx}",
        "title": f"{ns} overview {idx}",
        "schemaVersion": 39,
        "tags": ["observability", ns],
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "pod", "type": "query", "query": "label_values(up, pod)"}]},
        "panels": panels,
    }


def indent(text, n):
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def labels(name, rel, chart, n=4):
    pad = " " * n
    return (f"{pad}app.kubernetes.io/name: {name}\n"
            f"{pad}app.kubernetes.io/instance: {rel}\n"
            f"{pad}app.kubernetes.io/managed-by: Helm\n"
            f"{pad}helm.sh/chart: {chart}\n")


def header(rel, path):
    return f"---\n# Source: {rel}/{path}\n"


def workload(kind, rel, ns, name, chart, image, port, rng, host_network=None, volume_claims=False):
    full = f"{rel}-{name}"
    out = header(rel, f"charts/{name}/templates/{kind.lower()}.yaml")
    out += f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {full}\n  namespace: {ns}\n  labels:\n"
    out += labels(name, rel, chart)
    out += "spec:\n"
    if kind != "DaemonSet":
        out += f"  replicas: {rng.randint(1, 3)}\n"
    if kind == "StatefulSet":
        out += f"  serviceName: {full}-headless\n  podManagementPolicy: Parallel\n"
    out += ("  selector:\n    matchLabels:\n"
            f"      app.kubernetes.io/name: {name}\n      app.kubernetes.io/instance: {rel}\n")
    out += ("  template:\n    metadata:\n      labels:\n"
            f"        app.kubernetes.io/name: {name}\n        app.kubernetes.io/instance: {rel}\n"
            "      annotations:\n"
            f"        checksum/config: {rng.getrandbits(128):032x}\n"
            f"        kubectl.kubernetes.io/default-container: {name}\n")
    out += f"    spec:\n      serviceAccountName: {full}\n"
    if host_network is not None:
        out += f"      hostNetwork: {'true' if host_network else 'false'}\n      hostPID: {'true' if host_network else 'false'}\n"
    out += ("      securityContext:\n        runAsNonRoot: true\n        runAsUser: 65534\n"
            "        fsGroup: 65534\n      containers:\n"
            f"        - name: {name}\n          image: \"{image}\"\n          imagePullPolicy: IfNotPresent\n"
            "          args:\n")
    for a in range(rng.randint(3, 8)):
        out += f"            - --flag-{a}={rng.choice(['true', 'false', '30s', '/etc/' + name])}\n"
    out += (f"          ports:\n            - name: http\n              containerPort: {port}\n              protocol: TCP\n"
            "          readinessProbe:\n            httpGet:\n              path: /ready\n              port: http\n"
            "            initialDelaySeconds: 10\n"
            "          resources:\n            requests:\n"
            f"              cpu: {rng.choice(['50m', '100m', '250m'])}\n              memory: {rng.choice(['64Mi', '256Mi', '1Gi'])}\n"
            "            limits:\n"
            f"              memory: {rng.choice(['128Mi', '512Mi', '2Gi'])}\n"
            "          volumeMounts:\n            - name: config\n              mountPath: /etc/config\n"
            "            - name: storage\n              mountPath: /data\n"
            "      volumes:\n        - name: config\n          configMap:\n"
            f"            name: {full}\n")
    if volume_claims:
        out += ("  volumeClaimTemplates:\n    - metadata:\n        name: storage\n      spec:\n"
                "        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n"
                f"            storage: {rng.choice(['10Gi', '50Gi'])}\n")
    else:
        out += "        - name: storage\n          emptyDir: {}\n"
    return out


def service(rel, ns, name, chart, port):
    full = f"{rel}-{name}"
    return (header(rel, f"charts/{name}/templates/service.yaml")
            + f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {full}\n  namespace: {ns}\n  labels:\n"
            + labels(name, rel, chart)
            + f"spec:\n  type: ClusterIP\n  ports:\n    - name: http\n      port: {port}\n      targetPort: http\n"
            + f"  selector:\n    app.kubernetes.io/name: {name}\n    app.kubernetes.io/instance: {rel}\n")


def service_account(rel, ns, name, chart):
    return (header(rel, f"charts/{name}/templates/serviceaccount.yaml")
            + f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {rel}-{name}\n  namespace: {ns}\n  labels:\n"
            + labels(name, rel, chart) + "automountServiceAccountToken: true\n")


def prometheus_rule(rng, rel, ns, idx):
    out = (header(rel, "charts/kube-prometheus-stack/templates/prometheus/rules.yaml")
           + f"apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n"
           + f"  name: {rel}-rules-{idx}\n  namespace: {ns}\n  labels:\n"
           + labels("kube-prometheus-stack", rel, "kube-prometheus-stack-65.1.0")
           + "spec:\n  groups:\n")
    for g in range(rng.randint(3, 6)):
        out += f"    - name: {ns}.group-{idx}-{g}\n      interval: 30s\n      rules:\n"
        for r in range(rng.randint(8, 16)):
            metric = rng.choice(METRICS)
            sev = rng.choice(SEVERITIES)
            out += (f"        - alert: {metric.title().replace('_', '')}High{r}\n"
                    "          expr: |-\n"
                    f"            sum by (namespace, pod) (rate({metric}{{namespace=\"{ns}\"}}[5m]))\n"
                    f"              > {rng.randint(1, 1000)}\n"
                    f"          for: {rng.choice(['1m', '5m', '15m'])}\n"
                    f"          labels:\n            severity: {sev}\n"
                    "          annotations:\n"
                    f"            summary: \"{metric} is high in {{{{ $labels.pod }}}}\"\n"
                    f"            description: \"{metric} above threshold for {ns}; value {{{{ $value | humanize }}}}.\"\n"
                    f"            runbook_url: https://runbooks.example.org/{metric}\n")
    return out


def schema_props(rng, depth):
    props = {}
    for i in range(rng.randint(6, 12)):
        name = f"field{i}{rng.choice(['Name', 'Count', 'Spec', 'Ref', 'Policy'])}"
        if depth > 0 and rng.random() < 0.4:
            props[name] = {"type": "object", "description": f"Nested settings for {name}.",
                           "properties": schema_props(rng, depth - 1)}
        elif rng.random() < 0.2:
            props[name] = {"type": "array", "description": f"List of {name}.",
                           "items": {"type": "string"}}
        else:
            props[name] = {"type": rng.choice(["string", "integer", "boolean"]),
                           "description": f"{name} controls part of the component behaviour."}
    return props


def yaml_of(value, n):
    """Minimal block-style YAML for dicts/lists/scalars used in the CRD schema."""
    pad = " " * n
    out = ""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out += f"{pad}{k}:\n" + yaml_of(v, n + 2)
            else:
                out += f"{pad}{k}: {json.dumps(v) if isinstance(v, str) else json.dumps(v)}\n"
    else:
        for v in value:
            out += f"{pad}- {json.dumps(v)}\n"
    return out


def crd(rng, rel, k):
    group = "observability.example.org"
    plural = f"collectors{k}"
    schema = {"openAPIV3Schema": {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": schema_props(rng, 4)},
        "status": {"type": "object", "properties": schema_props(rng, 2)},
    }}}
    return (header(rel, "charts/crds/templates/crd.yaml")
            + "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
            + f"  name: {plural}.{group}\n  annotations:\n    controller-gen.kubebuilder.io/version: v0.16.1\n"
            + f"spec:\n  group: {group}\n  names:\n    kind: Collector{k}\n    listKind: Collector{k}List\n"
            + f"    plural: {plural}\n    singular: collector{k}\n  scope: Namespaced\n  versions:\n"
            + "    - name: v1\n      served: true\n      storage: true\n      schema:\n"
            + yaml_of(schema, 8))


def stack(rng, n, crd_every, blobs=True):
    ns = f"ns-{n:04d}"
    rel = "obs"
    parts = [header(rel, "templates/namespace.yaml")
             + f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    team: team-{n % 17}\n"]
    if blobs and crd_every and n % crd_every == 1:
        parts.append(crd(rng, rel, n))
    comps = [
        ("Deployment", "grafana", "grafana-8.5.0", "docker.io/grafana/grafana:11.2.0", 3000, None, False),
        ("StatefulSet", "loki", "loki-6.16.0", "docker.io/grafana/loki:3.2.0", 3100, None, True),
        ("StatefulSet", "prometheus", "prometheus-25.27.0", "quay.io/prometheus/prometheus:v2.54.1", 9090, None, True),
        ("Deployment", "tempo", "tempo-1.10.3", "docker.io/grafana/tempo:2.6.0", 3200, None, False),
        ("DaemonSet", "promtail", "promtail-6.16.6", "docker.io/grafana/promtail:3.2.0", 3101, False, False),
        ("DaemonSet", "node-exporter", "prometheus-node-exporter-4.39.0",
         "quay.io/prometheus/node-exporter:v1.8.2", 9100, True, False),
    ]
    for kind, name, chart, image, port, hn, vct in comps:
        parts.append(service_account(rel, ns, name, chart))
        parts.append(service(rel, ns, name, chart, port))
    for d in range(rng.randint(1, 3) if blobs else 0):
        blob = json.dumps(dashboard(rng, ns, d), indent=2)
        parts.append(header(rel, "charts/grafana/templates/dashboards-json-configmap.yaml")
                     + f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {rel}-dashboard-{d}\n"
                     + f"  namespace: {ns}\n  labels:\n    grafana_dashboard: \"1\"\n"
                     + f"data:\n  dashboard-{d}.json: |-\n" + indent(blob, 4) + "\n")
    for r in range(rng.randint(1, 3) if blobs else 0):
        parts.append(prometheus_rule(rng, rel, ns, r))
    for kind, name, chart, image, port, hn, vct in comps:
        parts.append(workload(kind, rel, ns, name, chart, image, port, rng, hn, vct))
    return parts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--crd-every", type=int, default=10)
    ap.add_argument("--no-blobs", action="store_true",
                    help="no dashboards, rules or CRDs (for tiny start-up streams)")
    ap.add_argument("out")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    target = int(a.size_mb * 1024 * 1024)
    written = 0
    n = 0
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        while written < target:
            n += 1
            for doc in stack(rng, n, a.crd_every, not a.no_blobs):
                if written >= target:
                    break
                f.write(doc)
                written += len(doc.encode("utf-8"))
    print(f"{a.out}: {written} bytes, {n} namespaces", file=sys.stderr)


if __name__ == "__main__":
    main()
