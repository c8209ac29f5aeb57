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
        err.contains("the directory has no *.yaml or *.yml file"),
        "{err}"
    );
    dir.write("README.md", "# not yaml\n");
    let (code, _, err) = common::gunj(&["check", &dir.arg()], "");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the directory has no *.yaml or *.yml file"),
        "{err}"
    );
    assert!(err.contains("README.md"), "{err}");
}
