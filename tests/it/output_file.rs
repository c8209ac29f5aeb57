//! `-o FILE`, the Helm error log and the subcommands' stdout in hostile environments: what
//! the path turns out to be (a FIFO, a device, a symlink, a planted temporary name), who
//! owns it, and what happens when writing fails or a signal arrives.
//!
//! Everything happens in a fresh directory under the system's temp dir: FIFOs, device nodes
//! (`mknod`, root only: such tests print `SKIPPED:` otherwise, and fail when `CI=true`) and
//! symlinks are made there, never pointed at the machine's own files. The binary runs with
//! an empty environment but `PATH`, and `TMPDIR` inside that directory.

use crate::common::run;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/stream/observability.yaml"
);

/// How long a test waits for something the binary should do at once.
const PATIENCE: Duration = Duration::from_secs(20);

const SECRET: &str = "\
# Source: obs/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: obs-grafana
  namespace: monitoring
stringData:
  admin-password: hunter2
";

/// A ResourceList whose function config has an unknown field: a KRM failure (exit 1).
const BAD_RESOURCE_LIST: &str = "\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: obs-grafana
functionConfig:
  apiVersion: mesh.gunj.io/v1alpha1
  kind: ServiceMesh
  metadata:
    name: mesh
  spec:
    typo: 1
";

