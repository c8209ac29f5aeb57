//! Golden runner for the KRM function examples in `functions/mesh-inject/examples/*`, laid
//! out like the kpt functions catalog: each example is a package with an `.expected/`
//! directory holding
//! - `resourcelist.yaml`: the ResourceList the orchestrator hands the function,
//! - `output.yaml`: the exact expected stdout,
//! - `config.yaml`: kpt test-runner fields; `exitCode` (default 0) is checked here.
//!
//! Each example is copied to a fresh temporary directory and run there, twice, from two
//! fresh copies: the output must match byte for byte both times and the package must be left
//! as it was. `GUNJ_MESH_BLESS=1 cargo test --test it krm_examples::` rewrites
//! `output.yaml` (read the diff before keeping it).

use crate::common;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("functions/mesh-inject/examples")
}

fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("functions/mesh-inject/examples exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join(".expected").is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Every file under `dir`, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// A fresh copy of an example in a new temporary directory, removed on drop.
struct Copy {
    root: PathBuf,
}

impl Copy {
    fn of(example: &Path, round: usize) -> Copy {
        let name = example.file_name().unwrap().to_string_lossy();
        let root = std::env::temp_dir().join(format!(
            "gunj-mesh-krm-examples-{}-{name}-{round}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (rel, bytes) in snapshot(example) {
            let to = root.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::write(to, bytes).unwrap();
        }
        Copy { root }
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn expected_exit_code(example: &Path) -> i32 {
    let text = std::fs::read_to_string(example.join(".expected/config.yaml"))
        .expect(".expected/config.yaml exists");
    let config: Value = serde_saphyr::from_str(&text).expect("config.yaml is YAML");
    match config.get("exitCode") {
        None => 0,
        Some(v) => v.as_i64().expect("exitCode is an integer") as i32,
    }
}

/// Where two texts first differ, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        if e.get(i) != a.get(i) {
            return format!(
                "line {}:\n  expected: {:?}\n  actual:   {:?}",
                i + 1,
                e.get(i),
                a.get(i)
            );
        }
    }
    "the texts differ only in their line endings".into()
}

fn run(example: &Path, round: usize) -> (String, i32) {
    let copy = Copy::of(example, round);
    let before = snapshot(&copy.root);
    let input = std::fs::read(copy.root.join(".expected/resourcelist.yaml"))
        .expect(".expected/resourcelist.yaml exists");
    let out = common::gunj_cmd()
        .current_dir(&copy.root)
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(
        snapshot(&copy.root),
        before,
        "{}: the function must not touch the package files",
        example.display()
    );
    (
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        out.status.code().expect("gunj-mesh exited normally"),
    )
}

#[test]
fn the_catalog_examples_are_there() {
    let names: Vec<String> = examples()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "mesh-inject-bad-config",
        "mesh-inject-istio",
        "mesh-inject-kustomize",
        "mesh-inject-linkerd-configmap",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    for example in examples() {
        for file in [
            "README.md",
            ".expected/config.yaml",
            ".expected/resourcelist.yaml",
        ] {
            assert!(
                example.join(file).is_file(),
                "{}: {file} missing",
                example.display()
            );
        }
    }
}

#[test]
fn every_example_gives_its_expected_output_twice_from_fresh_copies() {
    let bless = std::env::var_os("GUNJ_MESH_BLESS").is_some();
    let mut failures = Vec::new();
    for example in examples() {
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        let expected_path = example.join(".expected/output.yaml");
        let code = expected_exit_code(&example);
        let (first, first_code) = run(&example, 0);
        let (second, second_code) = run(&example, 1);
        assert_eq!(first, second, "{name}: two runs gave different output");
        assert_eq!(
            first_code, second_code,
            "{name}: two runs exited differently"
        );
        if bless {
            std::fs::write(&expected_path, &first).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{name}: .expected/output.yaml missing"));
        if first_code != code {
            failures.push(format!("{name}: exit status {first_code}, expected {code}"));
        }
        if first != expected {
            failures.push(format!(
                "{name}: output differs from .expected/output.yaml at {}",
                first_difference(&expected, &first)
            ));
        }
        // An error result exactly when the function fails.
        let out: Value = serde_saphyr::from_str(&first)
            .unwrap_or_else(|e| panic!("{name}: output is not YAML: {e}"));
        let errors = out["results"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|r| r["severity"] == "error").count());
        if (errors > 0) != (code != 0) {
            failures.push(format!(
                "{name}: {errors} error results with expected exit status {code}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
