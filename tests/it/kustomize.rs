//! `gunj-mesh kustomize`: the patch set, applied by kustomize to the stream it was made
//! from, gives the filter's output. Each case builds a kustomize directory (the stream, the
//! generated resources, the patches), runs `kubectl kustomize` on it and compares the
//! objects with the filter's, field for field.

use crate::common::{self, TempDir, needs};
use gunj_mesh::internals::yaml;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Objects by `kind namespace/name`, Lists expanded as kustomize expands them.
fn objects(text: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for doc in gunj_mesh::internals::documents(&[gunj_mesh::Input::new("-", text)], usize::MAX)
        .expect("split")
    {
        let Some(node) = yaml::parse(doc.body(), yaml::Limits::default()).expect("parse") else {
            continue;
        };
        let value = node.to_json();
        let list = value["kind"].as_str().is_some_and(|k| k.ends_with("List"));
        let items = match value.get("items").and_then(Value::as_array) {
            Some(items) if list => items.clone(),
            _ => vec![value],
        };
        for mut o in items {
            normalize(&mut o);
            let key = format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            );
            assert!(out.insert(key.clone(), o).is_none(), "{key} twice");
        }
    }
    out
}

/// What kustomize rewrites in every object, patched or not, made the same on both sides: it
/// writes `10.0` as `10` and drops an empty or null `metadata.annotations` or `labels`.
fn normalize(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                *value = serde_json::json!(f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(map) => {
            if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
                metadata.retain(|k, v| {
                    !(matches!(k.as_str(), "annotations" | "labels")
                        && (v.is_null() || v.as_object().is_some_and(|m| m.is_empty())))
                });
            }
            map.values_mut().for_each(normalize);
        }
        _ => {}
    }
}

/// Runs the filter and the patch set on `stream` with `args`; asserts kustomize's result
/// is the filter's, and returns the number of patches.
fn equivalent(kubectl: &Path, stream: &str, args: &[&str]) -> usize {
    let dir = TempDir::new("kustomize");
    dir.write("stream.yaml", stream);
    let (code, filtered, err) = common::gunj(&[args, &["-q", "-"]].concat(), stream);
    assert_eq!(code, 0, "filter: {err}");
    let resources = format!("{}/generated.yaml", dir.arg());
    let (code, kustomization, err) = common::gunj(
        &[
            &["kustomize"],
            args,
            &["-q", "--resources", &resources, "-"],
        ]
        .concat(),
        stream,
    );
    assert_eq!(code, 0, "kustomize: {err}");
    let patches = kustomization.matches("\n- target:").count();
    // The file as the user would list it: beside the kustomization.
    let kustomization = kustomization.replace(
        &format!("resources:\n- {resources}\n"),
        "resources:\n- stream.yaml\n- generated.yaml\n",
    );
    assert!(kustomization.contains("- stream.yaml\n"), "{kustomization}");
    dir.write("kustomization.yaml", &kustomization);
    let out = common::run::command(kubectl)
        .args(["kustomize", &dir.arg()])
        .output()
        .expect("run kubectl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kubectl kustomize: {stderr}");
    let built = objects(&String::from_utf8(out.stdout).expect("UTF-8"));
    let expected = objects(&filtered);
    assert_eq!(
        built.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the objects differ"
    );
    for (key, object) in &expected {
        assert_eq!(&built[key], object, "{key} differs");
    }
    patches
}

fn kubectl() -> Option<std::path::PathBuf> {
    needs::tool("bin/kubectl")
}

