//! Reads the inputs: whole, or from a file without keeping the documents the filter never
//! reads.
//!
//! Most bytes of a rendered stream are dashboards, rules and CRDs that the filter copies as
//! they are. Read from a regular file, such documents are left in the file ([`Left`]): the
//! header scan sees them once as the file streams through a small buffer, and the output
//! copies them from the file again (by `sendfile(2)` on Linux). Of a 100 MB stream, about a
//! tenth is then held in memory. The text the filter sees is the input with those
//! documents cut out at document boundaries, so it splits into exactly the kept documents;
//! [`crate::documents`] restores their line numbers and document numbers.

use crate::error::Failure;
use crate::stream;
use std::fs::File;
use std::io::{self, Read, Write};
#[cfg(not(unix))]
use std::io::{Seek, SeekFrom};
use std::sync::Arc;
use std::time::SystemTime;

/// One input: a file name (or `-`) and its text.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    /// The text the filter reads: all of the input, or all but the documents in `left`.
    pub text: String,
    /// The documents left in the input's file ([`read_file`]).
    pub left: Option<Arc<Left>>,
}

impl Input {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Input {
        Input {
            name: name.into(),
            text: text.into(),
            left: None,
        }
    }

    /// The input's size in bytes, documents left in the file included.
    pub fn bytes(&self) -> usize {
        self.text.len() + self.left.as_ref().map_or(0, |l| l.bytes)
    }

    /// The runs of documents left in the file, in stream order.
    pub fn runs(&self) -> &[Run] {
        self.left.as_ref().map_or(&[], |l| &l.runs)
    }
}

/// Documents of a file that the filter never reads, to be copied from the file on output.
#[derive(Debug)]
pub struct Left {
    file: File,
    /// The file's length and modification time when it was read, checked again after the
    /// copies: a file rewritten in place meanwhile is an error, not a torn output.
    stamp: (u64, Option<SystemTime>),
    runs: Vec<Run>,
    bytes: usize,
    /// The distinct `apiVersion`s of the documents left out: `type: auto` and the
    /// prometheus-operator check read them.
    pub api_versions: Vec<String>,
}

/// Consecutive documents left in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Where in [`Input::text`] they were cut out.
    pub at: usize,
    /// Where they are in the file, and how long.
    pub offset: u64,
    pub len: usize,
    /// How many `\n`s and (non-empty) documents they hold.
    pub lines: usize,
    pub docs: usize,
    /// The first document starts with its own `---` line; the last byte is a `\n`.
    pub opens_itself: bool,
    pub ends_line: bool,
}

impl Left {
    /// Copies `run` from the file to `out` through `scratch`, with positioned reads: for
    /// writers without a file descriptor, and descriptors [`Left::send`] cannot write to.
    pub fn copy(&self, run: &Run, scratch: &mut Vec<u8>, out: &mut impl Write) -> io::Result<()> {
        const BLOCK: usize = 1 << 16;
        scratch.resize(BLOCK, 0);
        let mut done = 0;
        while done < run.len {
            let n = (run.len - done).min(BLOCK);
            read_at(&self.file, &mut scratch[..n], run.offset + done as u64).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    changed()
                } else {
                    e
                }
            })?;
            out.write_all(&scratch[..n])?;
            done += n;
        }
        Ok(())
    }

    /// Sends `run` from the file to `out` by `sendfile(2)`: no copy through memory, and for
    /// a pipe not even in the kernel. False when `out` cannot take it (a file opened for
    /// appending, say): nothing was sent, and a copy must do.
    #[cfg(target_os = "linux")]
    pub fn send(&self, run: &Run, out: &impl std::os::fd::AsFd) -> io::Result<bool> {
        use std::os::fd::AsRawFd;
        let (out, file) = (out.as_fd().as_raw_fd(), self.file.as_raw_fd());
        let mut offset = libc::off_t::try_from(run.offset).map_err(io::Error::other)?;
        let mut left = run.len;
        while left > 0 {
            // SAFETY: both descriptors are open for the call (borrowed from live owners), and
            // `offset` is a valid off_t the kernel advances; sendfile(2) touches no other
            // memory of ours.
            let sent = unsafe { libc::sendfile(out, file, &mut offset, left) };
            match sent {
                0 => return Err(changed()),
                n if n > 0 => left -= n as usize,
                _ => {
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EINTR) => {}
                        Some(libc::EINVAL | libc::ENOSYS) if left == run.len => return Ok(false),
                        _ => return Err(e),
                    }
                }
            }
        }
        Ok(true)
    }

    /// Fails when the file's length or modification time differ from when it was read.
    pub fn unchanged(&self) -> io::Result<()> {
        if stamp(&self.file)? == self.stamp {
            Ok(())
        } else {
            Err(changed())
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

fn changed() -> io::Error {
    io::Error::other("the input file changed while gunj-mesh was reading it")
}

fn stamp(file: &File) -> io::Result<(u64, Option<SystemTime>)> {
    let meta = file.metadata()?;
    Ok((meta.len(), meta.modified().ok()))
}

/// Reads all of `reader` (at most `limit` bytes) as UTF-8 text.
pub fn read_whole(
    name: &str,
    reader: impl Read,
    size_hint: u64,
    limit: usize,
) -> Result<Input, Failure> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    // One allocation of the file's size: growing the buffer by doubling copies and faults
    // in up to twice the input (`Take` hides the size hint `read_to_end` uses).
    bytes.reserve_exact(
        usize::try_from(size_hint.min(cap))
            .unwrap_or(0)
            .saturating_add(1),
    );
    reader
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot_read(name, e))?;
    if bytes.len() > limit {
        return Err(Failure::too_large(name, limit));
    }
    check_utf16(name, &bytes)?;
    let text =
        String::from_utf8(bytes).map_err(|e| not_utf8(name, e.utf8_error().valid_up_to()))?;
    Ok(Input::new(name, text))
}

