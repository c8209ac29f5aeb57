//! The fidelity contract as properties over generated streams: workloads that get injected,
//! ConfigMaps with strings YAML 1.1 reads as something else, comments, CRLF, `...` markers
//! and Lists. For every stream: no document is lost or added, documents the filter does
//! not change come out byte for byte, changed ones keep their comments, a second pass
//! changes nothing (a ResourceList's results included), and two runs agree.

use gunj_mesh::MeshType;
use gunj_mesh::Report;
use gunj_mesh::internals::documents;
use gunj_mesh::{Input, Options, run};
use gunj_mesh::{read_file, read_whole};
use proptest::prelude::*;

/// Components the catalog knows, and one it does not.
const APPS: [&str; 6] = [
    "grafana",
    "loki",
    "tempo",
    "prometheus",
    "otel-collector",
    "my-app",
];
const KINDS: [&str; 5] = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"];
/// ConfigMap values a YAML 1.1 reader would not take as strings (or would change).
const TRICKY: [&str; 10] = [
    "on",
    "yes",
    "no",
    "off",
    "0755",
    "2024-01-01",
    "~",
    "1e3",
    "'on'",
    "\"0x1F\"",
];

/// A pod template at `indent` spaces, with an optional existing mesh setting and comment.
fn pod_template(indent: usize, app: &str, preset: u8, comment: bool) -> String {
    let pad = " ".repeat(indent);
    let mut labels = format!("{pad}      app.kubernetes.io/name: {app}\n");
    match preset {
        1 => labels.push_str(&format!("{pad}      sidecar.istio.io/inject: \"true\"\n")),
        2 => labels.push_str(&format!("{pad}      sidecar.istio.io/inject: \"false\"\n")),
        _ => {}
    }
    let note = if comment {
        format!("{pad}  # the pod template\n")
    } else {
        String::new()
    };
    format!(
        "{pad}template:\n{note}{pad}  metadata:\n{pad}    labels:\n{labels}{pad}  spec:\n{pad}    containers:\n{pad}    - name: main # the app\n{pad}      image: example.org/{app}:1.0\n"
    )
}

fn workload(kind: &str, name: &str, app: &str, preset: u8, comment: bool) -> String {
    let spec = if kind == "CronJob" {
        format!(
            "spec:\n  schedule: \"@daily\"\n  jobTemplate:\n    spec:\n{}",
            pod_template(6, app, preset, comment)
        )
    } else {
        format!("spec:\n{}", pod_template(2, app, preset, comment))
    };
    let api = if kind.ends_with("Job") {
        "batch/v1"
    } else {
        "apps/v1"
    };
    format!(
        "# Source: chart/templates/{name}.yaml\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: monitoring\n{spec}"
    )
}

fn config_map(name: &str, values: &[usize]) -> String {
    let mut s = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
    for (i, v) in values.iter().enumerate() {
        s.push_str(&format!("  k{i}: {}\n", TRICKY[*v % TRICKY.len()]));
    }
    s.push_str("  script: |\n    set -e\n    echo \"...\"\n");
    s
}

/// `doc` as an item of a block sequence at column 0, without its top-level comments.
fn item(doc: &str) -> String {
    doc.lines()
        .filter(|l| !l.starts_with('#'))
        .enumerate()
        .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
        .collect()
}

fn list(name: &str, app: &str) -> String {
    let item = item(&workload("Deployment", name, app, 0, false));
    format!("apiVersion: v1\nkind: List\nitems:\n{item}")
}

/// One generated document (without its boundary line).
fn document() -> impl Strategy<Value = String> {
    let name = "[a-z]{1,8}";
    prop_oneof![
        4 => (0..KINDS.len(), name, 0..APPS.len(), 0u8..3, any::<bool>())
            .prop_map(|(k, n, a, p, c)| workload(KINDS[k], &n, APPS[a], p, c)),
        3 => (name, prop::collection::vec(0..TRICKY.len(), 1..6))
            .prop_map(|(n, v)| config_map(&n, &v)),
        1 => (name, 0..APPS.len()).prop_map(|(n, a)| list(&n, APPS[a])),
        1 => Just("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n".to_string()),
        1 => Just("# nothing but a comment\n".to_string()),
    ]
}

/// A stream: documents joined by `---`, `...` + `---` or `--- # comment`, maybe in CRLF.
fn stream() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((document(), 0u8..3), 1..8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(docs, crlf, trailing_newline)| {
            let mut s = String::new();
            for (i, (doc, sep)) in docs.iter().enumerate() {
                if i > 0 {
                    s.push_str(match sep {
                        0 => "---\n",
                        1 => "...\n---\n",
                        _ => "--- # next\n",
                    });
                }
                s.push_str(doc);
            }
            if !trailing_newline {
                s.pop();
            }
            if crlf { s.replace('\n', "\r\n") } else { s }
        })
}

/// A KRM ResourceList whose items are generated documents.
fn resource_list() -> impl Strategy<Value = String> {
    prop::collection::vec(document(), 1..6).prop_map(|docs| {
        let items: String = docs.iter().map(|d| item(d)).collect();
        format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{items}")
    })
}

/// The output text and report of one run.
struct Filtered {
    output: String,
    report: Report,
}

