//! The files gunj-mesh writes besides stdout: `-o FILE` ([`Target`]) and, under Helm 4, the
//! error log ([`log_error`]).
//!
//! gunj-mesh often runs as root (CI jobs, containers) on paths in shared directories such as
//! `/tmp`. Neither file may be steered onto another file by a symlink or a planted name, nor
//! become readable by more users than before, nor be left half-written.

use crate::sys;
use std::collections::hash_map::RandomState;
use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::hash::BuildHasher;
use std::io::{self, ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{
    DirBuilderExt, FileExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where `-o FILE` writes, chosen by what `FILE` is before any work is done, so that a path
/// that cannot be written fails at once:
///
/// - a path that does not exist yet, or a regular file: replaced atomically. The output goes
///   to a new temporary file in the same directory, created exclusively (`O_EXCL`, never
///   through a symlink) under an unpredictable name, which is renamed over the path once it
///   is complete. Until then the path is untouched; on a failure or on SIGTERM, SIGINT or
///   SIGHUP the temporary file is removed. An existing file keeps its mode and owner (a
///   file owned by another user that gunj-mesh cannot give back to them is refused); a new
///   file gets mode 0600 when the output holds a Secret ([`holds_secret`]), else 0666 less
///   the umask. Hard links to a replaced file keep the old content.
/// - a FIFO or a character device (`/dev/stdout` on a pipe or a terminal, `/dev/null`):
///   written through, opened for writing once the output is ready, never created, replaced
///   or truncated.
/// - a symlink: followed as open(2) follows one (so `fs.protected_symlinks` applies), and the
///   rules above apply to what it points to. A symlink to a regular file replaces that file
///   and stays a symlink; a symlink to nothing is refused.
/// - anything else (a directory, a socket, a block device): refused.
#[derive(Debug)]
pub struct Target {
    how: How,
}

#[derive(Debug)]
enum How {
    Through(PathBuf),
    Replace {
        temp: Temp,
        /// The path renamed over: the one given, or where its symlink points.
        dest: PathBuf,
        umask: libc::mode_t,
    },
}

/// What -o writes to, for the refusals.
const WRITES_TO: &str = "-o writes only to a regular file (replaced whole), a path that does not exist yet, a FIFO or a character device";

impl Target {
    pub fn prepare(path: &Path) -> io::Result<Target> {
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == ErrorKind::NotFound => Target::replace(path),
            Err(e) => Err(e),
            Ok(meta) if meta.file_type().is_symlink() => Target::follow(path),
            Ok(meta) => Target::by_type(path, path, &meta, "it is"),
        }
    }

    /// Writes the output through `write` and puts it in place.
    pub fn commit(self, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
        match self.how {
            How::Through(path) => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NOCTTY)
                    .open(&path)?;
                let kind = file.metadata()?.file_type();
                if !(kind.is_fifo() || kind.is_char_device()) {
                    return Err(refusal("it is no longer a FIFO or a character device"));
                }
                write(&mut file)
            }
            How::Replace {
                mut temp,
                dest,
                umask,
            } => {
                let existing = match fs::symlink_metadata(&dest) {
                    Ok(meta) if meta.is_file() => Some(meta),
                    Ok(_) => {
                        return Err(refusal(&format!(
                            "{} is no longer a regular file",
                            dest.display()
                        )));
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
                if let Some(meta) = &existing {
                    keep_owner_and_mode(&temp.file, meta)?;
                }
                write(&mut temp.file)?;
                let mode = 0o666 & !umask;
                if existing.is_none() && mode & 0o077 != 0 && !holds_secret(&temp.file)? {
                    temp.file.set_permissions(Permissions::from_mode(mode))?;
                }
                temp.rename_to(&dest)
            }
        }
    }

    fn replace(dest: &Path) -> io::Result<Target> {
        Ok(Target {
            how: How::Replace {
                temp: Temp::beside(dest)?,
                dest: dest.to_path_buf(),
                umask: sys::umask(),
            },
        })
    }

    /// A symlink: what it points to decides.
    fn follow(path: &Path) -> io::Result<Target> {
        // O_PATH: nothing is opened for reading or writing, but the link is followed as by
        // any open(2), with the kernel's checks.
        let pointed = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(path)
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => refusal(&format!(
                    "it is a symlink to {}, which does not exist; {WRITES_TO}",
                    fs::read_link(path).unwrap_or_default().display()
                )),
                _ => io::Error::new(e.kind(), format!("cannot follow the symlink: {e}")),
            })?;
        let meta = pointed.metadata()?;
        if !meta.is_file() {
            return Target::by_type(path, path, &meta, "it is a symlink to");
        }
        let dest = fs::canonicalize(path)?;
        let same = fs::symlink_metadata(&dest)
            .is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()));
        if !same {
            return Err(refusal("the symlink changed while gunj-mesh followed it"));
        }
        Target::by_type(path, &dest, &meta, "it is a symlink to")
    }

    /// `path` (or `dest`, what its symlink points to) by its type, described as `what`.
    fn by_type(path: &Path, dest: &Path, meta: &Metadata, what: &str) -> io::Result<Target> {
        let kind = meta.file_type();
        let name = if kind.is_file() {
            return Target::replace(dest);
        } else if kind.is_fifo() || kind.is_char_device() {
            return Ok(Target {
                how: How::Through(path.to_path_buf()),
            });
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_block_device() {
            "a block device"
        } else {
            "not a file"
        };
        Err(refusal(&format!("{what} {name}; {WRITES_TO}")))
    }
}

