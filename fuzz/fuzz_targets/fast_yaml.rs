//! The fast YAML path against the full parser: whenever the fast path takes a text, the full
//! parser reads it too, to the same tree (spans, styles and values).
#![no_main]

use gunj_mesh::internals::yaml::{self, Limits, fast};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Some(quick) = fast::parse(text, Limits::default()) else {
        return;
    };
    let full = yaml::parse_full(text, Limits::default())
        .unwrap_or_else(|e| panic!("the fast path took a document the full parser rejects: {e}"))
        .expect("the fast path took an empty document");
    assert_eq!(
        format!("{quick:?}"),
        format!("{full:?}"),
        "the trees differ"
    );
});