/// A directory removed when dropped, with `tmp/` inside for the binary's `TMPDIR`.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "gunj-mesh-output-file-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("tmp")).unwrap();
        Dir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names in the directory but `tmp`, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "tmp")
            .collect();
        names.sort();
        names
    }

    /// The binary, hermetic: no environment but `PATH`, and `TMPDIR` in here.
    fn command(&self) -> std::process::Command {
        let mut cmd = run::gunj_process();
        cmd.env("TMPDIR", self.join("tmp"));
        cmd
    }

    /// `gunj-mesh -q -o <out> EXAMPLE`.
    fn write_to(&self, out: &Path) -> std::process::Output {
        run::gunj_cmd()
            .env("TMPDIR", self.join("tmp"))
            .args(["-q", "-o"])
            .arg(out)
            .arg(EXAMPLE)
            .output()
            .unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What `gunj-mesh -q EXAMPLE` writes to stdout.
fn expected() -> Vec<u8> {
    let out = run::gunj_cmd().args(["-q", EXAMPLE]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    out.stdout
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

/// The umask of this process, which the binary inherits.
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

fn is_root() -> bool {
    let dir = Dir::new("whoami");
    fs::metadata(&dir.0).unwrap().uid() == 0
}

/// Says a test cannot run here; under `CI=true` that is a failure.
fn skip(why: &str) {
    println!("SKIPPED: {why}");
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "CI must run this test: {why}"
    );
}

/// `mknod path <kind> major minor`; false (and skipped) where that is not permitted.
fn mknod(path: &Path, kind: &str, major: u32, minor: u32) -> bool {
    let out = run::command("mknod")
        .arg(path)
        .args([kind, &major.to_string(), &minor.to_string()])
        .output()
        .unwrap();
    if !out.status.success() {
        skip(&format!(
            "cannot make a device node (mknod {kind} {major} {minor}): {}",
            stderr(&out).trim()
        ));
    }
    out.status.success()
}

fn mkfifo(path: &Path) {
    let status = run::command("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// Sends `signal` (`TERM`, `INT`) to a child of this test, by its id.
fn kill(child: &Child, signal: &str) {
    let status = run::command("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child` at most [`PATIENCE`]; kills it and fails if it is still running.
fn wait(mut child: Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// 1. What the path is.

#[test]
fn a_new_file_is_written_whole_with_the_default_mode() {
    let dir = Dir::new("new");
    let file = dir.join("out.yaml");
    let out = dir.write_to(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "with -o nothing goes to stdout");
    assert_eq!(fs::read(&file).unwrap(), expected());
    assert_eq!(mode(&file), 0o666 & !umask());
    assert_eq!(dir.listing(), ["out.yaml"], "no temporary file is left");
}

#[test]
fn a_character_device_is_written_through() {
    let dir = Dir::new("chardev");
    let null = dir.join("null");
    if !mknod(&null, "c", 1, 3) {
        return;
    }
    let rdev = fs::metadata(&null).unwrap().rdev();
    let out = dir.write_to(&null);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let meta = fs::symlink_metadata(&null).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "the device was replaced: {meta:?}"
    );
    assert_eq!(meta.rdev(), rdev);
    assert_eq!(dir.listing(), ["null"]);
}

#[test]
fn a_fifo_is_written_through_to_its_reader() {
    let dir = Dir::new("fifo");
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    let (sent, received) = std::sync::mpsc::channel();
    let path = fifo.clone();
    // Left blocked in open(2) should nothing ever open the FIFO for writing; the test fails
    // then, and the thread ends with the test binary.
    std::thread::spawn(move || {
        let _ = sent.send(fs::read(path));
    });
    let out = dir.write_to(&fifo);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let read = received
        .recv_timeout(PATIENCE)
        .expect("the FIFO's reader got no end of file")
        .unwrap();
    assert_eq!(read, expected());
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(dir.listing(), ["fifo"]);
}

/// As `-o /dev/stdout` on Linux, where /dev/stdout links to /proc/self/fd/1, here a pipe.
#[test]
fn a_symlink_to_stdout_writes_to_stdout() {
    let dir = Dir::new("stdout");
    let stdout = dir.join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &stdout).unwrap();
    let out = dir.write_to(&stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, expected());
    assert!(fs::symlink_metadata(&stdout).unwrap().is_symlink());
    assert_eq!(dir.listing(), ["stdout"]);
}

#[test]
fn a_symlink_to_a_regular_file_replaces_the_file_and_stays() {
    let dir = Dir::new("link");
    let (link, real) = (dir.join("link.yaml"), dir.join("real.yaml"));
    fs::write(&real, "previous\n").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real.yaml", &link).unwrap();
    let out = dir.write_to(&link);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("real.yaml"));
    assert_eq!(fs::read(&real).unwrap(), expected());
    assert_eq!(mode(&real), 0o640);
    assert_eq!(dir.listing(), ["link.yaml", "real.yaml"]);
}

#[test]
fn a_symlink_to_nothing_is_refused() {
    let dir = Dir::new("dangling");
    let link = dir.join("link.yaml");
    std::os::unix::fs::symlink("missing.yaml", &link).unwrap();
    let out = dir.write_to(&link);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: cannot write: it is a symlink to missing.yaml, which does not exist",
            link.display()
        )),
        "{err}"
    );
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(dir.listing(), ["link.yaml"]);
}

/// Refused before any work, with the path and what it is.
fn assert_refused(dir: &Dir, path: &Path, what: &str) {
    let out = dir.write_to(path);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: cannot write: it is {what}; -o writes only to a regular file",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_directory_is_refused() {
    let dir = Dir::new("dir");
    let sub = dir.join("sub");
    fs::create_dir(&sub).unwrap();
    assert_refused(&dir, &sub, "a directory");
    assert!(fs::symlink_metadata(&sub).unwrap().is_dir());
    assert_eq!(dir.listing(), ["sub"]);
    assert!(fs::read_dir(&sub).unwrap().next().is_none());
}

#[test]
fn a_socket_is_refused() {
    let dir = Dir::new("socket");
    let socket = dir.join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    assert_refused(&dir, &socket, "a socket");
    assert!(
        fs::symlink_metadata(&socket)
            .unwrap()
            .file_type()
            .is_socket()
    );
    assert_eq!(dir.listing(), ["socket"]);
}

#[test]
fn a_block_device_is_refused() {
    let dir = Dir::new("blockdev");
    let block = dir.join("block");
    // A loop device number; the node is never opened.
    if !mknod(&block, "b", 7, 200) {
        return;
    }
    assert_refused(&dir, &block, "a block device");
    assert!(
        fs::symlink_metadata(&block)
            .unwrap()
            .file_type()
            .is_block_device()
    );
    assert_eq!(dir.listing(), ["block"]);
}

#[test]
fn a_symlink_to_a_directory_is_refused() {
    let dir = Dir::new("dirlink");
    let link = dir.join("link");
    fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink("sub", &link).unwrap();
    assert_refused(&dir, &link, "a symlink to a directory");
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(dir.listing(), ["link", "sub"]);
}

// 2. The temporary file.

/// Whoever can write to the directory may plant a symlink where the temporary file would go
/// (formerly `.NAME.gunj-mesh-PID`): it must neither be written through nor renamed into
/// place.
#[test]
fn a_planted_symlink_at_the_temporary_name_is_not_followed() {
    let dir = Dir::new("planted");
    let (file, victim) = (dir.join("out.yaml"), dir.join("victim"));
    fs::write(&victim, "not yours\n").unwrap();
    let mut child = dir
        .command()
        .args(["-q", "-o"])
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let planted = format!(".out.yaml.gunj-mesh-{}", child.id());
    std::os::unix::fs::symlink("victim", dir.join(&planted)).unwrap();
    let input = fs::read(EXAMPLE).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = wait(child, "gunj-mesh -o");
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "not yours\n");
    assert!(fs::symlink_metadata(&file).unwrap().is_file());
    assert_eq!(fs::read(&file).unwrap(), expected());
    assert_eq!(
        fs::read_link(dir.join(&planted)).unwrap(),
        Path::new("victim")
    );
    let mut want = vec![planted, "out.yaml".to_string(), "victim".to_string()];
    want.sort();
    assert_eq!(dir.listing(), want);
}

