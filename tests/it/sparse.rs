//! Reading a file sparsely ([`gunj_mesh::read_file`], the filter's path for regular
//! files) changes nothing: the same output, report and errors as reading it whole, whatever
//! the buffer size, while the documents the filter never reads stay in the file.

use crate::common;
use crate::common::fixtures::GRAFANA_HELM_WITH_SELECTOR_AND_PORT as GRAFANA;

use gunj_mesh::MeshType;
use gunj_mesh::internals::yaml::Limits;
use gunj_mesh::{Input, Options};
use gunj_mesh::{read_file, read_whole};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Buffer sizes: one byte (every line and character cut), odd small ones, and the binary's.
const CHUNKS: [usize; 4] = [1, 7, 4096, 1 << 20];

const SERVICE: &str = "# Source: grafana/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: grafana
  namespace: monitoring
spec:
  selector:
    app.kubernetes.io/name: grafana
  ports:
  - port: 80
    targetPort: 3000
";

/// A dashboard ConfigMap with lines that look like boundaries but are not (the keys `----`
/// and `---x`), non-ASCII text, and `on`/`yes` strings.
const DASHBOARD: &str = "# Source: grafana/templates/dashboards.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: dashboards
  namespace: monitoring
data:
  a.json: |
    {\"title\": \"Überblick — ½ 🚀\",
    \"refresh\": \"on\", \"x\": \"yes\"}
----: not a boundary
---x: nor this
";

const RULE: &str = "# Source: prometheus/templates/rules.yaml
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: rules
  namespace: monitoring
spec:
  groups: []
";

fn dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sparse");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `bytes` to a file of that name (unique per test: tests run in parallel).
fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn options(mesh: Option<MeshType>) -> Options {
    Options {
        mesh,
        ..Options::default()
    }
}

/// What a run gives: the output, the report as JSON, or the error as the user reads it.
fn outcome(inputs: &[Input], options: &Options) -> Result<(String, String), String> {
    let outcome = gunj_mesh::run(inputs, options).map_err(|f| f.to_string())?;
    Ok((
        outcome.output.text(),
        serde_json::to_string(&outcome.report).unwrap(),
    ))
}

/// Runs the files read whole and read sparsely with every buffer size, and asserts the
/// same result, and the same sparse read (kept text, runs left, their `apiVersion`s)
/// whatever the buffer. Returns how many documents the read left in the files.
fn same_as_whole(files: &[(&str, &[u8])], options: &Options) -> usize {
    let paths: Vec<_> = files.iter().map(|(n, b)| (*n, file(n, b))).collect();
    let whole: Result<Vec<Input>, _> = paths
        .iter()
        .map(|(n, p)| read_whole(n, File::open(p).unwrap(), 0, usize::MAX))
        .collect();
    let expected = whole
        .map_err(|f| f.to_string())
        .and_then(|inputs| outcome(&inputs, options));
    let mut read = None;
    for chunk in CHUNKS {
        let sparse: Result<Vec<Input>, _> = paths
            .iter()
            .map(|(n, p)| read_file(n, File::open(p).unwrap(), usize::MAX, chunk, options.limits))
            .collect();
        if let Ok(inputs) = &sparse {
            let this: Vec<_> = inputs
                .iter()
                .map(|i| {
                    let versions = i.left.as_ref().map(|l| l.api_versions.clone());
                    (i.text.clone(), i.runs().to_vec(), versions)
                })
                .collect();
            if let Some(first) = &read {
                assert_eq!(&this, first, "{:?}, chunk {chunk}", files[0].0);
            }
            read = Some(this);
        }
        let got = sparse
            .map_err(|f| f.to_string())
            .and_then(|inputs| outcome(&inputs, options));
        assert_eq!(got, expected, "{:?}, chunk {chunk}", files[0].0);
    }
    read.iter()
        .flatten()
        .flat_map(|(_, runs, _)| runs)
        .map(|r| r.docs)
        .sum()
}

fn stream(parts: &[&str]) -> String {
    parts.join("---\n")
}

#[test]
fn documents_the_filter_never_reads_stay_in_the_file() {
    let text = stream(&[DASHBOARD, GRAFANA, RULE, DASHBOARD, SERVICE, DASHBOARD]);
    let left = same_as_whole(
        &[("s.yaml", text.as_bytes())],
        &options(Some(MeshType::Istio)),
    );
    assert_eq!(
        left, 4,
        "three dashboards and the rule are left in the file"
    );
    let input = read_file(
        "s.yaml",
        File::open(dir().join("s.yaml")).unwrap(),
        1 << 20,
        64,
        Limits::default(),
    )
    .unwrap();
    assert_eq!(input.text, format!("---\n{GRAFANA}---\n{SERVICE}"));
    assert_eq!(input.bytes(), text.len());
    let runs = input.runs();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!((runs[0].at, runs[0].offset, runs[0].docs), (0, 0, 1));
    assert!(!runs[0].opens_itself && runs[1].opens_itself && runs[2].ends_line);
    assert_eq!(
        runs[1].docs, 2,
        "the rule and the dashboard after it are one run"
    );
    assert_eq!(
        runs[1].lines,
        RULE.lines().count() + DASHBOARD.lines().count() + 2
    );
}

#[test]
fn the_edges_of_a_stream_read_alike() {
    let istio = options(Some(MeshType::Istio));
    let cases: Vec<(&str, String)> = vec![
        ("bom", format!("\u{feff}{}", stream(&[DASHBOARD, GRAFANA]))),
        (
            "crlf",
            stream(&[DASHBOARD, GRAFANA, SERVICE, RULE]).replace('\n', "\r\n"),
        ),
        (
            "no-final-newline-left",
            stream(&[GRAFANA, DASHBOARD.trim_end()]),
        ),
        (
            "no-final-newline-kept",
            stream(&[DASHBOARD, GRAFANA.trim_end()]),
        ),
        (
            "dots",
            format!("{DASHBOARD}...\n---\n{GRAFANA}...\n# trailing comment\n"),
        ),
        (
            "comments",
            stream(&["# only a comment\n", DASHBOARD, "\n", GRAFANA, "# end\n"]),
        ),
        (
            "boundary-comment",
            format!("--- # first\n{DASHBOARD}--- # second\n{GRAFANA}"),
        ),
        (
            "flow-on-boundary",
            format!("{DASHBOARD}--- {{kind: ConfigMap, apiVersion: v1}}\n---\n{GRAFANA}"),
        ),
        (
            "starts-with-marker",
            format!("---\n{}", stream(&[RULE, GRAFANA, RULE])),
        ),
        ("all-left", stream(&[DASHBOARD, RULE])),
        ("empty", String::new()),
        (
            "config-in-stream",
            stream(&[
                RULE,
                "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: linkerd\n",
                DASHBOARD,
                GRAFANA,
            ]),
        ),
        (
            "resource-list-first",
            format!(
                "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n---\n{DASHBOARD}"
            ),
        ),
        (
            "tab-error-after-left-documents",
            stream(&[
                DASHBOARD,
                RULE,
                &GRAFANA.replace("  name: grafana", "\tname: grafana"),
            ]),
        ),
        (
            "not-a-mapping-after-left-documents",
            stream(&[DASHBOARD, DASHBOARD, "- a\n- b\n"]),
        ),
    ];
    for (name, text) in &cases {
        same_as_whole(&[(name, text.as_bytes())], &istio);
    }
}

/// The error a run over `files`, read sparsely with the binary's buffer, fails with.
fn sparse_error(files: &[(&str, &str)], options: &Options) -> String {
    let inputs: Vec<Input> = files
        .iter()
        .map(|(n, text)| {
            let path = file(n, text.as_bytes());
            read_file(
                n,
                File::open(path).unwrap(),
                usize::MAX,
                1 << 18,
                options.limits,
            )
            .unwrap()
        })
        .collect();
    outcome(&inputs, options).unwrap_err()
}

/// Documents the filter leaves in the file are checked as they stream past: one that is not
/// well-formed YAML within the limits fails the run as it does when the file is read whole,
/// with its document number and line, whichever input it is in.
#[test]
fn documents_left_in_the_file_are_checked() {
    let istio = options(Some(MeshType::Istio));
    let broken = DASHBOARD.replace("  a.json: |", "  b: [x\n  a.json: |");
    let mut bomb = String::from("  a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let items = vec![format!("*a{}", i - 1); 9].join(", ");
        bomb.push_str(&format!("  a{i}: &a{i} [{items}]\n"));
    }
    let bomb = RULE.replace("  groups: []\n", &format!("  groups: []\n{bomb}"));
    let cr = "# Source: grafana/templates/cm.yaml\rapiVersion: v1\rkind: ConfigMap\r";
    let repeated = RULE.replace("spec:", "spec: {}\nspec:");
    // Each case: the document, and where its error is: a line (the first one holding
    // `after`, plus `lines`), a column and the message.
    let cases = [
        (
            "syntax",
            broken.as_str(),
            ("  b: [x", 1, 9),
            "illegal placement of ':'",
        ),
        ("bomb", &bomb, ("  a5:", 0, 12), "alias expansion exceeds"),
        (
            "cr",
            cr,
            ("# Source: grafana/templates/cm", 0, 36),
            "a carriage return",
        ),
        (
            "repeated",
            &repeated,
            ("spec: {}", 1, 1),
            "duplicate key `spec`",
        ),
    ];
    for (name, bad, (after, lines, column), message) in cases {
        let text = stream(&[GRAFANA, DASHBOARD, bad, SERVICE]);
        same_as_whole(&[(name, text.as_bytes())], &istio);
        let line = text[..text.find(after).unwrap()].lines().count() + 1 + lines;
        let error = sparse_error(&[(name, &text)], &istio);
        assert!(error.starts_with("document 3 ("), "{name}: {error}");
        let place = format!("line {line}, column {column}: invalid YAML: {message}");
        assert!(error.contains(&place), "{name}: {error}\nnot at {place}");
    }
    let first = stream(&[GRAFANA, DASHBOARD]);
    let second = stream(&[DASHBOARD, &broken]);
    same_as_whole(
        &[
            ("one.yaml", first.as_bytes()),
            ("two.yaml", second.as_bytes()),
        ],
        &istio,
    );
    let error = sparse_error(&[("one.yaml", &first), ("two.yaml", &second)], &istio);
    let line = second[..second.find("  b: [x").unwrap()].lines().count() + 2;
    // Documents are numbered per file.
    let place = format!("document 2 (two.yaml: grafana/templates/dashboards.yaml), line {line},");
    assert!(error.starts_with(&place), "{error}");
}

#[test]
fn several_inputs_keep_their_order_and_separators() {
    let istio = options(Some(MeshType::Istio));
    let a = stream(&[GRAFANA, DASHBOARD.trim_end()]);
    let b = stream(&[DASHBOARD, SERVICE]);
    let c = format!("---\n{DASHBOARD}");
    let d = format!("{}\n", SERVICE.trim_end());
    same_as_whole(
        &[("a.yaml", a.as_bytes()), ("b.yaml", b.as_bytes())],
        &istio,
    );
    same_as_whole(
        &[("a.yaml", a.as_bytes()), ("c.yaml", c.as_bytes())],
        &istio,
    );
    same_as_whole(
        &[
            ("c.yaml", c.as_bytes()),
            ("d.yaml", d.as_bytes()),
            ("b.yaml", b.as_bytes()),
        ],
        &istio,
    );
}

#[test]
fn api_versions_of_left_documents_still_count() {
    // `type: auto` finds Istio by a resource the filter never reads ...
    let peer = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n  namespace: istio-system\nspec:\n  mtls:\n    mode: STRICT\n";
    let text = stream(&[peer, GRAFANA, SERVICE]);
    same_as_whole(&[("auto.yaml", text.as_bytes())], &options(None));
    // ... and the prometheus-operator by a PrometheusRule, which turns on ServiceMonitors.
    let config = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  observability: {}\n";
    let text = stream(&[RULE, config, GRAFANA, SERVICE]);
    assert_eq!(
        same_as_whole(&[("operator.yaml", text.as_bytes())], &options(None)),
        1
    );
    let path = dir().join("operator.yaml");
    let inputs = [read_file(
        "operator.yaml",
        File::open(path).unwrap(),
        usize::MAX,
        64,
        Limits::default(),
    )
    .unwrap()];
    let (out, _) = outcome(&inputs, &options(None)).unwrap();
    assert!(out.contains("kind: PodMonitor"), "{out}");
}

#[test]
fn read_errors_name_the_same_byte() {
    let istio = options(Some(MeshType::Istio));
    let mut bad = stream(&[GRAFANA, DASHBOARD, SERVICE]).into_bytes();
    let at = bad.len() - SERVICE.len() - 10;
    bad[at] = 0xFF;
    same_as_whole(&[("utf8-in-a-left-document.yaml", &bad)], &istio);
    let mut cut = stream(&[DASHBOARD, GRAFANA]).into_bytes();
    cut.truncate(DASHBOARD.find('Ü').unwrap() + 1);
    same_as_whole(&[("cut-character.yaml", &cut)], &istio);
    same_as_whole(&[("utf16.yaml", b"\xFF\xFEk\0i\0")], &istio);
    let limited = Options {
        limits: Limits {
            max_documents: 3,
            ..Default::default()
        },
        ..options(Some(MeshType::Istio))
    };
    let many = stream(&[DASHBOARD, DASHBOARD, GRAFANA, DASHBOARD]);
    same_as_whole(&[("many.yaml", many.as_bytes())], &limited);
    // The size limit holds before anything is parsed, as a whole read's does.
    let path = file("large.yaml", many.as_bytes());
    let whole = read_whole("large.yaml", File::open(&path).unwrap(), 0, 100).unwrap_err();
    let sparse = read_file(
        "large.yaml",
        File::open(&path).unwrap(),
        100,
        7,
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(sparse.to_string(), whole.to_string());
    // Also when a byte before the limit is not UTF-8 (found by review).
    let path = file("large-bad.yaml", b"\xFFaaaaaaaaaaaaaaaaaaaa");
    let whole = read_whole("large-bad.yaml", File::open(&path).unwrap(), 0, 10).unwrap_err();
    let sparse = read_file(
        "large-bad.yaml",
        File::open(&path).unwrap(),
        10,
        4,
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(sparse.to_string(), whole.to_string());
}

#[test]
fn a_file_rewritten_while_it_is_read_is_an_error_not_a_torn_output() {
    let text = stream(&[DASHBOARD, GRAFANA, DASHBOARD]);
    let path = file("rewritten.yaml", text.as_bytes());
    let input = read_file(
        "rewritten.yaml",
        File::open(&path).unwrap(),
        usize::MAX,
        1 << 20,
        Limits::default(),
    )
    .unwrap();
    let inputs = [input];
    let outcome = gunj_mesh::run(&inputs, &options(Some(MeshType::Istio))).unwrap();
    let mut fine = Vec::new();
    outcome.output.write_to(&mut fine).unwrap();
    // Rewritten in place, shorter: the copy comes up short.
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let err = outcome.output.write_to(&mut Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("changed while gunj-mesh was reading it"),
        "{err}"
    );
    // Rewritten in place, same length: the stamp check at the end says so.
    std::fs::write(&path, text.replace("grafana", "GRAFANA")).unwrap();
    let err = outcome.output.write_to(&mut Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("changed while gunj-mesh was reading it"),
        "{err}"
    );
}

#[test]
fn the_examples_and_bad_inputs_read_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The example's documents are all read; a rule is one the filter leaves in the file.
    let example = std::fs::read_to_string(root.join("examples/stream/observability.yaml")).unwrap();
    let stream = stream(&[&example, RULE]).into_bytes();
    for config in ["basic", "istio-advanced", "linkerd", "multi-cluster"] {
        let config_path = root.join(format!("examples/{config}.yaml"));
        let options = Options {
            config: Some(Input::new(
                config,
                std::fs::read_to_string(config_path).unwrap(),
            )),
            ..Options::default()
        };
        assert!(same_as_whole(&[("observability.yaml", &stream)], &options) > 0);
    }
    let mut cases = 0;
    for entry in std::fs::read_dir(root.join("tests/bad_inputs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".expect") || name.ends_with(".config.yaml") {
            continue;
        }
        same_as_whole(
            &[(&name, &std::fs::read(&path).unwrap())],
            &options(Some(MeshType::Istio)),
        );
        cases += 1;
    }
    assert!(cases > 20, "the bad inputs were found");
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn the_corpus_reads_alike() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let files = common::yaml_files(&corpus);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for mesh in [MeshType::Istio, MeshType::Linkerd] {
            same_as_whole(&[(&name, &bytes)], &options(Some(mesh)));
        }
    }
    assert!(files.len() > 10, "found {} corpus files", files.len());
}

#[test]
fn the_binary_reads_a_file_argument_sparsely_and_may_overwrite_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stream = std::fs::read_to_string(root.join("examples/stream/observability.yaml")).unwrap();
    let config = root.join("examples/basic.yaml");
    let config = config.to_str().unwrap();
    let (code, from_stdin, err) = common::gunj(&["-q", "-c", config], stream.clone());
    assert_eq!(code, 0, "{err}");
    let path = file("argument.yaml", stream.as_bytes());
    let path = path.to_str().unwrap();
    let (code, from_file, err) = common::gunj(&["-q", "-c", config, path], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(from_file, from_stdin);
    // `-o` onto the input itself: the output replaces the file only once it is whole, and
    // the documents left in the file are copied from the file as it was read.
    let (code, out, err) = common::gunj(&["-q", "-c", config, "-o", path, path], "");
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(std::fs::read_to_string(path).unwrap(), from_stdin);
    // Appended to a file (`>>`), which `sendfile(2)` refuses: copied through memory.
    let input = file("appended-input.yaml", stream.as_bytes());
    let appended = file("appended.yaml", b"# before\n");
    let status = common::gunj_process()
        .args(["-q", "-c", config])
        .arg(&input)
        .stdout(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&appended)
                .unwrap(),
        )
        .status()
        .unwrap();
    assert!(status.success());
    let appended = std::fs::read_to_string(appended).unwrap();
    assert_eq!(appended, format!("# before\n{from_stdin}"));
}

