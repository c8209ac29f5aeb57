//! The one way the tests start the gunj-mesh binary, or a program that starts it (`taskset`,
//! Helm): from a cleared environment, as bat's `tests/utils/command.rs` does, so that a
//! variable of the developer's shell cannot change what a test sees. The binary reads
//! `HELM_PLUGIN_NAME` (Helm 4 plugin mode: errors go to a log file, not stderr),
//! `GUNJ_MESH_LOG`, `TMPDIR` and `MIMALLOC_ALLOW_THP`; a test that wants one sets it itself.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The variables a started program keeps: `PATH`, so that `taskset`, Helm and the Helm 4
/// plugin's shell wrapper find their programs. Nothing else.
const KEPT: [&str; 1] = ["PATH"];

/// The gunj-mesh binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gunj-mesh"))
}

/// The repository root, where the binary runs (relative paths in arguments, such as
/// `examples/basic.yaml`, are from there).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `program` with a cleared environment (but for [`KEPT`]), run in [`repo`].
pub fn command(program: impl AsRef<OsStr>) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.env_clear().current_dir(repo());
    for name in KEPT {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd
}

/// The binary as a [`std::process::Command`], for what `assert_cmd` cannot do: pipes read
/// while it runs, stdout to a file.
pub fn gunj_process() -> std::process::Command {
    command(bin())
}

/// The binary as an [`assert_cmd::Command`] (stdin from a buffer, timeouts).
pub fn gunj_cmd() -> assert_cmd::Command {
    assert_cmd::Command::from_std(gunj_process())
}

/// Runs `gunj-mesh args` with `stdin`; returns the exit code, stdout and stderr.
pub fn gunj(args: &[&str], stdin: impl Into<Vec<u8>>) -> (i32, String, String) {
    let out = gunj_cmd()
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
