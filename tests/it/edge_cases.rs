//! Inputs at the edges of what the filter reads (issue #20, "Also"): the config file's size,
//! `type: auto` with nothing to decide from, what is and is not a List, directories.

use crate::common;
use crate::common::fixtures::GRAFANA_HELM as GRAFANA;

#[test]
fn a_config_file_over_a_mebibyte_is_refused_without_reading_it_whole() {
    let dir = common::TempDir::new("edge-config-size");
    let big = format!(
        "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec: {{type: istio}}\n{}",
        "# padding padding padding padding padding padding padding padding\n".repeat(20_000)
    );
    let config = dir.write("huge.yaml", &big);
    let (code, out, err) = common::gunj(&["-c", &config.display().to_string()], GRAFANA);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("huge.yaml"), "{err}");
    assert!(
        err.contains("the config is larger than 1048576 bytes"),
        "{err}"
    );
    assert!(err.contains("hint: is -c the right file?"), "{err}");
}

#[test]
fn a_directory_lists_what_it_skips_and_fails_on_what_it_cannot_read() {
    let dir = common::TempDir::new("edge-dir");
    dir.write("a.yaml", GRAFANA);
    dir.write("NOTES.txt", "not yaml\n");
    dir.write(".helmignore", "*.tgz\n");
    std::fs::create_dir(dir.arg() + "/sub").unwrap();
    dir.write("sub/b.yaml", GRAFANA);
    let (code, out, err) = common::gunj(&[&dir.arg()], "");
    assert_eq!(code, 0, "{err}");
    assert!(!out.is_empty());
    assert!(
        err.contains("note: skipped in ") && err.contains(".helmignore, NOTES.txt, sub/"),
        "{err}"
    );
    for command in [&["explain"][..], &["check"]] {
        let mut args = command.to_vec();
        let path = dir.arg();
        args.push(&path);
        let (_, _, err) = common::gunj(&args, "");
        assert!(err.contains("NOTES.txt"), "{command:?}: {err}");
        args.insert(1, "-q");
        let (_, _, err) = common::gunj(&args, "");
        assert!(!err.contains("NOTES.txt"), "{command:?} -q: {err}");
    }
    // A .yaml entry that cannot be read is an error, not a skip.
    std::os::unix::fs::symlink(dir.arg() + "/nowhere", dir.arg() + "/broken.yaml").unwrap();
    let (code, out, err) = common::gunj(&[&dir.arg()], "");
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("broken.yaml: cannot read"), "{err}");
}

#[test]
fn a_directory_without_yaml_files_is_an_error() {
    let dir = common::TempDir::new("edge-empty-dir");
    let (code, out, err) = common::gunj(&[&dir.arg()], "");
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("the directory has no *.yaml, *.yml or *.json file"),
        "{err}"
    );
    dir.write("README.md", "# not yaml\n");
    let (code, _, err) = common::gunj(&["check", &dir.arg()], "");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the directory has no *.yaml, *.yml or *.json file"),
        "{err}"
    );
    assert!(err.contains("README.md"), "{err}");
}

/// `doc` as an item of a block sequence indented by `indent` spaces.
fn item(doc: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let body = doc
        .trim_end()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(&format!("\n{pad}  "));
    format!("{pad}- {body}\n")
}

const ISTIO: &str = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n";

#[test]
fn a_custom_resource_whose_kind_ends_in_list_is_an_object_not_a_list() {
    // A CR with an `items` field: its items are data, not objects to put in the mesh.
    let input = format!(
        "apiVersion: example.com/v1\nkind: AllowList\nmetadata:\n  name: callers\nitems:\n{}",
        item(GRAFANA, 0)
    );
    let (code, out, err) = common::gunj(&["--mesh", "istio"], input.as_str());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, input);
    // A typed list such as DeploymentList has list metadata, without a name.
    let typed = input.replace(
        "kind: AllowList\nmetadata:\n  name: callers\n",
        "kind: DeploymentList\nmetadata:\n  resourceVersion: \"1\"\n",
    );
    let (code, out, err) = common::gunj(&["--mesh", "istio"], typed.as_str());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sidecar.istio.io/inject"), "{out}");
}

