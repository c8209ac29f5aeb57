//! The validating scan against the parser: whatever the text, `yaml::check` passes what
//! `yaml::parse` reads and fails where it fails, with the same message, line and column,
//! under the default limits and tight ones.
#![no_main]

use gunj_mesh::internals::yaml::{Limits, check, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let tight = Limits {
        max_depth: 6,
        alias_budget: 12,
        max_key_length: 5,
        ..Limits::default()
    };
    for limits in [Limits::default(), tight] {
        assert_eq!(
            check(text, limits),
            parse(text, limits).map(|_| ()),
            "the scan and the parser differ ({limits:?})"
        );
    }
});
