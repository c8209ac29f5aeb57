//! The KRM function contract, from kubernetes-sigs/kustomize
//! `cmd/config/docs/api-conventions/functions-spec.md` and what kpt and kustomize actually
//! send: a `ResourceList` on stdin, a `ResourceList` on stdout, `results` for what was done,
//! and on error the whole input list back with an `error` result and exit status 1.
//!
//! The ResourceLists are written here as kpt (kyaml) serialises them: compact sequences,
//! reader annotations in single quotes, `functionConfig` after `items`.

use crate::common;
use serde_json::{Value, json};

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run(input: &str) -> Run {
    let out = common::gunj_cmd().write_stdin(input).output().unwrap();
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        code: out.status.code().expect("gunj-mesh exited normally"),
    }
}

/// Runs a ResourceList that must succeed.
fn ok(input: &str) -> String {
    let r = run(input);
    assert_eq!(r.code, 0, "stderr: {}\nstdout:\n{}", r.stderr, r.stdout);
    r.stdout
}

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

/// The output lines that are not in the input, after checking that every input line is in
/// the output, byte for byte (line ending included) and in order.
fn added<'a>(input: &str, output: &'a str) -> Vec<&'a str> {
    let want: Vec<&str> = input.split_inclusive('\n').collect();
    let mut kept = 0;
    let mut extra = Vec::new();
    for line in output.split_inclusive('\n') {
        if kept < want.len() && line == want[kept] {
            kept += 1;
        } else {
            extra.push(line.trim_end_matches('\n'));
        }
    }
    assert_eq!(
        kept,
        want.len(),
        "input line {} {:?} is missing or changed in the output:\n{output}",
        kept + 1,
        want.get(kept)
    );
    extra
}

/// The text before the top-level `results:` key (items and functionConfig).
fn before_results(output: &str) -> &str {
    match output.find("\nresults:") {
        Some(i) => &output[..=i],
        None => output,
    }
}

fn results(output: &str) -> Vec<Value> {
    parse(output)
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn list(api_version: &str, items: &[&str], rest: &str) -> String {
    format!(
        "apiVersion: {api_version}\nkind: ResourceList\nitems:\n{}{rest}",
        items.concat()
    )
}

const V1: &str = "config.kubernetes.io/v1";
const V1BETA1: &str = "config.kubernetes.io/v1beta1";

/// A Deployment read by kpt from `grafana.yaml`.
const GRAFANA: &str = "\
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: obs-grafana
    namespace: monitoring
    labels:
      app.kubernetes.io/name: grafana
    annotations:
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'grafana.yaml'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'grafana.yaml'
      internal.config.kubernetes.io/seqindent: 'wide'
  spec:
    selector:
      matchLabels:
        app.kubernetes.io/name: grafana
    template:
      metadata:
        labels:
          app.kubernetes.io/name: grafana
      spec:
        containers:
        - name: grafana
          image: docker.io/grafana/grafana:11.4.0
          ports:
          - name: http
            containerPort: 3000
";

/// A StatefulSet, the second document of `logging.yaml`.
const LOKI: &str = "\
- apiVersion: apps/v1
  kind: StatefulSet
  metadata:
    name: obs-loki
    namespace: monitoring
    annotations:
      config.kubernetes.io/index: '1'
      config.kubernetes.io/path: 'logging.yaml'
      internal.config.kubernetes.io/index: '1'
      internal.config.kubernetes.io/path: 'logging.yaml'
  spec:
    serviceName: obs-loki-headless
    selector:
      matchLabels:
        app.kubernetes.io/name: loki
    template:
      metadata:
        labels:
          app.kubernetes.io/name: loki
        annotations:
          checksum/config: 6f1c0a2b9e
      spec:
        containers:
        - name: loki
          image: docker.io/grafana/loki:3.3.2
          args:
          - -config.file=/etc/loki/loki.yaml
";

/// A hostNetwork DaemonSet: recognised, never injected.
const NODE_EXPORTER: &str = "\
- apiVersion: apps/v1
  kind: DaemonSet
  metadata:
    name: obs-node-exporter
    namespace: monitoring
    annotations:
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'node-exporter.yaml'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'node-exporter.yaml'
  spec:
    selector:
      matchLabels:
        app.kubernetes.io/name: prometheus-node-exporter
    template:
      metadata:
        labels:
          app.kubernetes.io/name: prometheus-node-exporter
      spec:
        hostNetwork: true
        containers:
        - name: node-exporter
          image: quay.io/prometheus/node-exporter:v1.8.2
";

const CONFIG_MAP: &str = "\
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: obs-settings
    namespace: monitoring
    annotations:
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'configmap.yaml'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'configmap.yaml'
  data:
    enabled: \"on\"
    mode: \"0755\"
";

const KPTFILE: &str = "\
- apiVersion: kpt.dev/v1
  kind: Kptfile
  metadata:
    name: observability
    annotations:
      config.kubernetes.io/local-config: \"true\"
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'Kptfile'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'Kptfile'
  pipeline:
    mutators:
    - exec: ./gunj-mesh
      configPath: mesh.yaml
";

/// `kpt fn eval --exec ./gunj-mesh -- type=linkerd`: kpt's own key order and flow mapping.
const KPT_ARGS_LINKERD: &str = "\
functionConfig:
  metadata:
    name: function-input
  data: {type: linkerd}
  kind: ConfigMap
  apiVersion: v1
";

fn pod_labels(item: &Value) -> &Value {
    &item["spec"]["template"]["metadata"]["labels"]
}

fn pod_annotations(item: &Value) -> &Value {
    &item["spec"]["template"]["metadata"]["annotations"]
}

fn item<'a>(out: &'a Value, kind: &str) -> &'a Value {
    out["items"]
        .as_array()
        .expect("items is a list")
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} item in {out:#}"))
}