#[test]
fn lists_inside_lists_are_read_in_streams_and_resource_lists() {
    let inner = format!("apiVersion: v1\nkind: List\nitems:\n{}", item(GRAFANA, 0));
    let list = format!("apiVersion: v1\nkind: List\nitems:\n{}", item(&inner, 0));
    let (code, out, err) = common::gunj(&["--mesh", "istio"], list.as_str());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("deployment monitoring/grafana: injected (istio sidecar)"),
        "{err}"
    );
    let added: Vec<&str> = out.lines().filter(|l| !list.contains(l)).collect();
    assert_eq!(
        added,
        ["            sidecar.istio.io/inject: \"true\""],
        "{out}"
    );
    let (code, out, _) = common::gunj(&["explain", "--mesh", "istio"], list.as_str());
    assert_eq!(code, 0);
    assert!(out.contains("\n1[0][0] "), "{out}");
    let resource_list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}",
        item(&inner, 0)
    );
    let (code, out, err) = common::gunj(&["--mesh", "istio"], resource_list.as_str());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sidecar.istio.io/inject: \"true\""), "{out}");
    assert!(
        out.contains("resourceRef:\n    apiVersion: apps/v1\n    kind: Deployment"),
        "{out}"
    );
}

#[test]
fn a_service_mesh_config_inside_a_list_is_an_error_not_ignored() {
    let linkerd = ISTIO.replace("istio", "linkerd");
    let list = format!(
        "# Source: mesh/list.yaml\napiVersion: v1\nkind: List\nitems:\n{}{}",
        item(&linkerd, 0),
        item(GRAFANA, 0)
    );
    for (what, input, exit, place) in [
        ("a List", list.clone(), 2, "line 5, column 3"),
        (
            "a List in a ResourceList",
            format!(
                "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}",
                item(&list, 0)
            ),
            1,
            "line 7, column 5",
        ),
    ] {
        let (code, out, err) = common::gunj(&["--mesh", "istio"], input.as_str());
        assert_eq!(code, exit, "{what}: {err}");
        assert!(
            err.contains(&format!("{place}: a ServiceMesh config inside a List")),
            "{what}: {err}"
        );
        assert!(err.contains("a document of its own"), "{what}: {err}");
        if exit == 2 {
            assert!(out.is_empty(), "{what}: {out}");
            assert!(err.contains("(mesh/list.yaml)"), "{err}");
        }
    }
}

#[test]
fn type_auto_with_nothing_to_decide_from_passes_the_stream_through_with_a_note() {
    const NOTE: &str = "note: type: auto found neither Istio nor Linkerd, and the stream has no workload or Namespace to put in a mesh: nothing changed";
    let config_map =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n";
    for (what, input) in [("an empty stream", ""), ("ConfigMaps only", config_map)] {
        let (code, out, err) = common::gunj(&["--mesh", "auto"], input);
        assert_eq!(code, 0, "{what}: {err}");
        assert_eq!(out, input, "{what}");
        assert_eq!(err.trim_end(), NOTE, "{what}");
        let (code, out, _) = common::gunj(&["explain", "--mesh", "auto"], input);
        assert_eq!(code, 0, "{what}");
        assert!(out.contains(NOTE), "{what}: {out}");
    }
    // KRM: the note is a warning result.
    let resource_list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: fc\n  data:\n    type: auto\n",
        item(config_map, 0)
    );
    let (code, out, err) = common::gunj(&[], resource_list.as_str());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(&format!(
            "results:\n- message: \"{}\"\n  severity: warning\n",
            &NOTE["note: ".len()..]
        )),
        "{out}"
    );
    // `enabled: false` needs no mesh, auto or not.
    let disabled = format!(
        "{}  enabled: false\n  type: auto\n---\n{GRAFANA}",
        &ISTIO[..ISTIO.find("  type").unwrap()]
    );
    let (code, out, err) = common::gunj(&[], disabled.as_str());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("---\n{GRAFANA}"));
    // A workload is something to decide for: auto without evidence takes the default
    // mesh, and says so.
    let (code, out, err) = common::gunj(&["--mesh", "auto"], GRAFANA);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sidecar.istio.io/inject: \"true\""), "{out}");
    assert!(
        err.contains("note: type: auto found neither Istio nor Linkerd in the stream: using the default, istio; set spec.type (or pass --mesh) to choose"),
        "{err}"
    );
    // Both is ambiguous: it fails, naming the field.
    let both = GRAFANA.replace(
        "metadata:\n  name: grafana",
        "metadata:\n  name: grafana\n  annotations:\n    linkerd.io/inject: enabled\n    sidecar.istio.io/inject: \"true\"",
    );
    assert_ne!(both, GRAFANA);
    let (code, out, err) = common::gunj(&["--mesh", "auto"], both.as_str());
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("found both Istio and Linkerd"), "{err}");
}
