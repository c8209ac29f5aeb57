//! Secret data and ConfigMap values never reach reports, errors or `explain`: errors quote
//! at most the offending key.

use crate::common;

const SECRET_VALUES: [&str; 4] = ["c3VwZXJzZWNyZXQ", "hunter2", "s3cr3t-token", "env-passw0rd"];

const STREAM: &str = "apiVersion: v1
kind: Secret
metadata:
  name: grafana-admin
  namespace: monitoring
data:
  password: c3VwZXJzZWNyZXQ=
stringData:
  token: s3cr3t-token
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: grafana-ini
  namespace: monitoring
data:
  admin_password: hunter2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: monitoring
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: grafana}
  template:
    metadata:
      labels: {app.kubernetes.io/name: grafana}
    spec:
      containers:
      - name: grafana
        image: grafana/grafana:11.0.0
        env:
        - {name: GF_SECURITY_ADMIN_PASSWORD, value: env-passw0rd}
";

fn assert_clean(what: &str, text: &str) {
    for secret in SECRET_VALUES {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[test]
fn reports_explain_and_check_show_no_values() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  mtls: {mode: STRICT}\n  authorization: {}\n---\n";
    let input = format!("{config}{STREAM}");
    let (code, _, err) = common::gunj(&[], input.as_str());
    assert_eq!(code, 0, "{err}");
    assert_clean("the summary", &err);
    for args in [
        &["explain"][..],
        &["explain", "--output", "json"],
        &["check"],
        &["check", "--output", "json"],
        &["check", "--output", "sarif"],
        &["check", "--output", "github"],
    ] {
        let (_, out, err) = common::gunj(args, input.as_str());
        assert_clean(&format!("{args:?}"), &out);
        assert_clean(&format!("{args:?} stderr"), &err);
    }
}

#[test]
fn errors_name_the_key_not_the_value() {
    let cases = [
        // A duplicate key in a workload: the key is named, its values are not.
        STREAM.replace(
            "        env:\n",
            "        env:\n        - {name: A, value: hunter2}\n        env: []\n",
        ),
        // An unterminated quote inside a value.
        STREAM.replace("value: env-passw0rd}", "value: \"env-passw0rd}"),
        // A label value that is not a string, next to a secret.
        STREAM.replace(
            "labels: {app.kubernetes.io/name: grafana}\n    spec:",
            "labels: {app.kubernetes.io/name: grafana, version: 1.0}\n    spec:",
        ),
    ];
    for input in cases {
        let (code, out, err) = common::gunj(&[], input.as_str());
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert_clean("the error", &err);
    }
}