/// [`equivalent`] with a config of `examples/`, in `mesh`, for namespace `monitoring`.
fn run_case(kubectl: &Path, stream: &str, config: &str, mesh: &str) -> usize {
    let config = format!("examples/{config}.yaml");
    let flags = ["-c", &config, "-n", "monitoring", "--mesh", mesh];
    equivalent(kubectl, stream, &flags)
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/kubectl: run scripts/install-tools.sh"
)]
fn examples_give_the_filters_objects() {
    let Some(kubectl) = kubectl() else { return };
    let stream = std::fs::read_to_string(common::repo().join("examples/stream/observability.yaml"))
        .expect("example stream");
    for config in ["basic", "istio-advanced", "linkerd", "multi-cluster"] {
        for mesh in ["istio", "linkerd"] {
            let patches = run_case(&kubectl, &stream, config, mesh);
            assert!(patches > 0, "{config} ({mesh}) edits nothing");
        }
    }
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/kubectl: run scripts/install-tools.sh"
)]
#[cfg_attr(gunj_no_shared, ignore = "needs ../shared: see README, Development")]
fn corpus_charts_give_the_filters_objects() {
    let (Some(kubectl), Some(corpus)) = (kubectl(), needs::corpus()) else {
        return;
    };
    let charts = [
        ("kube-prometheus-stack", "istio-advanced", "istio"),
        ("loki", "linkerd", "linkerd"),
        ("tempo", "istio-advanced", "istio"),
        ("promtail", "istio-advanced", "linkerd"),
        ("grafana", "basic", "linkerd"),
        ("opentelemetry-collector", "basic", "istio"),
    ];
    for (chart, config, mesh) in charts {
        let stream = std::fs::read_to_string(corpus.join(format!("helm-template/{chart}.yaml")))
            .expect("corpus chart");
        let patches = run_case(&kubectl, &stream, config, mesh);
        assert!(patches > 0, "{chart} ({mesh}) edits nothing");
    }
}

/// A ConfigMap beside Grafana: kubectl reads `on` as a boolean unless it is quoted.
const UNTOUCHED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\n  namespace: monitoring\ndata:\n  tls: \"on\"\n";

#[test]
fn an_edited_object_gets_an_escaped_patch_and_an_untouched_one_none() {
    let stream = format!("{}---\n{UNTOUCHED}", common::fixtures::GRAFANA);
    let (code, out, err) = common::gunj(&["kustomize", "--mesh", "istio", "-q", "-"], stream);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("\n- target:").count(), 1, "{out}");
    assert!(
        !out.contains("name: flags"),
        "the ConfigMap got a patch: {out}"
    );
    assert!(out.contains("kind: Deployment\n"), "{out}");
    // `sidecar.istio.io/inject`: RFC 6901 writes `/` in a key as `~1`.
    assert!(
        out.contains("path: /spec/template/metadata/labels/sidecar.istio.io~1inject\n"),
        "{out}"
    );
    assert!(
        out.contains("value: \"true\"\n"),
        "a YAML 1.1 reader would take true for a boolean: {out}"
    );
}

#[test]
fn generated_resources_need_a_file_and_an_error_writes_nothing() {
    let dir = TempDir::new("kustomize-err");
    let resources = std::path::PathBuf::from(format!("{}/generated.yaml", dir.arg()));
    let stream = common::fixtures::GRAFANA;
    // This config generates policies: without --resources they would be lost.
    let config = "examples/istio-advanced.yaml";
    let (code, out, err) = common::gunj(&["kustomize", "-c", config, "-"], stream);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("add --resources FILE"), "{err}");
    let (code, out, err) = common::gunj(
        &[
            "kustomize",
            "-c",
            config,
            "--resources",
            &resources.display().to_string(),
            "-",
        ],
        format!("{stream}---\nkind: [\n"),
    );
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        !resources.exists(),
        "the resources file was written on error"
    );
}

#[test]
fn a_service_mesh_document_in_the_stream_is_refused() {
    let stream = format!(
        "{}---\napiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nmetadata:\n  name: m\nspec:\n  type: istio\n",
        common::fixtures::GRAFANA
    );
    let (code, out, err) = common::gunj(&["kustomize", "-"], stream);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("pass the config with -c FILE"), "{err}");
}