#[test]
fn v1_resource_list_in_v1_resource_list_out() {
    let input = list(V1, &[CONFIG_MAP, GRAFANA], "");
    let output = ok(&input);
    let out = parse(&output);
    assert_eq!(out["apiVersion"], V1);
    assert_eq!(out["kind"], "ResourceList");
    assert_eq!(out["items"].as_array().unwrap().len(), 2);
    // No functionConfig: the embedded default, Istio sidecar mode.
    assert_eq!(
        pod_labels(item(&out, "Deployment"))["sidecar.istio.io/inject"],
        "true"
    );
    assert_eq!(
        added(&input, &output)[0],
        "          sidecar.istio.io/inject: \"true\""
    );
}

#[test]
fn v1beta1_resource_list_in_v1beta1_resource_list_out() {
    let input = list(V1BETA1, &[GRAFANA, NODE_EXPORTER], KPT_ARGS_LINKERD);
    let output = ok(&input);
    let out = parse(&output);
    assert_eq!(out["apiVersion"], V1BETA1);
    assert_eq!(out["kind"], "ResourceList");
    assert_eq!(
        pod_annotations(item(&out, "Deployment"))["linkerd.io/inject"],
        "enabled"
    );
    assert_eq!(results(&output).len(), 2);
}

#[test]
fn service_mesh_function_config_chooses_the_mesh_and_its_settings() {
    let config = "\
functionConfig:
  apiVersion: mesh.gunj.io/v1alpha1
  kind: ServiceMesh
  metadata:
    name: mesh
    annotations:
      config.kubernetes.io/local-config: \"true\"
  spec:
    type: linkerd
    linkerd:
      proxy:
        cpuRequest: 100m
";
    let input = list(V1, &[GRAFANA], config);
    let output = ok(&input);
    assert_eq!(
        added(&input, &output)[..3],
        [
            "        annotations:",
            "          linkerd.io/inject: \"enabled\"",
            "          config.linkerd.io/proxy-cpu-request: \"100m\"",
        ]
    );
    // The functionConfig comes back as it was sent.
    assert!(output.contains(config), "{output}");
}

#[test]
fn config_map_function_config_as_kpt_fn_eval_builds_it() {
    let input = list(V1, &[GRAFANA, LOKI], KPT_ARGS_LINKERD);
    let output = ok(&input);
    let out = parse(&output);
    for kind in ["Deployment", "StatefulSet"] {
        assert_eq!(
            pod_annotations(item(&out, kind))["linkerd.io/inject"],
            "enabled",
            "{kind}"
        );
        assert!(
            pod_labels(item(&out, kind))
                .get("sidecar.istio.io/inject")
                .is_none()
        );
    }
    // Loki's existing pod annotations keep their text; the new one joins them.
    let extra = added(&input, &output);
    assert!(
        extra.contains(&"          linkerd.io/inject: \"enabled\""),
        "{extra:?}"
    );
    assert!(output.contains(KPT_ARGS_LINKERD));
}

