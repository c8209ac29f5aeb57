//! The edit path: a pod template built from the input bytes (flow collections, anchors,
//! merge keys, tags, YAML 1.1 scalars) comes out parsing, meaning what it meant but for the
//! fields the filter sets, and unchanged by a second run. The property and the template
//! builder are `tests/it/common/edit_path.rs`, which the proptest in `tests/it/edits.rs`
//! runs too.
#![no_main]

#[path = "../../tests/it/common/edit_path.rs"]
mod edit_path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| edit_path::holds(data));
