//! Tells the integration tests (`tests/it`) which of the things they need from outside the
//! repository were missing when they were built, so that a test that needs one is
//! `#[ignore]`d with the reason and `cargo test` lists it as `ignored, needs …`, rather than
//! passing without checking anything. The rule, and the run-time check behind this one,
//! are in `tests/it/common/needs.rs`. Nothing else in the package looks at these cfgs.
//!
//! - `gunj_no_shared`: `../shared` lacks `corpus`, `schemas` or `tools/validate-crs.py`.
//! - `gunj_no_tools`: `.tools/bin` lacks `helm3` or `helm4` (`scripts/install-tools.sh`).
//!
//! Under CI (`CI` set and not empty) neither is set: there the tests run, and fail on what
//! is missing. This does not fail the build itself, which a release build does too.
//!
//! Cargo runs this again when `../shared` or `.tools` change, but only watches them when
//! they exist: it would run it on every build for a missing path, and rebuild the package
//! each time. So after adding `../shared` later, `touch build.rs` (`install-tools.sh` does).
//!
//! It also names the commit the binary is built from, for `--version`, as the
//! `GUNJ_MESH_COMMIT` compile-time variable: `$GUNJ_MESH_COMMIT` when set (a container
//! build, which has no `.git`), else `git rev-parse --short HEAD` when the package root is
//! the top of a git checkout, with `-dirty` when the files the binary is built from differ
//! from that commit, else `unknown` (a source tarball). No network.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the binary is compiled from: a change to these is what `-dirty` reports.
const SOURCES: [&str; 5] = [
    "src",
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
    "examples/init.yaml",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // As `tests/it/common/needs.rs` reads it.
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    need(
        ci,
        "gunj_no_shared",
        &root.join("../shared"),
        &["corpus", "schemas", "tools/validate-crs.py"],
    );
    need(
        ci,
        "gunj_no_tools",
        &root.join(".tools"),
        &["bin/helm3", "bin/helm4"],
    );
    println!("cargo::rerun-if-env-changed=GUNJ_MESH_COMMIT");
    let commit = match std::env::var("GUNJ_MESH_COMMIT") {
        Ok(c) if !c.is_empty() && c.chars().all(|c| c.is_ascii_graphic()) => c,
        _ => git_commit(root).unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo::rustc-env=GUNJ_MESH_COMMIT={commit}");
}

/// `git -C root args`, trimmed stdout, when git runs and succeeds. The variables a git
/// hook sets (a pre-commit hook building this package) would point git at another
/// repository, so they are removed.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(root).args(args);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_OBJECT_DIRECTORY",
        "GIT_CEILING_DIRECTORIES",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

/// The short commit of the checkout whose top is `root`, with `-dirty` when [`SOURCES`]
/// differ from it. Watches HEAD, the branch it is on and the sources, so that a commit, a
/// checkout or an edit reruns this.
fn git_commit(root: &Path) -> Option<String> {
    let top = PathBuf::from(git(root, &["rev-parse", "--show-toplevel"])?);
    // Not a checkout of this package (a tarball unpacked inside another repository).
    if top.canonicalize().ok()? != root.canonicalize().ok()? {
        return None;
    }
    let short = git(root, &["rev-parse", "--short", "HEAD"])?;
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(root, &["rev-parse", "--git-path", &name]) {
            let path = root.join(path);
            if path.exists() {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
    }
    for source in SOURCES {
        println!("cargo::rerun-if-changed={}", root.join(source).display());
    }
    let mut status = vec!["status", "--porcelain", "--"];
    status.extend(SOURCES);
    let dirty = !git(root, &status)?.is_empty();
    Some(if dirty {
        format!("{short}-dirty")
    } else {
        short
    })
}

/// Sets `cfg` when `dir` lacks one of `paths`, outside CI.
fn need(ci: bool, cfg: &str, dir: &Path, paths: &[&str]) {
    println!("cargo::rustc-check-cfg=cfg({cfg})");
    if dir.is_dir() {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    let missing: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| !dir.join(p).exists())
        .collect();
    if missing.is_empty() {
        return;
    }
    if ci {
        println!(
            "cargo::warning=CI is set and {} lacks {}: the tests that need them will fail",
            dir.display(),
            missing.join(", ")
        );
    } else {
        println!("cargo::rustc-cfg={cfg}");
    }
}
