//! What the test modules share: starting the built binary ([`run`]), the rule for what a
//! test needs from outside the repository ([`needs`]), documents several modules use
//! ([`fixtures`]), finding YAML files.

pub mod edit_path;
pub mod fixtures;
pub mod needs;
pub mod run;
pub mod temp;

pub use needs::corpus;
pub use run::{gunj, gunj_cmd, gunj_process, repo};
pub use temp::TempDir;

use std::path::{Path, PathBuf};

/// The entries of `dir`, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
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
