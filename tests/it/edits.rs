//! Edits that must not corrupt a document or change what it means to Kubernetes (issue 20):
//! how the filter reads booleans, opt-outs, merge keys, anchors, line endings and
//! directives, and how it splices into flow collections.

use crate::common;
use crate::common::fixtures::GRAFANA;

fn gunj(args: &[&str], stdin: &str) -> (i32, String, String) {
    common::gunj(args, stdin)
}

/// `hostNetwork: yes` and `!!bool true` are true to kubectl (YAML 1.1, goyaml.v2): neither
/// mesh injects such pods, so the filter leaves them alone.
#[test]
fn host_network_is_read_as_kubernetes_reads_it() {
    for spelling in ["yes", "On", "!!bool true", "!!bool \"y\"", "TRUE"] {
        let doc = GRAFANA.replace(
            "    spec:\n      containers:",
            &format!("    spec:\n      hostNetwork: {spelling}\n      containers:"),
        );
        let (code, out, err) = gunj(&["--mesh", "istio"], &doc);
        assert_eq!(code, 0, "{spelling}: {err}");
        assert_eq!(out, doc, "{spelling}: the pod runs on the host network");
        assert!(err.contains("skipped: hostNetwork"), "{spelling}: {err}");
    }
    // Strings are not booleans: a quoted "true" is not a host network (the API server
    // would reject it), and `hostNetwork: no` is false.
    for spelling in ["\"true\"", "no", "!!str yes"] {
        let doc = GRAFANA.replace(
            "    spec:\n      containers:",
            &format!("    spec:\n      hostNetwork: {spelling}\n      containers:"),
        );
        let (code, _, err) = gunj(&["--mesh", "istio"], &doc);
        assert_eq!(code, 0, "{spelling}: {err}");
        assert!(err.contains("injected"), "{spelling}: {err}");
    }
}
