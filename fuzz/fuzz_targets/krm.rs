//! The ResourceList reader (KRM function mode): whatever follows the ResourceList header,
//! the result is a ResourceList (with an error result when the input is bad), a second run
//! over a successful result changes no item, and a third changes nothing at all.
#![no_main]

use gunj_mesh::internals::{documents, is_resource_list};
use gunj_mesh::{Input, Options, run};
use libfuzzer_sys::fuzz_target;

const HEADER: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n";

fuzz_target!(|body: &str| {
    let inputs = [Input::new("-", format!("{HEADER}{body}"))];
    let options = Options::default();
    let docs = documents(&inputs, usize::MAX).unwrap();
    let first_doc = docs
        .iter()
        .find(|d| !d.header.empty)
        .expect("the header is content");
    if !is_resource_list(first_doc, options.limits) {
        return;
    }
    let first = run(&inputs, &options).expect("KRM mode reports errors as results");
    let output = [Input::new("-", first.output.text())];
    let out_docs = documents(&output, usize::MAX).unwrap();
    let out_doc = out_docs.iter().find(|d| !d.header.empty).expect("output");
    assert!(
        is_resource_list(out_doc, options.limits),
        "the output is not a ResourceList:\n{}",
        first.output.text()
    );
    if first.failure.is_none() {
        // The second run changes no item; its results (none) replace the first run's, and
        // from then on the output is a fixed point.
        let second = run(&output, &options).expect("KRM mode reports errors as results");
        assert!(second.failure.is_none(), "{:?}", second.failure);
        assert!(
            second.report.entries.iter().all(|e| !e.changed),
            "a second run changes an item"
        );
        let again = [Input::new("-", second.output.text())];
        let third = run(&again, &options).expect("KRM mode reports errors as results");
        assert_eq!(
            third.output.text(),
            second.output.text(),
            "not a fixed point"
        );
    }
});
