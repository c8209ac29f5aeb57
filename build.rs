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

use std::path::Path;

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
