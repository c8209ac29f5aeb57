//! Every example config on the example stream: the summary and the diff of the output
//! against the input, as reviewed snapshots. Each run is also checked to be idempotent.

use crate::common;

const STREAM: &str = "examples/stream/observability.yaml";

fn gunj(args: &[&str], stdin: &[u8]) -> (String, String) {
    let (code, out, err) = common::gunj(args, stdin);
    assert_eq!(code, 0, "gunj-mesh {args:?} failed: {err}");
    (out, err)
}

/// Runs an example config on the example stream, in its own mesh and then with the other
/// mesh forced by `--mesh`, so each config has an Istio and a Linkerd snapshot.
fn check_example(name: &str, other: &str) {
    let config = format!("examples/{name}.yaml");
    let input = std::fs::read_to_string(common::repo().join(STREAM)).unwrap();
    for (snapshot, extra) in [
        (name.to_string(), vec![]),
        (format!("{name}@{other}"), vec!["--mesh", other]),
    ] {
        let mut args = vec!["-c", &config];
        args.extend(&extra);
        let (output, summary) = gunj(&[&args[..], &[STREAM]].concat(), b"");
        let (again, _) = gunj(&[&args[..], &["-"]].concat(), output.as_bytes());
        assert_eq!(
            again, output,
            "{snapshot}: a second pass changed the output"
        );
        let diff = similar::TextDiff::from_lines(&input, &output);
        let diff = diff
            .unified_diff()
            .context_radius(2)
            .header(STREAM, "output")
            .to_string();
        insta::assert_snapshot!(snapshot, format!("{summary}\n{diff}"));
    }
}

#[test]
fn basic() {
    check_example("basic", "linkerd");
}

#[test]
fn istio_advanced() {
    check_example("istio-advanced", "linkerd");
}

#[test]
fn linkerd() {
    check_example("linkerd", "istio");
}

#[test]
fn multi_cluster() {
    check_example("multi-cluster", "linkerd");
}

#[test]
fn every_example_config_has_a_test() {
    let mut configs: Vec<String> = std::fs::read_dir(common::repo().join("examples"))
        .unwrap()
        .filter_map(|e| {
            Some(
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".yaml")?
                    .to_string(),
            )
        })
        .filter(|n| n != "init")
        .collect();
    configs.sort();
    assert_eq!(
        configs,
        ["basic", "istio-advanced", "linkerd", "multi-cluster"]
    );
}

#[test]
fn init_prints_a_valid_config_that_matches_the_defaults() {
    let (init, _) = gunj(&["init"], b"");
    assert_eq!(
        init,
        std::fs::read_to_string(common::repo().join("examples/init.yaml")).unwrap()
    );
    let config = gunj_mesh::read_config("init.yaml", &init).unwrap();
    let default = gunj_mesh::ServiceMesh::embedded_default();
    assert_eq!(
        serde_json::to_value(&config.spec).unwrap(),
        serde_json::to_value(&default.spec).unwrap()
    );
}

#[test]
fn schema_is_json_schema_naming_every_section() {
    let (schema, _) = gunj(&["schema"], b"");
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let spec = &schema["$defs"]["Spec"]["properties"];
    for field in [
        "enabled",
        "type",
        "hooks",
        "istio",
        "linkerd",
        "namespaces",
        "components",
        "injection",
        "mtls",
        "trafficManagement",
        "authorization",
        "observability",
        "multiCluster",
    ] {
        assert!(spec.get(field).is_some(), "schema lacks spec.{field}");
    }
}

#[test]
fn explain_json_names_component_and_rule() {
    let (json, _) = gunj(
        &[
            "explain",
            "--output",
            "json",
            "-c",
            "examples/basic.yaml",
            STREAM,
        ],
        b"",
    );
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let grafana = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "obs-grafana")
        .unwrap();
    assert_eq!(grafana["component"], "grafana");
    assert_eq!(grafana["rule"], "label app.kubernetes.io/name=grafana");
    assert_eq!(grafana["action"], "inject");
    assert_eq!(
        grafana["source"],
        format!("{STREAM}: obs/templates/grafana/deployment.yaml")
    );
    let (table, _) = gunj(&["explain", "-c", "examples/basic.yaml", STREAM], b"");
    assert!(table.contains("skip: hostNetwork"), "{table}");
    assert!(common::repo().join(STREAM).exists());
}
