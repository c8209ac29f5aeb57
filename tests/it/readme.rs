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