// 3. Mode and owner.

#[test]
fn an_existing_file_keeps_its_mode_and_owner() {
    if !is_root() {
        return skip("giving a file to another user needs root");
    }
    let dir = Dir::new("owner");
    let file = dir.join("out.yaml");
    fs::write(&file, "previous\n").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&file, Some(1234), Some(5678)).unwrap();
    let out = dir.write_to(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read(&file).unwrap(), expected());
    let meta = fs::metadata(&file).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o600, 1234, 5678)
    );
    assert_eq!(dir.listing(), ["out.yaml"]);
}

/// The Secret is in an input file: a sparse read leaves it there unread, so only the output
/// tells.
#[test]
fn a_new_file_with_a_secret_is_private() {
    let dir = Dir::new("secret");
    let (file, secret) = (dir.join("out.yaml"), dir.join("secret.yaml"));
    fs::write(&secret, SECRET).unwrap();
    let out = run::gunj_cmd()
        .args(["-q", "-o"])
        .arg(&file)
        .arg(EXAMPLE)
        .arg(&secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        String::from_utf8(fs::read(&file).unwrap())
            .unwrap()
            .contains("kind: Secret")
    );
    assert_eq!(mode(&file), 0o600);
}

/// A stream of this user's, written by another: `-o` must not hand it over.
#[test]
fn another_users_file_is_refused_rather_than_taken_over() {
    if !is_root() {
        return skip("running as another user needs root");
    }
    let dir = Dir::new("others");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o777)).unwrap();
    let file = dir.join("out.yaml");
    fs::write(&file, "previous\n").unwrap();
    std::os::unix::fs::chown(&file, Some(4321), Some(4321)).unwrap();
    let mut child = dir
        .command()
        .uid(1234)
        .gid(1234)
        .args(["-q", "-o"])
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&fs::read(EXAMPLE).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot keep the file's owner (uid 4321, gid 4321)"),
        "{err}"
    );
    let meta = fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4321, 4321));
    assert_eq!(fs::read_to_string(&file).unwrap(), "previous\n");
    assert_eq!(dir.listing(), ["out.yaml"]);
}

/// As a user, not root: the mode stays, and a group the user is not in becomes theirs.
#[test]
fn a_users_own_file_keeps_its_mode() {
    if !is_root() {
        return skip("running as another user needs root");
    }
    let dir = Dir::new("own");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o777)).unwrap();
    let file = dir.join("out.yaml");
    fs::write(&file, "previous\n").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&file, Some(1234), Some(5678)).unwrap();
    let mut child = dir
        .command()
        .uid(1234)
        .gid(1234)
        .args(["-q", "-o"])
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&fs::read(EXAMPLE).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read(&file).unwrap(), expected());
    let meta = fs::metadata(&file).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o640, 1234, 1234)
    );
    assert_eq!(dir.listing(), ["out.yaml"]);
}

