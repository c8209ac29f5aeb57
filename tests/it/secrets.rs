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

/// What the Secrets below hold, in every place a Secret can hold it: none may be shown.
const HIDDEN: [&str; 4] = [
    "hunter2",
    "c3VwZXJzZWNyZXQ",
    "s3cr3t-token",
    "ghp_0123456789",
];

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: grafana-admin
  namespace: monitoring
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{\"stringData\":{\"token\":\"ghp_0123456789\"}}'
data:
  password: c3VwZXJzZWNyZXQ=
stringData:
  token: s3cr3t-token
  admin.ini: |
    [security]
    admin_password = hunter2
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
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
";

/// [`DEPLOYMENT`] on one line, as JSON: the line the filter changes is the document's
/// first, so the diff's context shows the end of the document before it.
const DEPLOYMENT_JSON: &str = r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "grafana", "namespace": "monitoring"}, "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "grafana"}}, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "grafana"}}, "spec": {"containers": [{"name": "grafana", "image": "grafana/grafana:11.0.0"}]}}}}
"#;

/// A config that appends resources.
const MTLS: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: istio
  mtls: {mode: STRICT}
";

/// `doc` as an item of a block sequence at column 0.
fn item(doc: &str) -> String {
    format!("- {}\n", doc.trim_end().replace('\n', "\n  "))
}

/// `doc` indented under a key.
fn indented(doc: &str) -> String {
    doc.lines().map(|l| format!("  {l}\n")).collect()
}

fn assert_hidden(what: &str, text: &str) {
    for value in HIDDEN {
        assert!(!text.contains(value), "{what} shows {value}:\n{text}");
    }
}

#[test]
fn check_diff_masks_secrets_in_streams_lists_resource_lists_and_directories() {
    // The Secret comes right before the line the filter changes: the diff shows its end.
    let stream = format!("{MTLS}---\n{SECRET}---\n{DEPLOYMENT_JSON}");
    let list = format!(
        "{MTLS}---\napiVersion: v1\nkind: List\nitems:\n{}{}",
        item(SECRET),
        item(DEPLOYMENT_JSON)
    );
    let resource_list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n{}items:\n{}{}",
        indented(MTLS),
        item(DEPLOYMENT),
        item(SECRET)
    );
    for (what, input) in [
        ("a stream", stream),
        ("a List", list),
        ("a ResourceList", resource_list),
    ] {
        let (code, out, err) = common::gunj(&["check", "--diff"], input.as_str());
        assert_eq!(code, 1, "{what}: {err}");
        assert_hidden(what, &out);
        assert_hidden(what, &err);
        // The Secret was in the diff's context, masked line for line.
        assert!(out.contains(" <redacted>\n"), "{what}:\n{out}");
    }
    let dir = common::TempDir::new("secrets-dir");
    dir.write("a-mesh.yaml", MTLS);
    dir.write("b-grafana.yaml", &format!("{SECRET}---\n{DEPLOYMENT_JSON}"));
    dir.write("c-secret.yaml", SECRET);
    let (code, out, err) = common::gunj(&["check", "--diff", &dir.arg()], "");
    assert_eq!(code, 1, "{err}");
    assert_hidden("a directory", &out);
    assert!(out.contains(" <redacted>\n"), "{out}");
}

/// A Helm values file: no kind, a password.
const VALUES: &str = "grafana:
  adminUser: admin
  adminPassword: hunter2
  env:
    GF_TOKEN: s3cr3t-token
";

/// Runs `gunj-mesh -c CONFIG` over a Deployment as the Helm 4 plugin (errors also go to the
/// log): exit code, stdout, stderr and the log.
fn with_config(dir: &common::TempDir, config: &str) -> (i32, String, String, String) {
    let config = dir.write("config.yaml", config);
    let log = dir.arg() + "/error.log";
    let out = common::gunj_cmd()
        .env("HELM_PLUGIN_NAME", "gunj-mesh")
        .env("GUNJ_MESH_LOG", &log)
        .args(["-c", &config.display().to_string()])
        .write_stdin(DEPLOYMENT)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
        logged,
    )
}

