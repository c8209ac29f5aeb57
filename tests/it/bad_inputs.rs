//! The bad-input table: every case in `tests/bad_inputs/` runs through the binary on stdin.
//!
//! A case is `NN-name.expect` plus its input `NN-name.yaml` or `NN-name.bin` (or, for inputs
//! too big to commit, a generator in [`generated`]). The `.expect` lines:
//!
//! - `args: <extra CLI args>` (split on white space; paths relative to the repository root)
//! - `exit: <code>`
//! - `stderr: <substring>` (any number; each must occur)
//! - `not-stderr: <substring>` (any number; none may occur)
//! - `stdout: empty|nonempty|identical|crlf` (`identical`: byte for byte the input;
//!   `crlf`: non-empty and every line ends in CRLF)
//! - `stdout-contains: <substring>` (any number)
//!
//! Whatever the case, stderr never contains `panicked at`, and each case finishes in a few
//! seconds (alias bombs and deep nesting must fail fast).

use crate::common;
use crate::common::fixtures::GRAFANA_HELM as GRAFANA;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad_inputs");

/// The budget per case; generous for a debug build on a loaded CI machine.
const FAST: Duration = Duration::from_secs(10);

/// Inputs generated here instead of committed.
fn generated(name: &str) -> Option<Vec<u8>> {
    match name {
        // 200 KB of `[` in a field of a Deployment (line 16).
        "20-deep-nesting" => {
            Some(format!("{GRAFANA}  deep: {}\n", "[".repeat(200_000)).into_bytes())
        }
        // A 5000-byte explicit (`? `) pod label key (line 12).
        "26-long-explicit-key" => Some(with_label(&format!("? {}\n        : x", "k".repeat(5000)))),
        // A 2000-byte implicit pod label key: YAML itself caps those at 1024 characters.
        "27-long-implicit-key" => Some(with_label(&format!("{}: x", "k".repeat(2000)))),
        // 400,000 levels, which overflowed the stack when --max-depth allowed them.
        "60-max-depth-above-the-cap" => Some(
            format!(
                "{GRAFANA}  deep: {}{}\n",
                "[".repeat(400_000),
                "]".repeat(400_000)
            )
            .into_bytes(),
        ),
        // 9,990 levels under the highest --max-depth, in 40 documents (parsed on every core).
        "61-nesting-at-the-cap" => Some(
            (0..40)
                .map(|_| {
                    format!(
                        "---\n{GRAFANA}  deep: {}{}\n",
                        "[".repeat(9_990),
                        "]".repeat(9_990)
                    )
                })
                .collect::<String>()
                .into_bytes(),
        ),
        // 30 workloads of one component, each with its own ServiceAccount, calling each other:
        // every AuthorizationPolicy names all 30 callers.
        "62-generated-beyond-the-input-limit" => Some(
            (0..30)
                .map(|i| {
                    format!(
                        "---\n{{apiVersion: apps/v1, kind: Deployment, metadata: {{name: loki-{i}, namespace: monitoring}}, spec: {{selector: {{matchLabels: {{app: l{i}}}}}, template: {{metadata: {{labels: {{app: l{i}, app.kubernetes.io/name: loki}}}}, spec: {{serviceAccountName: loki-{i}, containers: [{{name: loki, image: 'grafana/loki:2.9.0', ports: [{{containerPort: 3100}}]}}]}}}}}}}}\n"
                    )
                })
                .collect::<String>()
                .into_bytes(),
        ),
        _ => None,
    }
}

/// GRAFANA with one more pod label entry (on line 12).
fn with_label(entry: &str) -> Vec<u8> {
    let name = "        app.kubernetes.io/name: grafana\n";
    GRAFANA
        .replace(name, &format!("{name}        {entry}\n"))
        .into_bytes()
}

#[derive(Debug, Default)]
struct Expect {
    args: Vec<String>,
    exit: Option<i32>,
    stderr: Vec<String>,
    not_stderr: Vec<String>,
    stdout: Option<String>,
    stdout_contains: Vec<String>,
}

fn parse_expect(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).unwrap();
    let mut e = Expect::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{}: not `key: value`: {line}", path.display()));
        let value = value.strip_prefix(' ').unwrap_or(value).to_string();
        match key {
            "args" => e.args = value.split_whitespace().map(str::to_string).collect(),
            "exit" => e.exit = Some(value.trim().parse().expect("exit is a number")),
            "stderr" => e.stderr.push(value),
            "not-stderr" => e.not_stderr.push(value),
            "stdout" => e.stdout = Some(value.trim().to_string()),
            "stdout-contains" => e.stdout_contains.push(value),
            other => panic!("{}: unknown key `{other}`", path.display()),
        }
    }
    assert!(e.exit.is_some(), "{}: no `exit:` line", path.display());
    assert!(e.stdout.is_some(), "{}: no `stdout:` line", path.display());
    e
}

fn input_of(stem: &Path) -> Vec<u8> {
    let name = stem.file_name().unwrap().to_string_lossy().into_owned();
    for ext in ["yaml", "bin"] {
        let p = stem.with_extension(ext);
        if p.is_file() {
            return std::fs::read(p).unwrap();
        }
    }
    generated(&name).unwrap_or_else(|| panic!("case {name} has no input file or generator"))
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "expect"))
        .collect();
    v.sort();
    v
}