#[test]
fn config_map_dotted_keys_and_yaml_values_reach_nested_spec_fields() {
    let config = "\
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: function-input
  data:
    type: istio
    istio.mode: ambient
    namespaces: \"[observability]\"
";
    let input = list(V1, &[GRAFANA], config);
    let output = ok(&input);
    // monitoring is not in the namespaces list: a warning, and no change.
    assert_eq!(before_results(&output), input);
    let r = results(&output);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["severity"], "warning");
    assert!(
        r[0]["message"]
            .as_str()
            .unwrap()
            .contains("not in spec.namespaces"),
        "{r:?}"
    );

    let config = config.replace("[observability]", "[monitoring]");
    let input = list(V1, &[GRAFANA], &config);
    let out = parse(&ok(&input));
    let labels = pod_labels(item(&out, "Deployment"));
    assert_eq!(labels["istio.io/dataplane-mode"], "ambient");
    assert!(labels.get("sidecar.istio.io/inject").is_none());
}

#[test]
fn results_carry_severity_resource_ref_and_file() {
    let input = list(V1, &[CONFIG_MAP, GRAFANA, LOKI, NODE_EXPORTER], "");
    let output = ok(&input);
    let r = results(&output);
    assert_eq!(r.len(), 3, "one result per recognised workload: {r:#?}");
    let expect = [
        ("info", "Deployment", "obs-grafana", "grafana.yaml", 0),
        ("info", "StatefulSet", "obs-loki", "logging.yaml", 1),
        (
            "warning",
            "DaemonSet",
            "obs-node-exporter",
            "node-exporter.yaml",
            0,
        ),
    ];
    for (result, (severity, kind, name, path, index)) in r.iter().zip(expect) {
        assert_eq!(result["severity"], severity, "{result:#}");
        assert_eq!(
            result["resourceRef"],
            json!({"apiVersion": "apps/v1", "kind": kind, "name": name, "namespace": "monitoring"})
        );
        // The index is an integer, as the spec's `file.index` is.
        assert_eq!(result["file"], json!({"path": path, "index": index}));
        assert!(result["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(
        r[2]["message"].as_str().unwrap().contains("hostNetwork"),
        "{r:#?}"
    );
}

#[test]
fn file_comes_from_internal_annotations_when_the_legacy_ones_are_absent() {
    let only_internal = GRAFANA
        .lines()
        .filter(|l| !l.contains("      config.kubernetes.io/"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .replace("index: '0'", "index: '3'")
        .replace("grafana.yaml", "apps/grafana.yaml");
    assert!(!only_internal.contains("      config.kubernetes.io/path"));
    let output = ok(&list(V1, &[&only_internal], ""));
    assert_eq!(
        results(&output)[0]["file"],
        json!({"path": "apps/grafana.yaml", "index": 3})
    );
}

/// What `kustomize build --enable-alpha-plugins --enable-exec` hands a transformer: the
/// resources as one stream (sorted keys, no paths) with kustomize's id annotation, then
/// kyaml's reader and id annotations, and the transformer's config as functionConfig.
const KUSTOMIZE_GRAFANA: &str = "\
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations:
      kustomize.config.k8s.io/id: |
        group: apps
        kind: Deployment
        name: obs-grafana
        namespace: monitoring
        version: v1
      config.kubernetes.io/index: '1'
      internal.config.kubernetes.io/index: '1'
      internal.config.kubernetes.io/seqindent: 'compact'
      internal.config.kubernetes.io/id: '2'
      config.k8s.io/id: '2'
    labels:
      app.kubernetes.io/name: grafana
    name: obs-grafana
    namespace: monitoring
  spec:
    template:
      metadata:
        labels:
          app.kubernetes.io/name: grafana
      spec:
        containers:
        - image: docker.io/grafana/grafana:11.4.0
          name: grafana
";

const KUSTOMIZE_CONFIG: &str = "\
functionConfig:
  apiVersion: mesh.gunj.io/v1alpha1
  kind: ServiceMesh
  metadata:
    annotations:
      config.kubernetes.io/function: |
        exec:
          path: ./gunj-mesh
      config.kubernetes.io/local-config: \"true\"
    name: observability-mesh
  spec:
    type: istio
";

#[test]
fn reader_and_kustomize_annotations_are_kept_byte_identical() {
    for items in [vec![GRAFANA, LOKI, NODE_EXPORTER], vec![KUSTOMIZE_GRAFANA]] {
        let input = list(V1, &items, KUSTOMIZE_CONFIG);
        let output = ok(&input);
        // Every input line is still there, unchanged and in order (checked by `added`);
        // the only new lines are the injection labels and the results.
        let extra = added(&input, &output);
        let (edits, tail) = extra.split_at(extra.iter().position(|l| *l == "results:").unwrap());
        assert!(
            edits
                .iter()
                .all(|l| l.trim() == "sidecar.istio.io/inject: \"true\""),
            "{edits:?}"
        );
        assert!(!tail.is_empty());
        // And the annotations still parse to the same values.
        let (before, after) = (parse(&input), parse(&output));
        for (b, a) in before["items"]
            .as_array()
            .unwrap()
            .iter()
            .zip(after["items"].as_array().unwrap())
        {
            assert_eq!(b["metadata"], a["metadata"]);
        }
    }
    let output = ok(&list(V1, &[KUSTOMIZE_GRAFANA], KUSTOMIZE_CONFIG));
    assert_eq!(
        parse(&output)["items"][0]["metadata"]["annotations"]["kustomize.config.k8s.io/id"],
        "group: apps\nkind: Deployment\nname: obs-grafana\nnamespace: monitoring\nversion: v1\n"
    );
    // No path annotation: the result has a resourceRef and no file.
    let r = &results(&output)[0];
    assert_eq!(r["resourceRef"]["name"], "obs-grafana");
    assert!(r.get("file").is_none(), "{r:#}");
}

#[test]
fn local_config_items_and_the_kptfile_pass_through_untouched() {
    // A recognisable workload marked local-config must not be edited or reported.
    let local_grafana = GRAFANA
        .replace("name: obs-grafana", "name: grafana-dev-only")
        .replace(
            "    annotations:\n",
            "    annotations:\n      config.kubernetes.io/local-config: \"true\"\n",
        );
    let input = list(V1, &[KPTFILE, &local_grafana, CONFIG_MAP], "");
    let output = ok(&input);
    assert_eq!(
        output, input,
        "nothing to do: the input comes back as it was"
    );

    // Next to a workload that does change, they are still byte-identical.
    let input = list(V1, &[KPTFILE, &local_grafana, GRAFANA], "");
    let output = ok(&input);
    let extra = added(&input, &output);
    assert_eq!(extra[0], "          sidecar.istio.io/inject: \"true\"");
    assert_eq!(extra[1], "results:");
    let start = output.find(KPTFILE).expect("Kptfile text kept");
    assert!(output[start..].starts_with(&format!("{KPTFILE}{local_grafana}")));
    let r = results(&output);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["resourceRef"]["name"], "obs-grafana");
}

const SERVICE_MESH_ITEM: &str = "\
- apiVersion: mesh.gunj.io/v1alpha1
  kind: ServiceMesh
  metadata:
    name: observability-mesh
    annotations:
      config.kubernetes.io/local-config: \"true\"
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'mesh.yaml'
  spec:
    type: linkerd
";

#[test]
fn a_service_mesh_item_is_used_as_config_and_kept() {
    let input = list(V1, &[SERVICE_MESH_ITEM, GRAFANA], "");
    let output = ok(&input);
    assert!(
        output.contains(SERVICE_MESH_ITEM),
        "the item is kept:\n{output}"
    );
    let out = parse(&output);
    assert_eq!(out["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        pod_annotations(item(&out, "Deployment"))["linkerd.io/inject"],
        "enabled"
    );
    // It is config, not a workload: no result names it.
    assert!(
        results(&output)
            .iter()
            .all(|r| r["resourceRef"]["kind"] != "ServiceMesh")
    );
}

#[test]
fn a_service_mesh_item_outranks_the_function_config() {
    // lib.rs: flags > --config > a ServiceMesh in the stream > functionConfig > default.
    let function_config = KPT_ARGS_LINKERD.replace("type: linkerd", "type: istio");
    let output = ok(&list(V1, &[SERVICE_MESH_ITEM, GRAFANA], &function_config));
    let out = parse(&output);
    let grafana = item(&out, "Deployment");
    assert_eq!(pod_annotations(grafana)["linkerd.io/inject"], "enabled");
    assert!(pod_labels(grafana).get("sidecar.istio.io/inject").is_none());
}

/// Inputs the function must refuse, and a fragment of the error each must report.
fn bad_inputs() -> Vec<(&'static str, String, &'static str)> {
    let service_mesh = |spec: &str| {
        format!(
            "functionConfig:\n  apiVersion: mesh.gunj.io/v1alpha1\n  kind: ServiceMesh\n  metadata:\n    name: mesh\n  spec:\n{spec}"
        )
    };
    vec![
        (
            "unknown spec field",
            list(
                V1,
                &[GRAFANA, NODE_EXPORTER],
                &service_mesh("    typo: 1\n"),
            ),
            "typo",
        ),
        (
            "unknown mesh type",
            list(V1BETA1, &[GRAFANA], &service_mesh("    type: consul\n")),
            "consul",
        ),
        (
            "unknown component in a ConfigMap",
            list(
                V1,
                &[KPTFILE, CONFIG_MAP, GRAFANA],
                &KPT_ARGS_LINKERD.replace(
                    "{type: linkerd}",
                    "{type: istio, components.include: \"[grafna]\"}",
                ),
            ),
            "grafna",
        ),
        (
            "functionConfig of another kind",
            list(
                V1,
                &[GRAFANA],
                "functionConfig:\n  apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n",
            ),
            "Secret",
        ),
        (
            "type auto with both meshes in sight",
            list(
                V1,
                &[
                    "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: both\n    annotations:\n      linkerd.io/inject: enabled\n      sidecar.istio.io/inject: \"true\"\n",
                    GRAFANA,
                ],
                &KPT_ARGS_LINKERD.replace("type: linkerd", "type: auto"),
            ),
            "both Istio and Linkerd",
        ),
        (
            "an item without kind",
            list(
                V1,
                &[
                    GRAFANA,
                    "- apiVersion: v1\n  metadata:\n    name: kindless\n",
                ],
                "",
            ),
            "kind",
        ),
        (
            "an invalid ServiceMesh item",
            list(
                V1,
                &[
                    &SERVICE_MESH_ITEM.replace("type: linkerd", "type: consul"),
                    GRAFANA,
                ],
                "",
            ),
            "consul",
        ),
    ]
}

#[test]
fn on_error_every_input_item_comes_back_with_an_error_result_and_exit_1() {
    for (what, input, fragment) in bad_inputs() {
        let r = run(&input);
        assert_eq!(r.code, 1, "{what}: exit status\n{}", r.stdout);
        assert!(
            r.stderr.contains(fragment),
            "{what}: stderr names the problem: {}",
            r.stderr
        );
        // The input text, untouched, plus the results.
        let extra = added(&input, &r.stdout);
        assert_eq!(extra[0], "results:", "{what}: {extra:?}");
        assert!(r.stdout.starts_with(&input), "{what}:\n{}", r.stdout);
        let (before, after) = (parse(&input), parse(&r.stdout));
        assert_eq!(after["apiVersion"], before["apiVersion"], "{what}");
        assert_eq!(after["items"], before["items"], "{what}");
        assert_eq!(after["functionConfig"], before["functionConfig"], "{what}");
        let results = results(&r.stdout);
        assert_eq!(results.len(), 1, "{what}: {results:#?}");
        assert_eq!(results[0]["severity"], "error", "{what}");
        let message = results[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(fragment), "{what}: {message}");
    }
}

/// A bad value in a ServiceMesh functionConfig or item is named by its field, line and
/// column in the ResourceList, like one in a config file; kpt shows where it is as the
/// result's field.
#[test]
fn a_config_error_names_the_field_and_its_place_in_the_resource_list() {
    let bad = "    mtls:\n      mode: LAX\n";
    let flow = "functionConfig: {apiVersion: mesh.gunj.io/v1alpha1, kind: ServiceMesh, spec: {mtls: {mode: LAX}}}\n";
    let block = format!(
        "functionConfig:\n  apiVersion: mesh.gunj.io/v1alpha1\n  kind: ServiceMesh\n  metadata:\n    name: mesh\n  spec:\n{bad}"
    );
    let item = SERVICE_MESH_ITEM.replace("type: linkerd", "type: linkerd\n    mtls: {mode: LAX}");
    for (what, input, field) in [
        (
            "block functionConfig",
            list(V1, &[GRAFANA], &block),
            "functionConfig",
        ),
        (
            "flow functionConfig",
            list(V1, &[GRAFANA], flow),
            "functionConfig",
        ),
        ("item", list(V1, &[GRAFANA, &item], ""), "items[1]"),
    ] {
        let r = run(&input);
        assert_eq!(r.code, 1, "{what}: {}", r.stdout);
        let (line, text) = input
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains("LAX"))
            .expect("the bad value is in the input");
        let column = text.find("LAX").unwrap() + 1;
        let place = format!("{field}, line {}, column {column}: ", line + 1);
        assert!(
            r.stderr.contains(&place),
            "{what}: no `{place}` in {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("spec.mtls.mode: unknown variant `LAX`"),
            "{what}: {}",
            r.stderr
        );
        let results = results(&r.stdout);
        assert_eq!(results[0]["field"]["path"], field, "{what}: {results:#?}");
        assert!(
            results[0]["message"]
                .as_str()
                .unwrap()
                .contains("spec.mtls.mode"),
            "{what}: {results:#?}"
        );
    }
}

#[test]
fn on_error_results_hold_just_the_error() {
    let (_, input, _) = bad_inputs().remove(0);
    let input =
        format!("{input}results:\n- message: set by an earlier function\n  severity: info\n");
    let r = run(&input);
    assert_eq!(r.code, 1);
    let results = results(&r.stdout);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["severity"], "error");
}

#[test]
fn unreadable_yaml_still_answers_with_a_resource_list_and_exit_1() {
    let input = list(V1, &[GRAFANA], "functionConfig:\n\tapiVersion: v1\n");
    let r = run(&input);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let out = parse(&r.stdout);
    assert_eq!(out["kind"], "ResourceList");
    assert_eq!(results(&r.stdout)[0]["severity"], "error");
}

/// The comments before the ResourceList are copied to the output, so they are checked like
/// any document: a carriage return without a line feed ends a comment line for YAML, and
/// what follows it is no comment.
#[test]
fn a_comment_before_the_resource_list_is_checked() {
    let input = format!(
        "# a comment\rkind: Deployment\r---\n{}",
        list(V1, &[GRAFANA], "")
    );
    let r = run(&input);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("line 1, column 12: invalid YAML: a carriage return without a line feed"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("severity: error"), "{}", r.stdout);
}

#[test]
fn a_second_run_over_the_output_changes_nothing() {
    let input = list(
        V1,
        &[KPTFILE, CONFIG_MAP, GRAFANA, LOKI, NODE_EXPORTER],
        KPT_ARGS_LINKERD,
    );
    let first = ok(&input);
    assert_eq!(results(&first).len(), 3, "{first}");
    // The output is a fixed point: items, functionConfig and results come back byte for
    // byte, though this run injects nothing and reports only the hostNetwork skip.
    assert_eq!(ok(&first), first);
    let json = ok(JSON_LIST);
    assert_eq!(ok(&json), json);
}

#[test]
fn results_in_the_input_are_replaced_by_a_run_that_changes_items_else_kept() {
    let earlier = "results:\n- message: label added\n  severity: info\n  resourceRef:\n    apiVersion: v1\n    kind: ConfigMap\n    name: obs-settings\n";
    let input = list(
        V1,
        &[CONFIG_MAP, GRAFANA],
        &format!("{KPT_ARGS_LINKERD}{earlier}"),
    );
    let output = ok(&input);
    assert_eq!(output.matches("\nresults:\n").count(), 1, "{output}");
    let r = results(&output);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["resourceRef"]["name"], "obs-grafana");
    assert_eq!(ok(&output), output);
    // A run that changes nothing keeps them, and adds its own after them.
    let input = list(
        V1,
        &[CONFIG_MAP, NODE_EXPORTER],
        &format!("{KPT_ARGS_LINKERD}{earlier}"),
    );
    let output = ok(&input);
    let added = added(&input, &output);
    assert!(
        added
            .iter()
            .all(|l| l.starts_with("- ") || l.starts_with("  ")),
        "{added:?}"
    );
    let r = results(&output);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(r[0]["message"], "label added");
    assert_eq!(r[1]["resourceRef"]["name"], "obs-node-exporter");
    assert_eq!(ok(&output), output);
}

/// The spec: "YAML is a superset of JSON, JSON will also be supported by any conforming
/// function". A JSON ResourceList is a ResourceList: functionConfig applies, results come back.
const JSON_LIST: &str = r#"{
  "apiVersion": "config.kubernetes.io/v1",
  "kind": "ResourceList",
  "items": [
    {
      "apiVersion": "apps/v1",
      "kind": "Deployment",
      "metadata": {
        "name": "obs-grafana",
        "namespace": "monitoring",
        "annotations": {"config.kubernetes.io/path": "grafana.yaml", "config.kubernetes.io/index": "0"}
      },
      "spec": {"template": {"spec": {"containers": [{"name": "grafana", "image": "docker.io/grafana/grafana:11.4.0"}]}}}
    }
  ],
  "functionConfig": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"}, "data": {"type": "linkerd"}}
}
"#;