/// Reads a regular file through a buffer of about `chunk` bytes, keeping the documents the
/// filter may read (workloads, Services, Namespaces, Lists, configs and anything the header
/// scan cannot vouch for) and leaving the others in the file. Errors are
/// those of [`read_whole`], at the same byte offsets.
pub fn read_file(name: &str, mut file: File, limit: usize, chunk: usize) -> Result<Input, Failure> {
    let stamp = stamp(&file).map_err(|e| cannot_read(name, e))?;
    let left = Left {
        file: file.try_clone().map_err(|e| cannot_read(name, e))?,
        stamp,
        runs: Vec::new(),
        bytes: 0,
        api_versions: Vec::new(),
    };
    // The reader's block: big enough that handing blocks over costs little next to
    // copying them. A thread only pays from a few blocks on.
    let block = chunk.max(1 << 16);
    if stamp.0 > 8 * block as u64 && crate::parallel::threads() > 1 {
        read_ahead(file, block, |fill| scan(name, limit, chunk, left, fill))
    } else {
        scan(name, limit, chunk, left, |buf, want| {
            fill(&mut file, buf, want)
        })
    }
}

/// Runs `f` with a `fill` that takes the file's bytes from a thread reading ahead: the
/// kernel's copy of the next chunks from the page cache (about a tenth of a 10 MB run)
/// overlaps the scan of this one.
fn read_ahead<T>(
    mut file: File,
    chunk: usize,
    f: impl FnOnce(&mut dyn FnMut(&mut Vec<u8>, usize) -> io::Result<bool>) -> T,
) -> T {
    use std::sync::mpsc;
    let (full, filled) = mpsc::sync_channel::<io::Result<Vec<u8>>>(2);
    let (empty, emptied) = mpsc::channel::<Vec<u8>>();
    // Three buffers go round, allocated here: the reader allocates nothing.
    for _ in 0..3 {
        let _ = empty.send(vec![0; chunk]);
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // Ends at the end of the file, at an error, or when the scan stops listening.
            while let Ok(mut buf) = emptied.recv() {
                buf.resize(chunk, 0);
                let n = match fill_from(&mut file, &mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) => {
                        let _ = full.send(Err(e));
                        return;
                    }
                };
                buf.truncate(n);
                if full.send(Ok(buf)).is_err() {
                    return;
                }
            }
        });
        let mut fill = move |buf: &mut Vec<u8>, want: usize| {
            while buf.len() < want {
                match filled.recv() {
                    Ok(Ok(chunk)) => {
                        buf.extend_from_slice(&chunk);
                        let _ = empty.send(chunk);
                    }
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Ok(true),
                }
            }
            Ok(false)
        };
        let out = f(&mut fill);
        // Closes both channels: a reader still at work (the scan stopped early, at an
        // error) fails to send or to get a buffer, and ends.
        drop(fill);
        out
    })
}