fn refusal(message: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, message)
}

/// Gives the temporary file `meta`'s owner and mode. Only root may give a file away: for
/// another user's file that fails, and the file is refused rather than taken over. A group
/// that a user's own file cannot keep (one they are not in) becomes theirs.
fn keep_owner_and_mode(file: &File, meta: &Metadata) -> io::Result<()> {
    let ours = file.metadata()?.uid() == meta.uid();
    let owner = (!ours).then_some(meta.uid());
    match std::os::unix::fs::fchown(file, owner, Some(meta.gid())) {
        Err(e) if !(ours && e.raw_os_error() == Some(libc::EPERM)) => {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "cannot keep the file's owner (uid {}, gid {}) on its replacement: {e}",
                    meta.uid(),
                    meta.gid()
                ),
            ));
        }
        _ => {}
    }
    // After fchown, which clears the set-user-ID and set-group-ID bits.
    file.set_permissions(Permissions::from_mode(meta.mode() & 0o7777))
}

/// Whether `file` holds a `kind: Secret` (in block, flow or JSON style, at any indentation:
/// a ResourceList's items too). An approximation that errs towards 0600: a `kind` written
/// with a tag, an alias or over two lines is missed, a `kind: Secret` inside a string or a
/// comment counts.
fn holds_secret(file: &File) -> io::Result<bool> {
    const CHUNK: usize = 1 << 20;
    /// Kept from the previous chunk: longer than any match but one padded with spaces.
    const OVERLAP: usize = 64;
    let mut buf = vec![0; OVERLAP + CHUNK];
    let (mut kept, mut offset) = (0, 0);
    loop {
        let n = match file.read_at(&mut buf[kept..], offset) {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        offset += n as u64;
        let end = kept + n;
        if mentions_secret(&buf[..end]) {
            return Ok(true);
        }
        kept = end.min(OVERLAP);
        buf.copy_within(end - kept..end, 0);
    }
}

/// Whether `text` has a `kind: Secret` pair, or a `kind` whose double-quoted value has an
/// escape (`"Secr\u0065t"` is a Secret too): see [`holds_secret`].
fn mentions_secret(text: &[u8]) -> bool {
    plain_secret(text) || escaped_kind(text)
}

/// Whether a `kind` key's double-quoted value holds a backslash.
fn escaped_kind(text: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = text[from..].windows(4).position(|w| w == b"kind") {
        let at = from + i;
        from = at + 4;
        let key = at == 0
            || matches!(text[at - 1], b'"' | b'\'' | b'-' | b'{' | b',')
            || text[at - 1].is_ascii_whitespace();
        if !key {
            continue;
        }
        let mut j = from;
        let skip = |j: &mut usize, c: &[u8]| {
            while text.get(*j).is_some_and(|b| c.contains(b)) {
                *j += 1;
            }
        };
        skip(&mut j, b"\"'");
        skip(&mut j, b" \t");
        if text.get(j) != Some(&b':') {
            continue;
        }
        j += 1;
        skip(&mut j, b" \t");
        if text.get(j) != Some(&b'"') {
            continue;
        }
        let value = &text[j + 1..];
        let end = value
            .iter()
            .position(|&c| c == b'"' || c == b'\n')
            .unwrap_or(value.len());
        if value[..end].contains(&b'\\') {
            return true;
        }
    }
    false
}

/// Whether `text` has a `kind: Secret` pair.
fn plain_secret(text: &[u8]) -> bool {
    const WORD: &[u8] = b"Secret";
    let is_quote = |c: u8| c == b'"' || c == b'\'';
    let is_space = |c: u8| c == b' ' || c == b'\t';
    let mut from = 0;
    while let Some(i) = text[from..].iter().position(|&c| c == b'S') {
        let at = from + i;
        from = at + 1;
        if !text[at..].starts_with(WORD) {
            continue;
        }
        let ends = text.get(at + WORD.len()).is_none_or(|&c| {
            is_quote(c) || c.is_ascii_whitespace() || matches!(c, b',' | b'}' | b'#')
        });
        if !ends {
            continue;
        }
        // Backwards: an optional quote, spaces, `:`, spaces, an optional quote, `kind`.
        let mut j = at;
        if j > 0 && is_quote(text[j - 1]) {
            j -= 1;
        }
        while j > 0 && is_space(text[j - 1]) {
            j -= 1;
        }
        if j == 0 || text[j - 1] != b':' {
            continue;
        }
        j -= 1;
        while j > 0 && is_space(text[j - 1]) {
            j -= 1;
        }
        if j > 0 && is_quote(text[j - 1]) {
            j -= 1;
        }
        if j < 4 || &text[j - 4..j] != b"kind" {
            continue;
        }
        j -= 4;
        if j == 0
            || is_quote(text[j - 1])
            || text[j - 1].is_ascii_whitespace()
            || matches!(text[j - 1], b'-' | b'{' | b',')
        {
            return true;
        }
    }
    false
}

/// The temporary file of an atomic replacement, removed unless renamed into place.
#[derive(Debug)]
struct Temp {
    file: File,
    path: Option<PathBuf>,
}

impl Temp {
    /// A new file `.NAME.gunj-mesh-RANDOM` in `dest`'s directory, mode 0600 until the
    /// output is written.
    fn beside(dest: &Path) -> io::Result<Temp> {
        /// Leaves room for the suffix within NAME_MAX (255 bytes).
        const MAX_STEM: usize = 200;
        let name = dest
            .file_name()
            .ok_or_else(|| refusal(&format!("it names no file; {WRITES_TO}")))?;
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let stem = &name.as_bytes()[..name.len().min(MAX_STEM)];
        // Keyed from the operating system's random source: others cannot guess the name.
        let keys = RandomState::new();
        for attempt in 0..64_u32 {
            let mut file_name = OsString::from(".");
            file_name.push(std::ffi::OsStr::from_bytes(stem));
            file_name.push(format!(
                ".gunj-mesh-{:016x}",
                keys.hash_one((attempt, std::process::id()))
            ));
            let path = dir.join(file_name);
            // Armed first: a signal right after the file is made must remove it.
            let armed = sys::remove_on_signal(&path);
            // Readable too, for [`holds_secret`].
            let created = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path);
            match created {
                Ok(file) => {
                    return Ok(Temp {
                        file,
                        path: Some(path),
                    });
                }
                Err(e) => {
                    if armed {
                        sys::keep_on_signal();
                    }
                    if e.kind() != ErrorKind::AlreadyExists {
                        return Err(io::Error::new(
                            e.kind(),
                            format!("cannot create a temporary file in {}: {e}", dir.display()),
                        ));
                    }
                }
            }
        }
        Err(io::Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "cannot create a temporary file in {}: every name tried exists",
                dir.display()
            ),
        ))
    }

    fn rename_to(mut self, dest: &Path) -> io::Result<()> {
        let path = self.path.take().expect("a temporary file has a path");
        let renamed = fs::rename(&path, dest);
        if renamed.is_err() {
            let _ = fs::remove_file(&path);
        }
        sys::keep_on_signal();
        renamed
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
            sys::keep_on_signal();
        }
    }
}