/// Checks one case; returns a description of every mismatch.
fn check(expect_file: &Path) -> Vec<String> {
    let stem = expect_file.with_extension("");
    let e = parse_expect(expect_file);
    let input = input_of(&stem);
    let started = Instant::now();
    let out = common::gunj_cmd()
        .args(&e.args)
        .write_stdin(input.clone())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = out.stdout;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut problems = Vec::new();
    if out.status.code() != e.exit {
        problems.push(format!(
            "exit {:?}, expected {:?}",
            out.status.code(),
            e.exit
        ));
    }
    if stderr.contains("panicked at") {
        problems.push("stderr has a panic".into());
    }
    if took > FAST {
        problems.push(format!("took {took:?}"));
    }
    for s in &e.stderr {
        if !stderr.contains(s.as_str()) {
            problems.push(format!("stderr lacks {s:?}"));
        }
    }
    for s in &e.not_stderr {
        if stderr.contains(s.as_str()) {
            problems.push(format!("stderr has {s:?}"));
        }
    }
    let ok = match e.stdout.as_deref().unwrap() {
        "empty" => stdout.is_empty(),
        "nonempty" => !stdout.is_empty(),
        "identical" => stdout == input,
        "crlf" => {
            !stdout.is_empty()
                && stdout.ends_with(b"\r\n")
                && stdout
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| b != b'\n' || (i > 0 && stdout[i - 1] == b'\r'))
        }
        other => panic!(
            "{}: unknown stdout expectation {other}",
            expect_file.display()
        ),
    };
    if !ok {
        problems.push(format!(
            "stdout is not {} ({} bytes)",
            e.stdout.as_deref().unwrap(),
            stdout.len()
        ));
    }
    let text = String::from_utf8_lossy(&stdout);
    for s in &e.stdout_contains {
        if !text.contains(s.as_str()) {
            problems.push(format!("stdout lacks {s:?}"));
        }
    }
    if !problems.is_empty() {
        problems.insert(0, format!("--- stderr:\n{stderr}---"));
    }
    problems
}

#[test]
fn every_bad_input_case_behaves() {
    let cases = cases();
    assert!(cases.len() >= 20, "the table lost cases: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let problems = check(case);
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", case.display(), problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The parser limits stop hostile documents at once, not after the work they ask for:
/// measured in process (the best of three runs, in a debug build), not counting start-up.
#[test]
fn alias_bombs_and_deep_nesting_fail_within_100_ms() {
    let bombs = ["19-alias-bomb.yaml", "22-alias-bomb-bare.yaml"]
        .map(|f| std::fs::read_to_string(format!("{DIR}/{f}")).unwrap());
    let deep = String::from_utf8(generated("20-deep-nesting").unwrap()).unwrap();
    for (name, text) in [("19", &bombs[0]), ("22", &bombs[1]), ("20", &deep)] {
        let inputs = [gunj_mesh::Input::new("-", text.clone())];
        let best = (0..3)
            .map(|_| {
                let started = Instant::now();
                let result = gunj_mesh::run(&inputs, &gunj_mesh::Options::default());
                assert!(result.is_err(), "case {name} was accepted");
                started.elapsed()
            })
            .min()
            .unwrap();
        assert!(
            best < Duration::from_millis(100),
            "case {name} took {best:?}"
        );
    }
}

#[test]
fn every_input_and_config_file_belongs_to_a_case() {
    for entry in std::fs::read_dir(DIR).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let stem = name.split('.').next().unwrap();
        assert!(
            Path::new(DIR).join(format!("{stem}.expect")).is_file(),
            "{name} has no {stem}.expect"
        );
    }
}

/// A ~50 MB stream of Deployments and ConfigMaps.
fn big_stream() -> String {
    let filler = "x".repeat(1000);
    let mut s = String::with_capacity(51_000_000);
    let mut i = 0;
    while s.len() < 50_000_000 {
        s.push_str("---\n");
        s.push_str(&GRAFANA.replace(
            "name: grafana\n  namespace",
            &format!("name: grafana-{i}\n  namespace"),
        ));
        s.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-{i}\ndata:\n  k: {filler}\n"
        ));
        i += 1;
    }
    s
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let input = big_stream();
    let mut child = common::gunj_process()
        .arg("-q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // The binary may stop reading early; a broken pipe here is fine.
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    writer.join().unwrap();
    let stderr = err_reader.join().unwrap();
    assert!(!stderr.contains("panicked at"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{status:?}: {stderr}");
    assert!(
        stderr.is_empty(),
        "-q and a closed pipe: nothing to say, got {stderr}"
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gunj-mesh-bad-inputs-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn output_file_is_written_whole_and_alone() {
    let dir = temp_dir("ok");
    let file = dir.join("out.yaml");
    let to_stdout = common::gunj_cmd()
        .arg("-q")
        .write_stdin(GRAFANA)
        .output()
        .unwrap();
    assert_eq!(to_stdout.status.code(), Some(0));
    let out = common::gunj_cmd()
        .args(["-q", "-o"])
        .arg(&file)
        .write_stdin(GRAFANA)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "with -o nothing goes to stdout");
    assert_eq!(std::fs::read(&file).unwrap(), to_stdout.stdout);
    assert_eq!(
        listing(&dir),
        ["out.yaml"],
        "no temporary file is left behind"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_file_is_not_created_or_touched_on_error() {
    let dir = temp_dir("err");
    let bad = std::fs::read(format!("{DIR}/07-duplicate-keys.yaml")).unwrap();
    let file = dir.join("out.yaml");
    let out = common::gunj_cmd()
        .arg("-o")
        .arg(&file)
        .write_stdin(bad.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));

    // An existing file keeps its content.
    std::fs::write(&file, "previous\n").unwrap();
    let out = common::gunj_cmd()
        .arg("-o")
        .arg(&file)
        .write_stdin(bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "previous\n");
    assert_eq!(listing(&dir), ["out.yaml"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