#[test]
fn a_json_resource_list_is_a_resource_list() {
    let output = ok(JSON_LIST);
    let out = parse(&output);
    assert_eq!(out["kind"], "ResourceList");
    let grafana = item(&out, "Deployment");
    assert_eq!(
        pod_annotations(grafana)["linkerd.io/inject"],
        "enabled",
        "the functionConfig applies:\n{output}"
    );
    let r = results(&output);
    assert_eq!(r.len(), 1, "results:\n{output}");
    assert_eq!(r[0]["file"], json!({"path": "grafana.yaml", "index": 0}));
}

#[test]
fn a_json_resource_list_with_a_bad_function_config_fails() {
    let input = JSON_LIST.replace("\"type\": \"linkerd\"", "\"type\": \"consul\"");
    let r = run(&input);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let (before, after) = (parse(&input), parse(&r.stdout));
    assert_eq!(after["items"], before["items"]);
    assert_eq!(results(&r.stdout)[0]["severity"], "error", "{}", r.stdout);
}

/// Regression: an empty ConfigMap (what `kpt fn eval --exec gunj-mesh` sends with no
/// arguments) means the embedded default, Istio, not `type: auto`.
#[test]
fn an_empty_config_map_means_the_default_config() {
    let input = list(
        V1,
        &[GRAFANA],
        "functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: function-input\n  data: {}\n",
    );
    let output = ok(&input);
    assert!(
        output.contains("sidecar.istio.io/inject: \"true\""),
        "{output}"
    );
}

