//! What the CLI test files share: running the built binary.

use assert_cmd::Command;

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
