//! Edits that must not corrupt a document or change what it means to Kubernetes (issue 20):
//! how the filter reads booleans, opt-outs, merge keys and anchors, how it splices into flow
//! collections, and the edit path's property over generated pod templates.

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

/// Istio's injector reads the pod label `sidecar.istio.io/inject`, else the annotation, and
/// injects only on `y`, `yes`, `true` or `on` in any case (`injectRequired`): every other
/// value is an opt-out, which the filter keeps.
#[test]
fn istio_opt_outs_are_read_as_istio_reads_them() {
    let labelled = |key_place: &str, value: &str| {
        let line = format!("        sidecar.istio.io/inject: \"{value}\"\n");
        match key_place {
            "label" => GRAFANA.replace(
                "        app.kubernetes.io/name: grafana\n",
                &format!("        app.kubernetes.io/name: grafana\n{line}"),
            ),
            _ => GRAFANA.replace(
                "    spec:\n      containers:",
                &format!("      annotations:\n{line}    spec:\n      containers:"),
            ),
        }
    };
    for value in ["False", "no", "off", "0", "disabled", "n", "FALSE"] {
        for place in ["label", "annotation"] {
            let doc = labelled(place, value);
            let (code, out, err) = gunj(&["--mesh", "istio"], &doc);
            assert_eq!(code, 0, "{err}");
            assert_eq!(out, doc, "{place} {value:?} opts out");
            assert!(
                err.contains(&format!(
                    "skipped: opted out ({place} sidecar.istio.io/inject={value})"
                )),
                "{place} {value:?}: {err}"
            );
        }
    }
    // An annotation that Istio reads as "inject" is left as it is; the label it adds is
    // `"true"`, which the webhook's objectSelector matches.
    let doc = labelled("annotation", "Yes");
    let (code, out, err) = gunj(&["--mesh", "istio"], &doc);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("injected"), "{err}");
    assert!(out.contains("sidecar.istio.io/inject: \"Yes\""), "{out}");
    assert!(out.contains("sidecar.istio.io/inject: \"true\""), "{out}");
}

/// Linkerd's injector reads `linkerd.io/inject` exactly: `disabled` opts out and any value
/// other than `enabled` or `ingress` is invalid, so not injected either; `ingress` is
/// injected already and stays as it is.
#[test]
fn linkerd_opt_outs_are_read_as_linkerd_reads_them() {
    let annotated = |value: &str| {
        GRAFANA.replace(
            "    spec:\n      containers:",
            &format!(
                "      annotations:\n        linkerd.io/inject: {value}\n    spec:\n      containers:"
            ),
        )
    };
    for value in ["disabled", "\"false\"", "Enabled", "off"] {
        let doc = annotated(value);
        let (code, out, err) = gunj(&["--mesh", "linkerd"], &doc);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, doc, "{value:?} is not injected by Linkerd");
        assert!(
            err.contains("skipped: opted out (annotation linkerd.io/inject="),
            "{value}: {err}"
        );
    }
    let doc = annotated("ingress");
    let (code, out, err) = gunj(&["--mesh", "linkerd"], &doc);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("linkerd.io/inject: ingress\n"), "{out}");
    assert!(!out.contains("enabled"), "{out}");
}

/// A Namespace in `spec.namespaces` that opts out keeps its setting: Linkerd reads the
/// annotation, Istio injects only `istio-injection: enabled`.
#[test]
fn namespace_opt_outs_are_kept() {
    let config = |mesh: &str| {
        format!(
            "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: {mesh}\n  namespaces: [monitoring]\n---\n"
        )
    };
    for (mesh, meta, how) in [
        (
            "linkerd",
            "  annotations:\n    linkerd.io/inject: disabled\n",
            "annotation linkerd.io/inject=disabled",
        ),
        (
            "istio",
            "  labels:\n    istio-injection: \"false\"\n",
            "label istio-injection=false",
        ),
    ] {
        let ns = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n{meta}");
        let (code, out, err) = gunj(&[], &format!("{}{ns}", config(mesh)));
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, format!("---\n{ns}"), "{mesh}");
        assert!(
            err.contains(&format!("skipped: opted out ({how})")),
            "{mesh}: {err}"
        );
    }
}