/// Writes `bytes` to stdout. A closed pipe (`| head`) is the reader's choice, not an error.
pub fn to_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        done => done,
    }
}

/// The first `# Source:` path of the inputs, for the log ([`note_source`]).
static SOURCE: OnceLock<String> = OnceLock::new();

/// Notes the first `# Source:` path of `texts`, which names the chart of a Helm release, for
/// [`log_error`]. Only under Helm 4 (`HELM_PLUGIN_NAME` set), where the log is written.
/// Only the comments that open a document count: a quoted scalar may go on at column 0,
/// so a line of a Secret's data can look like one. The path is escaped
/// ([`gunj_mesh::redact::line`]).
pub fn note_source<'a>(texts: impl IntoIterator<Item = &'a str>) {
    const MARK: &str = "# Source: ";
    if std::env::var_os("HELM_PLUGIN_NAME").is_none() {
        return;
    }
    for text in texts {
        let mut head = true;
        for line in text.lines() {
            let line = line.trim_end();
            let boundary = (line.starts_with("---") || line.starts_with("..."))
                && line[3..].chars().next().is_none_or(char::is_whitespace);
            if boundary {
                head = true;
            } else if !line.is_empty() && !line.starts_with('#') {
                head = false;
            } else if head && let Some(path) = line.strip_prefix(MARK) {
                let _ = SOURCE.set(gunj_mesh::redact::line(path.trim()).into_owned());
                return;
            }
        }
    }
}

/// What [`note_source`] found.
pub fn noted_source() -> Option<&'static str> {
    SOURCE.get().map(String::as_str)
}