// 4. Failures and signals.

/// An input file changed during the run fails the write (the documents left in it would be
/// torn): the previous output stays, and no temporary file.
#[test]
fn a_failed_write_leaves_the_file_as_it_was() {
    let dir = Dir::new("failed");
    let (file, input, fifo) = (dir.join("out.yaml"), dir.join("in.yaml"), dir.join("fifo"));
    fs::write(&file, "previous\n").unwrap();
    fs::write(
        &input,
        format!("{}---\n{SECRET}", fs::read_to_string(EXAMPLE).unwrap()),
    )
    .unwrap();
    mkfifo(&fifo);
    let child = dir
        .command()
        .args(["-q", "-o"])
        .arg(&file)
        .arg(&input)
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opens once the binary opens its second input: the first is read by then.
    let mut second = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap()
        .write_all(b"# changed\n")
        .unwrap();
    second
        .write_all(b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n")
        .unwrap();
    drop(second);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the input file changed"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read_to_string(&file).unwrap(), "previous\n");
    assert_eq!(dir.listing(), ["fifo", "in.yaml", "out.yaml"]);
}

/// Whether this process ignores `signal` (its children then do too).
fn ignored(signal: u32) -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("SigIgn:")).unwrap();
    let mask = u64::from_str_radix(line["SigIgn:".len()..].trim(), 16).unwrap();
    mask & (1 << (signal - 1)) != 0
}

/// The binary makes its temporary file before it reads its input, so while it waits for
/// stdin (kept open here) the file is there, deterministically, when the signal comes.
fn signal_leaves_no_temporary_file(signal: &str, number: i32) {
    let dir = Dir::new(&format!("sig{signal}"));
    let file = dir.join("out.yaml");
    fs::write(&file, "previous\n").unwrap();
    let mut child = dir
        .command()
        .args(["-q", "-o"])
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let temp = loop {
        if let Some(name) = dir.listing().into_iter().find(|n| n != "out.yaml") {
            break name;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no temporary file appeared while gunj-mesh waited for its input");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(temp.starts_with(".out.yaml.gunj-mesh-"), "{temp}");
    assert_ne!(
        temp,
        format!(".out.yaml.gunj-mesh-{}", child.id()),
        "a predictable name"
    );
    assert_eq!(mode(&dir.join(&temp)), 0o600);
    kill(&child, signal);
    let stdin = child.stdin.take();
    let status = wait(child, "gunj-mesh after a signal");
    drop(stdin);
    assert_eq!(status.signal(), Some(number), "{status:?}");
    assert_eq!(dir.listing(), ["out.yaml"], "the temporary file is left");
    assert_eq!(fs::read_to_string(&file).unwrap(), "previous\n");
}

#[test]
fn sigterm_leaves_no_temporary_file() {
    signal_leaves_no_temporary_file("TERM", 15);
}

#[test]
fn sigint_leaves_no_temporary_file() {
    if ignored(2) {
        return skip("SIGINT is ignored here, and so in the binary");
    }
    signal_leaves_no_temporary_file("INT", 2);
}

/// The ResourceList with the error goes to stdout without -o; with -o neither there nor into
/// the file.
#[test]
fn a_krm_failure_leaves_the_file_as_it_was() {
    let dir = Dir::new("krm");
    let file = dir.join("out.yaml");
    fs::write(&file, "previous\n").unwrap();
    let out = run::gunj_cmd()
        .env("TMPDIR", dir.join("tmp"))
        .arg("-o")
        .arg(&file)
        .write_stdin(BAD_RESOURCE_LIST)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("typo"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), "previous\n");
    assert_eq!(dir.listing(), ["out.yaml"]);
}

/// `-o json` (kubectl's habit) would write a file named `json`: refused, with the spelling
/// that means a file; `-o ./json` is that file.
#[test]
fn a_format_name_for_the_output_file_is_refused_unless_spelt_as_a_path() {
    let dir = Dir::new("format");
    for name in ["json", "yaml", "wide"] {
        let out = run::gunj_cmd()
            .current_dir(&dir.0)
            .args(["-q", "-o", name, EXAMPLE])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&format!("-o ./{name}")), "{name}: {err}");
        assert!(dir.listing().is_empty(), "{name}: {:?}", dir.listing());
    }
    let out = run::gunj_cmd()
        .current_dir(&dir.0)
        .args(["-q", "-o", "./json", EXAMPLE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read(dir.join("json")).unwrap(), expected());
}