fn filter(text: &str, mesh: MeshType) -> Filtered {
    filter_listing(text, mesh, false)
}

/// [`filter`], with `changes` listed in the report or not.
fn filter_listing(text: &str, mesh: MeshType, changes: bool) -> Filtered {
    let inputs = [Input::new("-", text.to_string())];
    let options = Options {
        mesh: Some(mesh),
        list_changes: changes,
        ..Options::default()
    };
    let outcome = run(&inputs, &options).unwrap_or_else(|f| panic!("{f}\n{text}"));
    assert!(outcome.failure.is_none());
    Filtered {
        output: outcome.output.text(),
        report: outcome.report,
    }
}

/// The output and report of one run over `text` written to a file and read back whole, or
/// sparsely through a buffer of `chunk` bytes.
fn filter_file(text: &str, mesh: MeshType, chunk: Option<usize>) -> (String, String) {
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("property-{n}.yaml"));
    std::fs::write(&path, text).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let input = match chunk {
        Some(chunk) => read_file("s.yaml", file, usize::MAX, chunk, Default::default()),
        None => read_whole("s.yaml", file, 0, usize::MAX),
    };
    let options = Options {
        mesh: Some(mesh),
        ..Options::default()
    };
    let inputs = [input.unwrap()];
    let outcome = run(&inputs, &options).unwrap_or_else(|f| panic!("{f}\n{text}"));
    let result = (
        outcome.output.text(),
        serde_json::to_string(&outcome.report).unwrap(),
    );
    std::fs::remove_file(path).unwrap();
    result
}

fn mesh() -> impl Strategy<Value = MeshType> {
    prop_oneof![Just(MeshType::Istio), Just(MeshType::Linkerd)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_document_is_lost_and_untouched_ones_are_byte_identical(text in stream(), mesh in mesh()) {
        let out = filter(&text, mesh);
        let input = [Input::new("-", text.clone())];
        let output = [Input::new("-", out.output.clone())];
        let (before, after) = (documents(&input, usize::MAX).unwrap(), documents(&output, usize::MAX).unwrap());
        prop_assert_eq!(before.len(), after.len(), "documents lost or added:\n{}", out.output);
        for (b, a) in before.iter().zip(&after) {
            let changed = out.report.entries.iter().any(|e| e.changed && e.document == b.number);
            if b.header.empty || !changed {
                prop_assert_eq!(b.text, a.text);
            } else {
                for comment in b.text.lines().filter(|l| l.trim_start().starts_with('#')) {
                    prop_assert!(a.text.contains(comment), "lost {:?}:\n{}", comment, a.text);
                }
            }
        }
        // The generator does make streams with something to do.
        let injectable = !text.contains("sidecar.istio.io/inject")
            && APPS[..4].iter().any(|a| {
                let label = format!("app.kubernetes.io/name: {a}");
                text.contains(&format!("{label}\n")) || text.contains(&format!("{label}\r\n"))
            });
        if injectable {
            prop_assert!(out.report.entries.iter().any(|e| e.changed), "nothing injected:\n{}", text);
        }
        if text.contains("\r\n") {
            prop_assert!(!out.output.replace("\r\n", "").contains('\n'), "a bare LF in a CRLF stream");
        }
    }

    #[test]
    fn a_second_pass_changes_nothing(text in stream(), mesh in mesh()) {
        let once = filter(&text, mesh).output;
        let twice = filter(&once, mesh);
        prop_assert_eq!(&twice.output, &once);
        prop_assert!(twice.report.entries.iter().all(|e| !e.changed));
    }

    #[test]
    fn a_resource_list_is_a_fixed_point(text in resource_list(), mesh in mesh()) {
        let once = filter(&text, mesh).output;
        prop_assert_eq!(filter(&once, mesh).output, once);
    }

    #[test]
    fn listing_the_changes_changes_nothing_else(text in stream(), mesh in mesh()) {
        let (listed, counted) = (filter_listing(&text, mesh, true), filter_listing(&text, mesh, false));
        prop_assert_eq!(&listed.output, &counted.output);
        prop_assert_eq!(listed.report.entries.len(), counted.report.entries.len());
        for (l, c) in listed.report.entries.iter().zip(&counted.report.entries) {
            prop_assert_eq!(l.changed, !l.changes.is_empty(), "{:?}", l);
            prop_assert!(c.changes.is_empty());
            prop_assert_eq!((l.changed, l.action, &l.detail), (c.changed, c.action, &c.detail));
        }
    }

    #[test]
    fn two_runs_agree(text in stream(), mesh in mesh()) {
        let (a, b) = (filter(&text, mesh), filter(&text, mesh));
        prop_assert_eq!(a.output, b.output);
        prop_assert_eq!(
            serde_json::to_string(&a.report).unwrap(),
            serde_json::to_string(&b.report).unwrap()
        );
    }

    #[test]
    fn a_file_read_sparsely_gives_what_it_gives_read_whole(
        text in stream(), mesh in mesh(), chunk in 1usize..600,
    ) {
        prop_assert_eq!(filter_file(&text, mesh, Some(chunk)), filter_file(&text, mesh, None));
    }
}
