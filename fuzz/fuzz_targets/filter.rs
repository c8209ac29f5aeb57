//! The document editor, end to end: whatever the stream, the filter errors or its output
//! reads back, a second pass changes nothing, two runs agree, and every document it did not
//! change comes out byte for byte.
#![no_main]

use gunj_mesh::internals::{documents, is_resource_list};
use gunj_mesh::{GeneratedAction, Input, Options, run};
use libfuzzer_sys::fuzz_target;

/// Configs the first input byte chooses from (besides the embedded default).
const CONFIGS: [&str; 5] = [
    "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: linkerd\n  linkerd:\n    proxy:\n      cpuRequest: 10m\n      opaquePorts: \"7946\"\n",
    "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  hooks: inject\n  istio:\n    revision: canary\n  namespaces: [monitoring]\n",
    "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  istio:\n    mode: ambient\n  injection:\n    respectOptOut: false\n    nativeSidecars: false\n",
    // Every policy and telemetry section, in each mesh: generated documents and Service edits.
    "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  mtls: {mode: STRICT, portExceptions: [9090]}\n  trafficManagement: {retries: {attempts: 2}, timeout: 5s, circuitBreaker: {consecutiveErrors: 3}}\n  authorization: {defaultDeny: true, networkPolicies: true}\n  observability: {accessLogs: {}, dashboards: {}}\n",
    "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: linkerd\n  trafficManagement: {retries: {attempts: 2}, timeout: 5s}\n  authorization: {defaultDeny: true}\n  multiCluster: {enabled: true, exportServices: [loki]}\n  observability: {dashboards: {}}\n",
];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let options = Options {
        config: CONFIGS
            .get(usize::from(choice % 6))
            .map(|c| Input::new("config", c.to_string())),
        namespace: (choice & 8 != 0).then(|| "monitoring".into()),
        ..Options::default()
    };
    let inputs = [Input::new("-", text.to_string())];
    let Ok(first) = run(&inputs, &options) else {
        return;
    };
    let again = run(&inputs, &options).expect("a second run fails where the first passed");
    assert_eq!(again.output.text(), first.output.text(), "two runs differ");
    if first.failure.is_some() {
        return;
    }
    // A ServiceMesh document in the stream is consumed: the second pass would use another
    // config.
    if options.config.is_none() && text.contains("ServiceMesh") {
        return;
    }
    let output = [Input::new("-", first.output.text())];
    let second = run(&output, &options)
        .unwrap_or_else(|f| panic!("the output does not read back: {f}\n{}", output[0].text));
    assert!(second.failure.is_none(), "{:?}", second.failure);
    assert!(
        second.report.entries.iter().all(|e| !e.changed),
        "a second pass changes something"
    );
    let (before, after) = (
        documents(&inputs, usize::MAX).unwrap(),
        documents(&output, usize::MAX).unwrap(),
    );
    let krm = before
        .iter()
        .find(|d| !d.header.empty)
        .is_some_and(|d| is_resource_list(d, options.limits));
    if krm {
        // KRM results describe one run: the second replaces them, the third is a fixed point.
        let again = [Input::new("-", second.output.text())];
        let third = run(&again, &options).expect("a third pass fails");
        assert_eq!(
            third.output.text(),
            second.output.text(),
            "not a fixed point"
        );
        return;
    }
    assert_eq!(
        second.output.text(),
        output[0].text,
        "a second pass changes the output"
    );
    if text.contains("ServiceMesh") {
        return;
    }
    // Generated resources are appended after the input's documents.
    let generated = first
        .report
        .generated
        .iter()
        .filter(|g| g.action == GeneratedAction::Generate)
        .count();
    assert_eq!(
        before.len() + generated,
        after.len(),
        "documents were lost or added"
    );
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        // Appending ends the last line of a stream that lacked a final newline.
        let appended_after = generated > 0 && i + 1 == before.len();
        if b.text != a.text && !(appended_after && a.text.strip_suffix('\n') == Some(b.text)) {
            let changed = !b.header.empty
                && first
                    .report
                    .entries
                    .iter()
                    .any(|e| e.changed && e.document == b.number);
            assert!(
                changed,
                "document {} changed but is not reported as changed",
                b.number
            );
        }
    }
});