/// [`read_file`]'s scan: `fill(buf, want)` appends the file's next bytes to `buf` until it
/// holds `want` (true when the file ended first).
fn scan(
    name: &str,
    limit: usize,
    chunk: usize,
    mut left: Left,
    mut fill: impl FnMut(&mut Vec<u8>, usize) -> io::Result<bool>,
) -> Result<Input, Failure> {
    let mut text = String::new();
    let mut buf: Vec<u8> = Vec::with_capacity(chunk);
    // The file offset of `buf[0]`; the read size grows while one document fills `buf`. The
    // first read is long enough to see a UTF-16 byte order mark.
    let (mut base, mut want) = (0usize, chunk.max(2));
    let mut keep_all = None;
    loop {
        let eof = fill(&mut buf, want).map_err(|e| cannot_read(name, e))?;
        if base + buf.len() > limit {
            return Err(Failure::too_large(name, limit));
        }
        if base == 0 {
            check_utf16(name, &buf)?;
        }
        let valid = match std::str::from_utf8(&buf) {
            Ok(s) => s.len(),
            // A character cut by the end of the buffer: the next read completes it.
            Err(e) if e.error_len().is_none() && !eof => e.valid_up_to(),
            Err(e) => return Err(not_utf8(name, base + e.valid_up_to())),
        };
        // SAFETY: `from_utf8` just validated exactly these bytes.
        let s = unsafe { std::str::from_utf8_unchecked(&buf[..valid]) };
        // Only whole lines can be judged as boundaries: a `---` at the buffer's end might
        // continue as `----`.
        let lines = if eof {
            s
        } else {
            &s[..s.rfind('\n').map_or(0, |i| i + 1)]
        };
        let mut start = 0;
        let mut take = |range: std::ops::Range<usize>| {
            let doc = stream::make_doc(0, s, range.clone(), 0);
            if !doc.header.empty && keep_all.is_none() {
                // A ResourceList (or a document the scan cannot read) first: KRM mode and
                // its checks read every document.
                keep_all = Some(doc.header.opaque || doc.header.kind == Some("ResourceList"));
            }
            if keep_all == Some(true) || doc.header.empty || crate::is_candidate(&doc) {
                text.push_str(doc.text);
            } else {
                leave(&mut left, &doc, text.len(), base + range.start);
            }
        };
        for end in stream::boundaries(lines) {
            take(start..end);
            start = end;
        }
        if eof {
            take(start..s.len());
            break;
        }
        if start == 0 {
            // One document fills the buffer: read more of it.
            want = (buf.len() * 2).max(chunk);
        } else {
            buf.drain(..start);
            base += start;
            want = chunk.max(buf.len() * 2);
        }
    }
    let input = Input {
        name: name.to_string(),
        text,
        left: (!left.runs.is_empty()).then(|| Arc::new(left)),
    };
    Ok(input)
}

/// Adds `doc`, found at `offset` in the file, to the runs left in it.
fn leave(left: &mut Left, doc: &stream::Doc, at: usize, offset: usize) {
    let lines = memchr::memchr_iter(b'\n', doc.text.as_bytes()).count();
    left.bytes += doc.text.len();
    if let Some(v) = doc.header.api_version
        && !left.api_versions.iter().any(|a| a == v)
    {
        left.api_versions.push(v.to_string());
    }
    let ends_line = doc.text.ends_with('\n');
    match left.runs.last_mut() {
        Some(run) if run.at == at => {
            run.len += doc.text.len();
            run.lines += lines;
            run.docs += 1;
            run.ends_line = ends_line;
        }
        _ => left.runs.push(Run {
            at,
            offset: offset as u64,
            len: doc.text.len(),
            lines,
            docs: 1,
            opens_itself: doc.opens_itself(),
            ends_line,
        }),
    }
}

/// Reads until `buf` holds `want` bytes or the file ends; true at the end.
fn fill(file: &mut File, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let len = buf.len();
    buf.resize(want.max(len), 0);
    let n = fill_from(file, &mut buf[len..])?;
    buf.truncate(len + n);
    Ok(buf.len() < want)
}

/// Reads into all of `buf` unless the file ends first; how many bytes it read.
fn fill_from(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

fn cannot_read(name: &str, e: io::Error) -> Failure {
    Failure::input(name, format!("cannot read: {e}"))
}

fn check_utf16(name: &str, bytes: &[u8]) -> Result<(), Failure> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Failure::input(
            name,
            "the input is UTF-16; Kubernetes manifests must be UTF-8".into(),
        )
        .hint("convert it, e.g. `iconv -f UTF-16 -t UTF-8`"));
    }
    Ok(())
}

fn not_utf8(name: &str, at: usize) -> Failure {
    Failure::input(name, format!("not valid UTF-8 at byte {at}"))
        .hint("Kubernetes manifests must be UTF-8")
}