#[test]
fn config_errors_show_no_secret_or_values_file_and_speak_in_user_terms() {
    let dir = common::TempDir::new("secrets-config");
    for (what, config) in [
        ("a Secret", SECRET.to_string()),
        (
            "a Secret with a YAML error in its data",
            SECRET.replace("token: s3cr3t-token", "token: \"s3cr3t-token"),
        ),
        (
            "a Secret with a duplicate key",
            SECRET.replace("stringData:\n", "stringData:\n  token: hunter2\n"),
        ),
        ("a values file", VALUES.to_string()),
        (
            "a values file with a YAML error",
            VALUES.replace("admin\n", "[admin\n"),
        ),
    ] {
        let (code, out, err, log) = with_config(&dir, &config);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(out.is_empty(), "{what}");
        assert_hidden(what, &err);
        assert!(log.contains("config.yaml"), "{what}: the log: {log}");
        assert_hidden(&format!("{what}, the log"), &log);
    }
    // Two documents: said in user terms, not the YAML library's function names.
    let (code, _, err, _) = with_config(&dir, &format!("{MTLS}---\n{MTLS}"));
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("from_str"), "{err}");
    assert!(err.contains("one ServiceMesh document"), "{err}");
    // An enum given a list or a mapping: no serde terms.
    for value in ["[istio]", "{istio: 1}"] {
        let (code, _, err, _) = with_config(&dir, &MTLS.replace("istio", value));
        assert_eq!(code, 2, "{err}");
        assert!(!err.contains("enum"), "{err}");
        assert!(
            err.contains("expected a string, one of the allowed values"),
            "{err}"
        );
    }
    // A config's own mistake still shows its line, the field and the allowed values.
    let (code, _, err, _) = with_config(&dir, &MTLS.replace("istio", "consul"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 4, column 9"), "{err}");
    assert!(err.contains("  type: consul"), "{err}");
    assert!(err.contains("istio, linkerd, auto"), "{err}");
}

#[test]
fn an_error_names_its_source_from_the_document_head_never_from_secret_data() {
    // The Secret's data holds lines that look like the annotations that name a source.
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  config.kubernetes.io/path: hunter2\n  postrenderer.helm.sh/postrender-filename: s3cr3t-token\n";
    let broken = DEPLOYMENT.replace(
        "  namespace: monitoring\n",
        "  namespace: monitoring\n  labels: 3\n",
    );
    for head in ["", "# Source: grafana/templates/list.yaml\n"] {
        let input = format!(
            "{head}apiVersion: v1\nkind: List\nitems:\n{}{}",
            item(secret),
            item(&broken)
        );
        let (code, out, err) = common::gunj(&[], input.as_str());
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert_hidden("the error", &err);
        let place = if head.is_empty() {
            "(<stdin>), line 16"
        } else {
            "(grafana/templates/list.yaml), line 17"
        };
        assert!(err.contains(&format!("document 1 {place}")), "{err}");
    }
}

/// A quoted scalar may go on at column 0, so a line of a Secret's data can look like a
/// `# Source:` comment: the Helm log's source line is a document head's comment only.
#[test]
fn the_helm_log_names_the_source_from_a_document_head_never_from_secret_data() {
    let input = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n  stringData:\n    token: \"abc\n# Source: hunter2\"\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: grafana, labels: 3}\n";
    let dir = common::TempDir::new("secrets-log");
    let log = dir.arg() + "/error.log";
    let out = common::gunj_cmd()
        .env("HELM_PLUGIN_NAME", "gunj-mesh")
        .env("GUNJ_MESH_LOG", &log)
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("metadata.labels"), "{logged}");
    assert_hidden("the log", &logged);
    assert_hidden("stderr", &String::from_utf8_lossy(&out.stderr));
}

#[test]
fn yaml_errors_inside_a_secret_quote_nothing_of_it() {
    let duplicate = SECRET.replace("stringData:\n", "stringData:\n  hunter2: x\n  hunter2: y\n");
    let unterminated = SECRET.replace("token: s3cr3t-token", "token: \"s3cr3t-token");
    let flow = "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"a\"}, \"data\": {\"hunter2\": \"x\", \"hunter2\": \"y\"}}\n";
    let list = |secret: &str| {
        format!(
            "apiVersion: v1\nkind: List\nitems:\n{}{}",
            item(DEPLOYMENT),
            item(secret)
        )
    };
    let resource_list = |secret: &str| {
        format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}{}",
            item(DEPLOYMENT),
            item(secret)
        )
    };
    for (what, input, exit) in [
        (
            "a duplicate key in a flow-style Secret",
            flow.to_string(),
            2,
        ),
        ("a duplicate key in a Secret in a List", list(&duplicate), 2),
        (
            "an unterminated quote in a Secret in a List",
            list(&unterminated),
            2,
        ),
        (
            "a duplicate key in a Secret in a ResourceList",
            resource_list(&duplicate),
            1,
        ),
        (
            "an unterminated quote in a Secret in a ResourceList",
            resource_list(&unterminated),
            1,
        ),
    ] {
        let (code, out, err) = common::gunj(&[], input.as_str());
        assert_eq!(code, exit, "{what}: {err}");
        assert!(err.contains("invalid YAML"), "{what}: {err}");
        assert_hidden(what, &err);
        if exit == 1 {
            // The KRM error result is the input plus the error: the items' values are the
            // user's own, the result's message must not repeat them.
            let results = &out[out.rfind("\nresults:").expect("results")..];
            assert_hidden(&format!("{what}: the results"), results);
        }
    }
}

