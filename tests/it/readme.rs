//! The README's config reference is generated from the config types; this keeps them equal.
//! `UPDATE_README=1 cargo test --test it readme::` rewrites the block.

use crate::common;

const BEGIN: &str = "<!-- config-reference:begin -->\n";
const END: &str = "<!-- config-reference:end -->";

#[test]
fn readme_config_reference_is_generated_from_the_types() {
    let path = common::repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README has the config-reference markers")
        + BEGIN.len();
    let end = readme.find(END).expect("README has the end marker");
    let generated = gunj_mesh::reference();
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(
            &path,
            format!("{}{generated}{}", &readme[..start], &readme[end..]),
        )
        .unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        generated,
        "README config reference is stale: run UPDATE_README=1 cargo test --test it readme::"
    );
}

/// The README's picture of kube-prometheus's traffic graph is what `gunj-mesh flows` draws
/// today. `UPDATE_README=1 cargo test --test it readme::` redraws it.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn readme_traffic_graph_picture_is_drawn_by_the_flows_command() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let repo = common::repo();
    let out = common::gunj_cmd()
        .args(["flows", "--output", "svg", "-c"])
        .arg(repo.join("examples/istio-advanced.yaml"))
        .arg(corpus.join("kube-prometheus"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let picture = repo.join("docs/traffic-graph.svg");
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&picture, &out.stdout).unwrap();
        return;
    }
    let committed = std::fs::read(&picture).unwrap();
    assert!(
        committed == out.stdout,
        "docs/traffic-graph.svg is stale: run UPDATE_README=1 cargo test --test it readme::"
    );
}
