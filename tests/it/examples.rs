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
fn init() {
    check_example("init", "linkerd");
}

/// The summary (stderr) and output of an example config on the example stream, or on
/// `input` when given.
fn summary(name: &str, extra: &[&str], input: Option<&str>) -> (String, String) {
    let config = format!("examples/{name}.yaml");
    let mut args = vec!["-c", config.as_str()];
    args.extend(extra);
    match input {
        Some(text) => {
            args.push("-");
            gunj(&args, text.as_bytes())
        }
        None => {
            args.push(STREAM);
            gunj(&args, b"")
        }
    }
}

/// What each example's comment says it does, checked on its run.
#[test]
fn every_example_does_what_its_comment_says() {
    let line = |summary: &str, prefix: &str| -> String {
        summary
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{summary}"))
            .to_string()
    };
    // basic: Istio from Kiali's label; a stream that shows neither mesh gets Istio and a
    // note.
    let (out, err) = summary("basic", &[], None);
    assert!(out.contains("sidecar.istio.io/inject: \"true\""), "{out}");
    assert!(!err.contains("using the default"), "{err}");
    let stream = std::fs::read_to_string(common::repo().join(STREAM)).unwrap();
    let plain = stream.replace("        sidecar.istio.io/inject: \"false\"\n", "");
    assert_ne!(
        plain, stream,
        "the example stream's Kiali opts out by label"
    );
    let (out, err) = summary("basic", &[], Some(&plain));
    assert!(out.contains("sidecar.istio.io/inject: \"true\""), "{out}");
    assert!(
        err.contains("note: type: auto found neither Istio nor Linkerd in the stream: using the default, istio"),
        "{err}"
    );
    // istio-advanced: a revision on the Namespace, Kiali left out and opted out of the
    // namespace's injection, native sidecars for Jobs, hooks injected.
    let (out, err) = summary("istio-advanced", &[], None);
    assert!(out.contains("    istio.io/rev: \"1-24-1\"\n"), "{out}");
    assert_eq!(
        line(&err, "deployment monitoring/kiali:"),
        "deployment monitoring/kiali: skipped: excluded by spec.components.exclude; opted out of the namespace's injection"
    );
    assert!(line(&err, "cronjob monitoring/obs-tempo-retention:").ends_with("native sidecar)"));
    assert!(
        line(&err, "pod monitoring/obs-grafana-test:").contains(": injected ("),
        "{err}"
    );
    // multi-cluster: ambient, install notes, exportServices only under Linkerd.
    let (_, err) = summary("multi-cluster", &[], None);
    assert!(
        line(&err, "namespace monitoring:").contains("istio ambient"),
        "{err}"
    );
    assert!(
        err.contains("global.multiCluster.clusterName=east"),
        "{err}"
    );
    assert!(
        err.contains("multiCluster.exportServices applies to Linkerd only"),
        "{err}"
    );
    let (out, _) = summary("multi-cluster", &["--mesh", "linkerd"], None);
    assert!(
        out.contains("mirror.linkerd.io/exported: \"true\""),
        "{out}"
    );
    // linkerd: retries and timeouts as Service annotations.
    let (out, _) = summary("linkerd", &[], None);
    assert!(out.contains("retry.linkerd.io/http: \"5xx\""), "{out}");
    assert!(out.contains("timeout.linkerd.io/request: \"30s\""), "{out}");
    // init: the defaults, so the same as no config at all.
    let (with_init, _) = summary("init", &[], None);
    let (no_config, _) = gunj(&[STREAM], b"");
    assert_eq!(with_init, no_config);
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
        .collect();
    configs.sort();
    assert_eq!(
        configs,
        [
            "basic",
            "init",
            "istio-advanced",
            "linkerd",
            "multi-cluster"
        ]
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
    let default = serde_json::to_value(&default.spec).unwrap();
    assert_eq!(serde_json::to_value(&config.spec).unwrap(), default);
    // Every default is shown, set or in a comment.
    for key in default.as_object().unwrap().keys() {
        assert!(
            init.contains(&format!("  {key}:")) || init.contains(&format!("  # {key}:")),
            "init.yaml does not show spec.{key}"
        );
    }
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
