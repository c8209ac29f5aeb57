//! What a test needs from outside the repository, and the one rule for when it is missing.
//!
//! The needs: `../shared` beside the clone (the corpus, the CRD schemas and
//! `tools/validate-crs.py`: third-party data that may not be copied in), the Helm binaries
//! and the SARIF schema that `scripts/install-tools.sh` puts in `.tools/`, python3 with
//! `jsonschema` and `yaml`, and `taskset` with two CPUs.
//!
//! The rule ([`require`]): under CI (`CI` set and not empty, as GitHub Actions sets it and
//! `.ci/run` exports it) a missing need fails the test, since CI installs everything.
//! Anywhere else the test is skipped, and says so where a run shows it:
//!
//! - A test that needs `../shared` or the Helm binaries carries
//!   `#[cfg_attr(gunj_no_shared, ignore = "…")]` (or `gunj_no_tools`). `build.rs` sets
//!   those cfgs when the need is missing at build time (never under CI), so `cargo test`
//!   lists the test as `ignored, needs …`.
//! - [`require`] checks again at run time (a test run with `--include-ignored`, a need that
//!   went missing after the build, and the needs that no cfg covers) and writes
//!   `SKIPPED <test>: <what> is missing (<how to get it>)` straight to the process's stderr,
//!   which libtest does not capture, so the line shows in a normal `cargo test` run.

use super::run::repo;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Whether the tests run under CI: `CI` set to anything but the empty string. `build.rs`
/// reads it the same way.
pub fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// `true` when `available`. Otherwise fails the test under CI, or reports the skip and
/// returns `false`, and the test returns without checking anything more.
pub fn require(what: &str, how: &str, available: bool) -> bool {
    if available {
        return true;
    }
    let thread = std::thread::current();
    // libtest runs each test on a thread named after it.
    let test = thread.name().unwrap_or("a test");
    assert!(
        !ci(),
        "{test}: {what} is missing ({how}), and CI is set: CI must provide it"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: {what} is missing ({how})"
    );
    false
}

/// `../shared`, when its corpus, schemas and `tools/validate-crs.py` are all there.
pub fn shared() -> Option<PathBuf> {
    let dir = repo().join("../shared");
    let whole = ["corpus", "schemas", "tools/validate-crs.py"]
        .iter()
        .all(|p| dir.join(p).exists());
    require(
        "../shared (corpus, schemas, tools)",
        "read-only data beside the clone, see README: Development",
        whole,
    )
    .then_some(dir)
}

/// `../shared/corpus`, under the same rule as [`shared`].
pub fn corpus() -> Option<PathBuf> {
    shared().map(|dir| dir.join("corpus"))
}

/// `.tools/<name>` (`bin/helm3`, `bin/helm4`, `sarif-2.1.0.json`).
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = repo().join(".tools").join(name);
    require(
        &format!(".tools/{name}"),
        "run scripts/install-tools.sh",
        path.is_file(),
    )
    .then_some(path)
}

/// Whether `python3` runs and can import `modules`.
pub fn python3(modules: &[&str]) -> bool {
    let imports = format!("import {}", modules.join(", "));
    let works = Command::new("python3")
        .args(["-c", &imports])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    require(
        &format!("python3 with {}", modules.join(" and ")),
        "install python3, then pip install jsonschema pyyaml",
        works,
    )
}
