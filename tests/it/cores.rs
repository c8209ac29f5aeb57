//! The filter writes the same bytes on one core as on several. Its parallel stages (the
//! two halves of the read, splitting, parsing, deciding, patching, emitting, and on a large
//! stack the NetworkPolicies built beside the mesh's own policies) must each give what the
//! one-thread path gives. `taskset -c 0` leaves the process one CPU, so
//! `available_parallelism` is 1 and every stage runs on the main thread. Needs `taskset`
//! (util-linux) and two CPUs ([`common::needs`]).

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Copies of the example stack, each in its own namespace: 5 of its workloads join the
/// mesh, so 1,600 members, past the size from which NetworkPolicies are built concurrently
/// (1,000), in 2.1 MB, past the size from which a file is read in two halves (2 MiB).
const COPIES: usize = 320;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn big_stream() -> PathBuf {
    let example = std::fs::read_to_string(root().join("examples/stream/observability.yaml"))
        .expect("the example stream");
    let text: Vec<String> = (0..COPIES)
        .map(|i| example.replace("monitoring\n", &format!("monitoring-{i:03}\n")))
        .collect();
    let text = text.join("---\n");
    assert!(text.len() >= 2 << 20, "{} bytes", text.len());
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cores-big-stream.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the binary on `stream`, under `prefix` (a program and its arguments) if not empty.
fn run(prefix: &[&str], mesh: &str, stream: &Path) -> String {
    let config = root().join("benches/all-features.yaml");
    let mut cmd = match prefix.split_first() {
        Some((program, args)) => {
            let mut cmd = common::run::command(program);
            cmd.args(args).arg(common::run::bin());
            cmd
        }
        None => common::gunj_process(),
    };
    let out = cmd
        .args(["-q", "--mesh", mesh, "-c"])
        .arg(&config)
        .arg(stream)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{prefix:?} {mesh}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn one_core_and_several_write_the_same_bytes() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset").args(["-c", "0", "true"]).status();
    if !common::needs::require(
        &format!("taskset or a second CPU ({cpus} here)"),
        "taskset is in util-linux",
        cpus >= 2 && taskset.is_ok_and(|s| s.success()),
    ) {
        return;
    }
    let stream = big_stream();
    for mesh in ["istio", "linkerd"] {
        let several = run(&[], mesh, &stream);
        let one = run(&["taskset", "-c", "0"], mesh, &stream);
        // Not a vacuous comparison: every copy's servers get their NetworkPolicies.
        let netpols = several.matches("\nkind: NetworkPolicy\n").count();
        assert!(netpols >= COPIES * 4, "{mesh}: {netpols} NetworkPolicies");
        assert!(one == several, "{mesh}: one core and several differ");
    }
}