/// Text shown on a terminal or in a log has no control character of the input: names,
/// namespaces, file names and annotation values are escaped, so none can start a new line
/// or an escape sequence.
fn assert_escaped(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\u{202e}'),
        "{what} has a raw control character: {text:?}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("FAKE")),
        "{what} has a line a name made: {text}"
    );
}

#[test]
fn names_with_control_characters_are_escaped_everywhere_they_are_shown() {
    let evil = DEPLOYMENT
        .replace(
            "  name: grafana\n  namespace: monitoring\n",
            "  name: \"gra\\e[31mfana\\nFAKE: injected\"\n  namespace: \"moni\\rtoring\\u202e\"\n  annotations:\n    postrenderer.helm.sh/postrender-filename: \"chart\\e]0;title\\a.yaml\"\n",
        );
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  mtls: {mode: STRICT}\n  authorization: {}\n---\n";
    let input = format!("{config}{evil}");
    for args in [
        &[][..],
        &["explain"],
        &["check"],
        &["check", "--output", "github"],
        &["check", "--diff"],
        &["flows"],
        &["flows", "--wide"],
    ] {
        let (_, out, err) = common::gunj(args, input.as_str());
        // The filter's stdout is the manifests, as they came.
        if !args.is_empty() {
            assert_escaped(&format!("{args:?} stdout"), &out);
        }
        assert_escaped(&format!("{args:?} stderr"), &err);
    }
    let (_, _, err) = common::gunj(&[], input.as_str());
    assert!(err.contains("gra\\u{1b}[31mfana\\nFAKE"), "{err}");
    // Errors: a label key, the source annotation, a file name.
    let bad = evil
        .replace(
            "      labels: {app.kubernetes.io/name: grafana}",
            "      labels: {app.kubernetes.io/name: grafana, \"x\\e[2J\\nFAKE\": 1}",
        )
        .replace(
            "\"chart\\e]0;title\\a.yaml\"",
            "chart\u{1b}]0;title\u{7}.yaml",
        );
    let (code, out, err) = common::gunj(&[], bad.as_str());
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert_escaped("an error", &err);
    assert!(err.contains("chart\\u{1b}]0;title\\u{7}.yaml"), "{err}");
    let dir = common::TempDir::new("secrets-names");
    dir.write("a\nFAKE\u{1b}[1m.yaml", &bad);
    let (code, _, err) = common::gunj(&[&dir.arg()], "");
    assert_eq!(code, 2, "{err}");
    assert_escaped("an error in a file", &err);
    dir.write("a\nFAKE\u{1b}[1m.yaml", DEPLOYMENT);
    for args in [&["check"][..], &["check", "--output", "github"]] {
        let mut args = args.to_vec();
        let path = dir.arg();
        args.push(&path);
        let (code, out, err) = common::gunj(&args, "");
        assert_eq!(code, 1, "{err}");
        assert_escaped(&format!("{args:?}"), &out);
    }
}

/// Every channel, for a Secret in every container the filter reads.
#[test]
fn no_channel_shows_a_secret_in_any_container() {
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  mtls: {mode: STRICT}\n  authorization: {networkPolicies: true}\n  observability: {tracing: {}}\n";
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}{}",
        item(DEPLOYMENT),
        item(SECRET)
    );
    let resource_list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n{}items:\n{}{}",
        indented(config),
        item(DEPLOYMENT),
        item(SECRET)
    );
    let dir = common::TempDir::new("secrets-channels");
    dir.write("a-mesh.yaml", config);
    dir.write("b-grafana.yaml", DEPLOYMENT);
    dir.write("c-secret.yaml", SECRET);
    let inputs: [(&str, String, Vec<String>); 4] = [
        (
            "a stream",
            format!("{config}---\n{DEPLOYMENT}---\n{SECRET}"),
            vec![],
        ),
        ("a List", format!("{config}---\n{list}"), vec![]),
        ("a ResourceList", resource_list, vec![]),
        ("a directory", String::new(), vec![dir.arg()]),
    ];
    let commands: [&[&str]; 13] = [
        &["-q"],
        &[],
        &["explain"],
        &["explain", "--output", "json"],
        &["check"],
        &["check", "--output", "json"],
        &["check", "--output", "sarif"],
        &["check", "--output", "github"],
        &["check", "--diff"],
        &["flows", "--wide"],
        &["flows", "--output", "json"],
        &["flows", "--output", "dot"],
        &["flows", "--output", "svg"],
    ];
    for (what, stdin, paths) in &inputs {
        for command in commands {
            let mut args: Vec<&str> = command.to_vec();
            args.extend(paths.iter().map(String::as_str));
            let (_, out, err) = common::gunj(&args, stdin.as_str());
            assert_hidden(&format!("{what}, {command:?}, stderr"), &err);
            // The filter's own output is the stream, Secrets included.
            if command.first().is_some_and(|c| !c.starts_with('-')) {
                assert_hidden(&format!("{what}, {command:?}, stdout"), &out);
            }
        }
    }
}