/// Appends `message` to the error log, under a line with the time (RFC 3339, UTC) and one
/// with `context` (a `# Source:` path), and says so on stderr. The log is
/// `$GUNJ_MESH_LOG`, else `error.log` in the directory `$TMPDIR/gunj-mesh-UID` (made with
/// mode 0700). It is written only if it is a regular file of ours, never through a symlink,
/// and made with mode 0600; the directory only if it is ours, has mode 0700 and is no
/// symlink. Otherwise stderr says why nothing was logged.
pub fn log_error(message: &str, context: Option<&str>) {
    let mut entry = timestamp(std::time::SystemTime::now());
    entry.push('\n');
    if let Some(source) = context {
        entry.push_str(&format!("# Source: {source}\n"));
    }
    entry.push_str(message);
    if !entry.ends_with('\n') {
        entry.push('\n');
    }
    let note = match log_path().and_then(|path| append(&path, &entry).map(|()| path)) {
        Ok(path) => format!("gunj-mesh: the error is also in {}\n", path.display()),
        Err(e) => format!("gunj-mesh: the error is not logged: {e}\n"),
    };
    let _ = io::stderr().write_all(note.as_bytes());
}

fn log_path() -> io::Result<PathBuf> {
    if let Some(path) = std::env::var_os("GUNJ_MESH_LOG").filter(|p| !p.is_empty()) {
        return Ok(path.into());
    }
    let uid = sys::euid();
    let dir = std::env::temp_dir().join(format!("gunj-mesh-{uid}"));
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        // The umask may have taken bits away.
        Ok(()) => fs::set_permissions(&dir, Permissions::from_mode(0o700))?,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot make {}: {e}", dir.display()),
            ));
        }
    }
    let meta = fs::symlink_metadata(&dir)?;
    let why = if meta.file_type().is_symlink() {
        "is a symlink".to_string()
    } else if !meta.is_dir() {
        "is not a directory".to_string()
    } else if meta.uid() != uid {
        format!("belongs to uid {}, not to uid {uid}", meta.uid())
    } else if meta.mode() & 0o777 != 0o700 {
        format!("has mode {:04o}, not 0700", meta.mode() & 0o7777)
    } else {
        return Ok(dir.join("error.log"));
    };
    Err(refusal(&format!("{} {why}", dir.display())))
}

/// Appends `entry` to the log at `path`, if it is a regular file of ours or does not exist.
fn append(path: &Path, entry: &str) -> io::Result<()> {
    let uid = sys::euid();
    let check = |meta: &Metadata| {
        let why = if meta.file_type().is_symlink() {
            "is a symlink".to_string()
        } else if !meta.is_file() {
            "is not a regular file".to_string()
        } else if meta.uid() != uid {
            format!("belongs to uid {}, not to uid {uid}", meta.uid())
        } else {
            return Ok(());
        };
        Err(refusal(&format!("{} {why}", path.display())))
    };
    let before = match fs::symlink_metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = &before {
        check(meta)?;
    }
    // O_NONBLOCK: should the path become a FIFO meanwhile, opening it does not wait.
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refusal(&format!("{} is a symlink", path.display())),
            _ => io::Error::new(e.kind(), format!("{}: {e}", path.display())),
        })?;
    let meta = file.metadata()?;
    check(&meta)?;
    if before.is_some_and(|b| (b.dev(), b.ino()) != (meta.dev(), meta.ino())) {
        return Err(refusal(&format!(
            "{} changed while gunj-mesh opened it",
            path.display()
        )));
    }
    file.write_all(entry.as_bytes())
}

/// `time` as RFC 3339 in UTC, to the second: `2024-02-29T12:34:56Z`.
fn timestamp(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // The proleptic Gregorian date of a day number (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_rfc_3339_utc() {
        let at = |secs| timestamp(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn secrets_in_any_style_are_found() {
        for text in [
            "kind: Secret\n",
            "apiVersion: v1\nkind: Secret",
            "items:\n- kind: Secret\n",
            "  kind: \"Secret\" # quoted\n",
            "{\"apiVersion\":\"v1\",\"kind\":\"Secret\"}",
            "{kind: Secret, metadata: {}}",
            "kind:  'Secret'\r\n",
            "kind: \"Secr\\u0065t\"\n",
            "{\"kind\": \"\\u0053ecret\"}",
        ] {
            assert!(mentions_secret(text.as_bytes()), "{text:?}");
        }
        for text in [
            "kind: SecretProviderClass\n",
            "kind: ConfigMap\nsecret: Secret\n",
            "subkind: Secret\n",
            "Secret",
            "kind: ExternalSecret\n",
        ] {
            assert!(!mentions_secret(text.as_bytes()), "{text:?}");
        }
    }
}