/// A bare `gunj-mesh` on a terminal says that it reads stdin, instead of waiting silently
/// (run on a terminal `script` makes; its stdin is closed at once, so the run ends).
#[test]
fn a_terminal_on_stdin_is_told_what_gunj_mesh_waits_for() {
    let dir = Dir::new("tty");
    let Ok(out) = run::command("script")
        .arg("-qec")
        .arg(run::bin())
        .arg(dir.join("typescript"))
        .stdin(Stdio::piped())
        .output()
    else {
        return skip("no `script` (util-linux) to make a terminal");
    };
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(
        seen.contains("gunj-mesh: reading manifests from stdin (end with Ctrl-D"),
        "{seen}"
    );
}

/// Under a shrinking memory limit (`ulimit -v`) every run either writes the whole output or
/// exits 2 saying it ran out of memory, with the -o file as it was and no temporary file
/// left: never an abort (SIGABRT) or a panic about a thread that could not start.
#[test]
fn running_out_of_memory_is_an_error_that_changes_nothing() {
    let dir = Dir::new("oom");
    let example = fs::read_to_string(EXAMPLE).unwrap();
    let stream: String = (0..300)
        .map(|i| example.replace("namespace: monitoring", &format!("namespace: ns-{i}")))
        .collect();
    let input = dir.join("in.yaml");
    fs::write(&input, &stream).unwrap();
    let file = dir.join("out.yaml");
    let whole = run::gunj_cmd().arg("-q").arg(&input).output().unwrap();
    assert_eq!(whole.status.code(), Some(0), "{}", stderr(&whole));
    let (mut failed, mut kib) = (0, 40 * 1024);
    loop {
        fs::write(&file, "previous\n").unwrap();
        let out = run::command("sh")
            .args(["-c", "ulimit -v \"$1\" && shift && exec \"$@\"", "sh"])
            .arg(kib.to_string())
            .arg(run::bin())
            .args(["-q", "-o"])
            .arg(&file)
            .arg(&input)
            .env("TMPDIR", dir.join("tmp"))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(
            dir.listing(),
            ["in.yaml", "out.yaml"],
            "at {kib} KiB: {err}"
        );
        match out.status.code() {
            Some(0) => {
                assert_eq!(fs::read(&file).unwrap(), whole.stdout, "at {kib} KiB");
                break;
            }
            Some(2) => {
                assert!(
                    err.starts_with("gunj-mesh: error: out of memory"),
                    "at {kib} KiB: {err}"
                );
                assert!(err.contains("nothing was written"), "{err}");
                assert_eq!(fs::read_to_string(&file).unwrap(), "previous\n");
                failed += 1;
            }
            _ => panic!("at {kib} KiB: {:?}\n{err}", out.status),
        }
        assert!(kib < 1 << 20, "still out of memory at 1 GiB: {err}");
        kib += kib / 4;
    }
    assert!(failed > 0, "no limit was low enough to fail the run");
}

// 5. The Helm error log.

