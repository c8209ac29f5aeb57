//! What the test modules share: running the built binary, finding YAML files.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// Runs `gunj-mesh args` with `stdin`; returns the exit code, stdout and stderr.
pub fn gunj(args: &[&str], stdin: impl Into<Vec<u8>>) -> (i32, String, String) {
    let out = Command::cargo_bin("gunj-mesh")
        .unwrap()
        .args(args)
        .write_stdin(stdin.into())
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}

/// The `.yaml` and `.yml` files under `dir`, at any depth.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    out
}