#[test]
fn a_large_file_read_in_two_halves_reads_alike() {
    // From eight buffers on (here 7 bytes; the binary's are 256 KiB) a file is cut at a
    // boundary near its middle and its halves are read on two threads.
    let one = stream(&[DASHBOARD, GRAFANA, RULE, SERVICE]);
    let large = (0..600)
        .map(|_| one.as_str())
        .collect::<Vec<_>>()
        .join("---\n");
    let istio = options(Some(MeshType::Istio));
    assert_eq!(
        same_as_whole(&[("halves.yaml", large.as_bytes())], &istio),
        1200
    );
    // Errors: one in the second half alone is named; with one in each half, the first.
    let mut bad = large.into_bytes();
    let last = bad.len() - 100;
    bad[last] = 0xFF;
    same_as_whole(&[("halves-bad-second.yaml", &bad)], &istio);
    // Over the limit, the file is not read: the limit is met first, as in a whole read.
    let path = file("halves-limit.yaml", &bad);
    let sparse = read_file(
        "halves-limit.yaml",
        File::open(&path).unwrap(),
        200_000,
        7,
        Limits::default(),
    );
    assert!(
        sparse
            .unwrap_err()
            .to_string()
            .contains("exceeds the limit")
    );
    bad[100] = 0xFF;
    same_as_whole(&[("halves-bad-both.yaml", &bad)], &istio);
    // The second half assumes the first document is not a ResourceList; when it is, or when
    // the first half holds only comments, the second half is read again, and keeps every
    // document if the first one with content is a ResourceList.
    let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n";
    let rules = format!("---\n{RULE}").repeat(20);
    let short = "# padding\n".repeat(100);
    let long = "# padding\n".repeat(300);
    for (name, text, left) in [
        ("list-first.yaml", format!("{list}{short}{rules}"), 0),
        (
            "list-after-comments.yaml",
            format!("{long}---\n{list}{rules}"),
            0,
        ),
        ("rule-after-comments.yaml", format!("{long}{rules}"), 20),
    ] {
        assert_eq!(
            same_as_whole(&[(name, text.as_bytes())], &istio),
            left,
            "{name}"
        );
    }
}