/// The lines of `after` that are not in `before`, and the other way round.
fn changed_lines<'a>(before: &'a str, after: &'a str) -> (Vec<&'a str>, Vec<&'a str>) {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    (
        a.iter().filter(|l| !b.contains(l)).copied().collect(),
        b.iter().filter(|l| !a.contains(l)).copied().collect(),
    )
}

/// A Deployment whose selector and pod labels share an anchor: the pod template's labels
/// are `TEMPLATE_LABELS`, a merge key or an alias.
fn anchored(template_metadata: &str) -> String {
    format!(
        "# Source: grafana/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: grafana
  namespace: monitoring
  labels: &labels
    app.kubernetes.io/name: grafana
spec:
  replicas: !!int 3
  selector:
    matchLabels: *labels
  template:
    metadata:
{template_metadata}    spec:
      containers:
      - name: grafana
        image: grafana/grafana:11.0.0
        args: !custom [--flag]
      volumes:
      - name: config
        secret:
          secretName: grafana
          defaultMode: 0644
          items:
          - {{key: a, path: a, mode: 0400}}
"
    )
}

/// A merge key in the pod template's labels stays, the anchor's labels with it (so the
/// selector still matches), and the injection label goes beside it; a merge key in the
/// pod metadata whose labels are an alias gets the label through a merge of its own.
#[test]
fn merge_keys_in_the_pod_template_are_kept() {
    let cases = [
        (
            "      labels:\n        <<: *labels\n        tier: web\n",
            vec!["        sidecar.istio.io/inject: \"true\""],
        ),
        (
            "      <<: {labels: *labels}\n",
            vec!["      <<: {labels: {<<: *labels, \"sidecar.istio.io/inject\": \"true\"}}"],
        ),
    ];
    for (template, added) in cases {
        let doc = anchored(template);
        let (code, out, err) = gunj(&["--mesh", "istio"], &doc);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("injected"), "{err}");
        let (new, gone) = changed_lines(&doc, &out);
        assert_eq!(new, added, "{out}");
        assert!(gone.len() <= 1, "{out}");
        assert!(
            !out.contains("\"<<\""),
            "the merge key stays a merge key: {out}"
        );
        let (code, again, _) = gunj(&["--mesh", "istio"], &out);
        assert_eq!(
            (code, again.as_str()),
            (0, out.as_str()),
            "a second run changes nothing"
        );
    }
}

/// Pod labels that come through a merge of an anchored mapping with no alias of their own
/// cannot be given a label without changing the anchor: a clear error, not a rewrite.
#[test]
fn a_merge_that_cannot_be_spliced_is_an_error_naming_the_place() {
    let doc = "apiVersion: apps/v1
kind: Deployment
metadata: &meta
  name: grafana
  namespace: monitoring
  labels:
    app.kubernetes.io/name: grafana
spec:
  template:
    metadata:
      <<: *meta
    spec:
      containers:
      - name: grafana
        image: grafana/grafana:11.0.0
";
    let (code, out, err) = gunj(&["--mesh", "istio"], doc);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty());
    assert!(err.contains("document 1 (<stdin>), line 11"), "{err}");
    assert!(err.contains("merge key"), "{err}");
}

/// A document with anchors, whose pod labels are an alias, is spliced like any other: the
/// anchor and its uses stay, and so do octal modes, tags and every other value.
#[test]
fn anchors_keep_every_other_value_as_it_is() {
    let doc = anchored("      labels: *labels\n");
    let (code, out, err) = gunj(&["--mesh", "istio"], &doc);
    assert_eq!(code, 0, "{err}");
    let (new, gone) = changed_lines(&doc, &out);
    assert_eq!(
        new,
        ["      labels: {<<: *labels, \"sidecar.istio.io/inject\": \"true\"}"],
        "{out}"
    );
    assert_eq!(gone, ["      labels: *labels"]);
    for kept in [
        "          defaultMode: 0644",
        "{key: a, path: a, mode: 0400}",
        "  replicas: !!int 3",
        "        args: !custom [--flag]",
        "    matchLabels: *labels",
    ] {
        assert!(out.contains(kept), "{kept}: {out}");
    }
    let (code, again, _) = gunj(&["--mesh", "istio"], &out);
    assert_eq!((code, again.as_str()), (0, out.as_str()));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// The edit path's property ([`common::edit_path`]) over generated pod templates.
    #[test]
    fn generated_pod_templates_keep_their_meaning(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48)
    ) {
        common::edit_path::holds(&bytes);
    }
}