/// A release whose config cannot be read: gunj-mesh fails under Helm 4 (`HELM_PLUGIN_NAME`).
fn fail_under_helm(dir: &Dir, log: Option<&Path>) -> std::process::Output {
    let mut cmd = run::gunj_cmd();
    cmd.env("TMPDIR", dir.join("tmp"))
        .env("HELM_PLUGIN_NAME", "gunj-mesh")
        .args(["-c"])
        .arg(dir.join("missing-mesh.yaml"))
        .write_stdin(fs::read(EXAMPLE).unwrap());
    if let Some(log) = log {
        cmd.env("GUNJ_MESH_LOG", log);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    out
}

/// The entry: a timestamp line, the release's first `# Source:`, the error.
fn assert_entry(entry: &str) {
    let mut lines = entry.lines();
    let time = lines.next().unwrap();
    let shape: String = time
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect();
    assert_eq!(shape, "0000-00-00T00:00:00Z", "{entry}");
    assert_eq!(
        lines.next(),
        Some("# Source: obs/templates/namespace.yaml"),
        "{entry}"
    );
    let error = lines.next().unwrap();
    assert!(
        error.starts_with("gunj-mesh: error: ") && error.contains("missing-mesh.yaml"),
        "{entry}"
    );
}

#[test]
fn a_new_log_is_private_and_says_when_and_which_release() {
    let dir = Dir::new("log-new");
    let log = dir.join("gunj-mesh.log");
    let out = fail_under_helm(&dir, Some(&log));
    assert!(
        stderr(&out).contains(&format!("the error is also in {}", log.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(mode(&log), 0o600);
    assert_entry(&fs::read_to_string(&log).unwrap());
}

#[test]
fn the_log_is_appended_to() {
    let dir = Dir::new("log-append");
    let log = dir.join("gunj-mesh.log");
    fs::write(&log, "earlier\n").unwrap();
    fail_under_helm(&dir, Some(&log));
    fail_under_helm(&dir, Some(&log));
    let text = fs::read_to_string(&log).unwrap();
    let entries = text.strip_prefix("earlier\n").expect(&text);
    let lines: Vec<&str> = entries.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_entry(&lines[..3].join("\n"));
    assert_entry(&lines[3..].join("\n"));
}

#[test]
fn the_log_is_not_written_through_a_symlink() {
    let dir = Dir::new("log-link");
    let (log, victim) = (dir.join("gunj-mesh.log"), dir.join("victim"));
    fs::write(&victim, "not yours\n").unwrap();
    std::os::unix::fs::symlink("victim", &log).unwrap();
    let out = fail_under_helm(&dir, Some(&log));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "the error is not logged: {} is a symlink",
            log.display()
        )),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "not yours\n");
    assert!(fs::symlink_metadata(&log).unwrap().is_symlink());
}

#[test]
fn another_users_log_is_not_written() {
    if !is_root() {
        return skip("giving a file to another user needs root");
    }
    let dir = Dir::new("log-other");
    let log = dir.join("gunj-mesh.log");
    fs::write(&log, "not yours\n").unwrap();
    std::os::unix::fs::chown(&log, Some(1234), Some(1234)).unwrap();
    let err = stderr(&fail_under_helm(&dir, Some(&log)));
    assert!(err.contains("belongs to uid 1234"), "{err}");
    assert_eq!(fs::read_to_string(&log).unwrap(), "not yours\n");
}

/// Without a reader a FIFO would block the writer forever.
#[test]
fn a_fifo_log_is_refused_without_waiting() {
    let dir = Dir::new("log-fifo");
    let log = dir.join("gunj-mesh.log");
    mkfifo(&log);
    let mut child = dir
        .command()
        .env("HELM_PLUGIN_NAME", "gunj-mesh")
        .env("GUNJ_MESH_LOG", &log)
        .arg("-c")
        .arg(dir.join("missing-mesh.yaml"))
        .arg(EXAMPLE)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut stderr = stderr;
        let mut text = String::new();
        stderr.read_to_string(&mut text).map(|_| text)
    });
    let status = wait(child, "gunj-mesh logging to a FIFO");
    err.push_str(&reader.join().unwrap().unwrap());
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("is not a regular file"), "{err}");
}

/// The user's own directory in `$TMPDIR`, which nobody else can fill with links.
fn default_log_dir(dir: &Dir) -> PathBuf {
    let uid = fs::metadata(&dir.0).unwrap().uid();
    dir.join(&format!("tmp/gunj-mesh-{uid}"))
}

