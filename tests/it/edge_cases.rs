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
