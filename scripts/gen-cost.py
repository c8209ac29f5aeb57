#!/usr/bin/env python3
"""Writes the inputs whose cost once grew faster than their size (benches/README.md, "Cost").

    gen-cost.py list N OUT       a block-YAML `kind: List` of N Grafana Deployments
    gen-cost.py json-list N OUT  the same as one line of JSON
    gen-cost.py ring N OUT       N Loki Deployments in one namespace, each with its own
                                 selector: with authorization, every one calls every other
"""
import json
import sys


def deployment(i, component, port):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"{component}-{i}",
            "namespace": "monitoring",
            "labels": {"app.kubernetes.io/name": component},
        },
        "spec": {
            "selector": {"matchLabels": {"app": f"{component}-{i}"}},
            "template": {
                "metadata": {
                    "labels": {"app": f"{component}-{i}", "app.kubernetes.io/name": component}
                },
                "spec": {
                    "containers": [
                        {
                            "name": component,
                            "image": f"example/{component}:1",
                            "ports": [{"containerPort": port, "name": "http"}],
                        }
                    ]
                },
            },
        },
    }


def main():
    what, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(out, "w") as f:
        if what == "json-list":
            items = [deployment(i, "grafana", 3000) for i in range(n)]
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
        elif what == "list":
            f.write("apiVersion: v1\nkind: List\nitems:\n")
            for i in range(n):
                # JSON is YAML: one flow mapping per item.
                f.write(f"- {json.dumps(deployment(i, 'grafana', 3000))}\n")
        elif what == "ring":
            for i in range(n):
                f.write(f"---\n{json.dumps(deployment(i, 'loki', 3100))}\n")
        else:
            sys.exit(__doc__)


main()