#[test]
fn the_default_log_is_private_and_per_user() {
    let dir = Dir::new("log-default");
    let out = fail_under_helm(&dir, None);
    let private = default_log_dir(&dir);
    let log = private.join("error.log");
    assert!(
        stderr(&out).contains(&format!("the error is also in {}", log.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(mode(&private), 0o700);
    assert_eq!(mode(&log), 0o600);
    assert_entry(&fs::read_to_string(&log).unwrap());
}

#[test]
fn a_default_log_directory_that_is_not_private_is_refused() {
    let dir = Dir::new("log-shared");
    let shared = default_log_dir(&dir);
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
    let err = stderr(&fail_under_helm(&dir, None));
    assert!(
        err.contains(&format!(
            "the error is not logged: {} has mode 0755, not 0700",
            shared.display()
        )),
        "{err}"
    );
    assert!(fs::read_dir(&shared).unwrap().next().is_none());
}

#[test]
fn a_default_log_directory_that_is_a_symlink_is_refused() {
    let dir = Dir::new("log-dirlink");
    let elsewhere = dir.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o700)).unwrap();
    let link = default_log_dir(&dir);
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let err = stderr(&fail_under_helm(&dir, None));
    assert!(
        err.contains(&format!(
            "the error is not logged: {} is a symlink",
            link.display()
        )),
        "{err}"
    );
    assert!(fs::read_dir(&elsewhere).unwrap().next().is_none());
}

/// `functions/helm/gunj-mesh/gunj-mesh.sh` where there is no binary to run: a `PATH` of just the tools
/// it uses, so that an installed gunj-mesh is not found.
fn plugin_script_without_binary(dir: &Dir, log: Option<&Path>) -> std::process::Output {
    let bin = dir.join("bin");
    let _ = fs::create_dir(&bin);
    for tool in ["id", "mkdir", "ls", "cut", "date"] {
        if bin.join(tool).exists() {
            continue;
        }
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} is not on PATH"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    let mut cmd = run::command("/bin/sh");
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/functions/helm/gunj-mesh/gunj-mesh.sh"
    ))
    .env("PATH", &bin)
    .env("TMPDIR", dir.join("tmp"))
    .env("HELM_PLUGIN_NAME", "gunj-mesh");
    if let Some(log) = log {
        cmd.env("GUNJ_MESH_LOG", log);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("binary not found"),
        "{}",
        stderr(&out)
    );
    out
}

#[test]
fn the_plugin_script_logs_where_the_binary_would() {
    let dir = Dir::new("script-default");
    plugin_script_without_binary(&dir, None);
    let private = default_log_dir(&dir);
    let log = private.join("error.log");
    assert_eq!(mode(&private), 0o700);
    assert_eq!(mode(&log), 0o600);
    plugin_script_without_binary(&dir, None);
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("binary not found").count(),
        2,
        "appended:\n{text}"
    );
}

#[test]
fn the_plugin_script_does_not_log_through_a_symlink() {
    let dir = Dir::new("script-link");
    let (log, victim) = (dir.join("gunj-mesh.log"), dir.join("victim"));
    fs::write(&victim, "not yours\n").unwrap();
    std::os::unix::fs::symlink("victim", &log).unwrap();
    plugin_script_without_binary(&dir, Some(&log));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "not yours\n");
}

// 6. The subcommands' stdout.

/// A disk that is full: a node of /dev/full's device (1, 7) in the temp dir.
#[test]
fn subcommands_fail_when_stdout_cannot_be_written() {
    let dir = Dir::new("full");
    let full = dir.join("full");
    if !mknod(&full, "c", 1, 7) {
        return;
    }
    for args in [
        &["schema"][..],
        &["init"],
        &["man"],
        &["completions", "bash"],
        &["explain", EXAMPLE],
        &["check", EXAMPLE],
    ] {
        let stdout = fs::OpenOptions::new().write(true).open(&full).unwrap();
        let out = dir
            .command()
            .args(args)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("gunj-mesh: error: stdout: cannot write: No space left on device"),
            "{args:?}: {err}"
        );
    }
}