/// Regression: comments before the ResourceList's `---` are kept.
#[test]
fn a_comment_preamble_is_kept() {
    let input = format!("# generated by kpt\n---\n{}", list(V1, &[GRAFANA], ""));
    let output = ok(&input);
    assert!(
        output.starts_with("# generated by kpt\n---\napiVersion: config.kubernetes.io/v1\n"),
        "{output}"
    );
}

/// Generated policies become new items after the input items, each with its own index in
/// one file (`gunj-mesh-generated.yaml`) so that kpt writes them out; a second run finds
/// them and adds nothing more.
#[test]
fn generated_policies_are_new_items_with_file_annotations_and_are_not_duplicated() {
    let config = "\
functionConfig:
  apiVersion: mesh.gunj.io/v1alpha1
  kind: ServiceMesh
  spec:
    type: istio
    mtls:
      mode: STRICT
    authorization: {}
";
    let input = list(V1, &[GRAFANA], config);
    let output = ok(&input);
    let out = parse(&output);
    let items = out["items"].as_array().unwrap();
    let generated: Vec<&Value> = items
        .iter()
        .filter(|i| i["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gunj-mesh")
        .collect();
    let kinds: Vec<&str> = generated
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    // mTLS for Grafana; it may be called by its peers, the ingress gateway and (callers
    // the catalog names are not in the stream, `authorization.peers` is unset) its namespace.
    assert_eq!(
        kinds,
        [
            "PeerAuthentication",
            "AuthorizationPolicy",
            "AuthorizationPolicy",
            "AuthorizationPolicy"
        ]
    );
    for (index, item) in generated.iter().enumerate() {
        let a = &item["metadata"]["annotations"];
        for key in ["config.kubernetes.io", "internal.config.kubernetes.io"] {
            assert_eq!(a[format!("{key}/path")], "gunj-mesh-generated.yaml");
            assert_eq!(a[format!("{key}/index")], index.to_string());
        }
    }
    // Each generated item has an info result naming it.
    let results = results(&output);
    assert!(
        results
            .iter()
            .any(|r| r["resourceRef"]["kind"] == "PeerAuthentication" && r["severity"] == "info"),
        "{results:?}"
    );
    let again = ok(&output);
    assert_eq!(
        parse(&again)["items"],
        out["items"],
        "a second run changed the items"
    );
}
