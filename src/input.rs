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
/// scan cannot vouch for) and leaving the others in the file. Errors are those of
/// [`read_whole`], at the same byte offsets.
///
/// A file of eight buffers or more is cut in two at a document boundary near its middle, and
/// the halves are read and scanned on two threads: the kernel's copy of the bytes costs about
/// what the scan does, so each thread does half of both.
pub fn read_file(name: &str, file: File, limit: usize, chunk: usize) -> Result<Input, Failure> {
    let stamp = stamp(&file).map_err(|e| cannot_read(name, e))?;
    let size = stamp.0;
    // What a whole read says first (the scan checks again as it reads: the file may grow).
    if size > limit as u64 {
        return Err(Failure::too_large(name, limit));
    }
    let scan = Scan {
        name,
        limit,
        chunk,
        file: &file,
    };
    // Positioned reads let two threads share the descriptor (elsewhere reads move one cursor).
    let two = cfg!(unix) && crate::parallel::threads() > 1 && size / 8 >= chunk as u64;
    let cut = if two {
        boundary_after(&file, size / 2, size - size / 8, chunk).map_err(|e| cannot_read(name, e))?
    } else {
        None
    };
    let part = match cut {
        None => scan.part(0..u64::MAX, None, true)?,
        Some(cut) => {
            // The second half assumes what almost every stream is: not a ResourceList, so
            // documents the filter never reads are left. Should the first half say otherwise,
            // the second is read again. It notes where its kept documents are instead of
            // copying them: growing a text on another thread takes fresh pages for its heap
            // (2 MiB ones), where the join reads them into this thread's text.
            let (first, second) = std::thread::scope(|threads| {
                let second = threads.spawn(|| scan.part(cut..u64::MAX, Some(false), false));
                let first = scan.part(0..cut, None, true);
                (first, second.join().expect("the reader thread panicked"))
            });
            let first = first?;
            let second = match first.keep_all {
                Some(false) => second?,
                keep_all => scan.part(cut..u64::MAX, keep_all, true)?,
            };
            first
                .join(second, &file)
                .map_err(|e| cannot_read(name, e))?
        }
    };
    let left = Left {
        file,
        stamp,
        runs: part.runs,
        bytes: part.bytes,
        api_versions: part.api_versions,
    };
    Ok(Input {
        name: name.to_string(),
        text: part.text,
        left: (!left.runs.is_empty()).then(|| Arc::new(left)),
    })
}

/// What a scan of part of a file keeps and leaves.
struct Part {
    /// The documents kept: copied into `text`, or noted as (offset, length) ranges of the
    /// file in `in_file`; `len` bytes either way.
    text: String,
    in_file: Vec<(u64, usize)>,
    len: usize,
    /// The runs left (at offsets in the kept text).
    runs: Vec<Run>,
    bytes: usize,
    api_versions: Vec<String>,
    /// Whether every document is kept: set by the first document with content.
    keep_all: Option<bool>,
}

impl Part {
    /// Keeps `doc`, found at `offset` in the file: copies its text, or notes where it is.
    fn keep(&mut self, doc: &stream::Doc, offset: usize, copy: bool) {
        if copy {
            self.text.push_str(doc.text);
        } else {
            match self.in_file.last_mut() {
                Some((at, len)) if *at + *len as u64 == offset as u64 => *len += doc.text.len(),
                _ => self.in_file.push((offset as u64, doc.text.len())),
            }
        }
        self.len += doc.text.len();
    }

    /// Adds `doc`, found at `offset` in the file, to the runs left.
    fn leave(&mut self, doc: &stream::Doc, offset: usize) {
        let at = self.len;
        let lines = memchr::memchr_iter(b'\n', doc.text.as_bytes()).count();
        self.bytes += doc.text.len();
        if let Some(v) = doc.header.api_version {
            self.add_api_version(v);
        }
        self.push_run(Run {
            at,
            offset: offset as u64,
            len: doc.text.len(),
            lines,
            docs: 1,
            opens_itself: doc.opens_itself(),
            ends_line: doc.text.ends_with('\n'),
        });
    }

    /// Adds `run`, which follows the runs so far in the file: to the last one when nothing
    /// was kept between them.
    fn push_run(&mut self, run: Run) {
        match self.runs.last_mut() {
            Some(last) if last.at == run.at => {
                last.len += run.len;
                last.lines += run.lines;
                last.docs += run.docs;
                last.ends_line = run.ends_line;
            }
            _ => self.runs.push(run),
        }
    }

    fn add_api_version(&mut self, v: &str) {
        if !self.api_versions.iter().any(|a| a == v) {
            self.api_versions.push(v.to_string());
        }
    }

    /// This part (with its text copied) followed by the next one of the same file: what one
    /// scan of both gives.
    fn join(mut self, next: Part, file: &File) -> io::Result<Part> {
        let shift = self.len;
        let mut text = std::mem::take(&mut self.text).into_bytes();
        text.reserve_exact(next.len);
        text.extend_from_slice(next.text.as_bytes());
        for &(offset, len) in &next.in_file {
            let end = text.len() + len;
            fill(file, &mut text, end, &mut { offset }, offset + len as u64)?;
            if text.len() < end {
                return Err(changed());
            }
        }
        // The scan saw these bytes as UTF-8; a file rewritten since may not be.
        std::str::from_utf8(&text[shift..]).map_err(|_| changed())?;
        // SAFETY: the first `shift` bytes were this part's `String` and the rest was just
        // validated; two valid UTF-8 texts make one.
        self.text = unsafe { String::from_utf8_unchecked(text) };
        self.len += next.len;
        self.bytes += next.bytes;
        for v in &next.api_versions {
            self.add_api_version(v);
        }
        // Documents left on both sides of the cut become one run, as in one scan.
        for run in next.runs {
            self.push_run(Run {
                at: run.at + shift,
                ..run
            });
        }
        Ok(self)
    }
}

/// The start of the first boundary line (`---`, `...`) that starts after the first line end
/// at or after `from` and ends before `until`: where a second scan can start. None when there
/// is none (a document around `from` that runs past `until`, or a file that ends first).
fn boundary_after(file: &File, from: u64, until: u64, chunk: usize) -> io::Result<Option<u64>> {
    let mut buf = Vec::new();
    // The file offset of `buf[0]`, and of the next read.
    let (mut base, mut pos) = (from, from);
    loop {
        let want = buf.len() + chunk.max(64);
        let eof = fill(file, &mut buf, want, &mut pos, until)?;
        // The next line start is looked for from `searched` on.
        let mut searched = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[searched..]) {
            let start = searched + i + 1;
            let Some(end) = memchr::memchr(b'\n', &buf[start..]).map(|j| start + j + 1) else {
                // A line cut by the buffer's end is judged once it is whole.
                break;
            };
            if std::str::from_utf8(&buf[start..end]).is_ok_and(stream::is_boundary) {
                return Ok(Some(base + start as u64));
            }
            searched = start;
        }
        if eof {
            return Ok(None);
        }
        // Only the line being judged stays in memory.
        buf.drain(..searched);
        base += searched as u64;
    }
}

/// What [`read_file`]'s scans share.
struct Scan<'a> {
    name: &'a str,
    limit: usize,
    chunk: usize,
    file: &'a File,
}

impl Scan<'_> {
    /// Scans the part of the file in `range` (to its end at most): `keep_all` is what the
    /// documents before it decided, if anything, and `copy` whether kept documents are
    /// copied or only noted.
    fn part(
        &self,
        range: std::ops::Range<u64>,
        keep_all: Option<bool>,
        copy: bool,
    ) -> Result<Part, Failure> {
        let Scan {
            name,
            limit,
            chunk,
            file,
        } = *self;
        let mut part = Part {
            text: String::new(),
            in_file: Vec::new(),
            len: 0,
            runs: Vec::new(),
            bytes: 0,
            api_versions: Vec::new(),
            keep_all,
        };
        let mut buf: Vec<u8> = Vec::with_capacity(chunk);
        // The file offset of `buf[0]` and of the next read; the read size grows while one
        // document fills `buf`. The first read is long enough to see a UTF-16 byte order mark.
        let (mut base, mut pos, mut want) = (range.start as usize, range.start, chunk.max(2));
        loop {
            let eof = fill(file, &mut buf, want, &mut pos, range.end)
                .map_err(|e| cannot_read(name, e))?;
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
                if !doc.header.empty && part.keep_all.is_none() {
                    // A ResourceList (or a document the scan cannot read) first: KRM mode and
                    // its checks read every document.
                    part.keep_all =
                        Some(doc.header.opaque || doc.header.kind == Some("ResourceList"));
                }
                if part.keep_all == Some(true) || doc.header.empty || crate::is_candidate(&doc) {
                    part.keep(&doc, base + range.start, copy);
                } else {
                    part.leave(&doc, base + range.start);
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
        Ok(part)
    }
}

/// Reads from `*pos` until `buf` holds `want` bytes; true when the file or `end` came first.
fn fill(file: &File, buf: &mut Vec<u8>, want: usize, pos: &mut u64, end: u64) -> io::Result<bool> {
    while buf.len() < want {
        let room = (want - buf.len()).min(usize::try_from(end - *pos).unwrap_or(usize::MAX));
        let n = if room == 0 {
            0
        } else {
            read_into(file, buf, room, *pos)?
        };
        if n == 0 {
            return Ok(true);
        }
        *pos += n as u64;
    }
    Ok(*pos >= end)
}

/// Appends at most `room` bytes read at `offset` to `buf`; how many (none at the file's end).
/// The bytes go straight into spare capacity: no zeroing first.
#[cfg(target_os = "linux")]
fn read_into(file: &File, buf: &mut Vec<u8>, room: usize, offset: u64) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    buf.reserve(room);
    let offset = libc::off_t::try_from(offset).map_err(io::Error::other)?;
    loop {
        let spare = buf.spare_capacity_mut();
        // SAFETY: pread(2) writes at most `room` bytes, within the spare capacity just
        // reserved, and touches no other memory of ours.
        let n = unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), room, offset) };
        match usize::try_from(n) {
            Ok(n) => {
                // SAFETY: pread(2) initialised these `n` bytes after the old length.
                unsafe { buf.set_len(buf.len() + n) };
                return Ok(n);
            }
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn read_into(file: &File, buf: &mut Vec<u8>, room: usize, offset: u64) -> io::Result<usize> {
    let len = buf.len();
    buf.resize(len + room, 0);
    let read = loop {
        match read_some_at(file, &mut buf[len..], offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            read => break read,
        }
    };
    buf.truncate(len + *read.as_ref().unwrap_or(&0));
    read
}

#[cfg(all(unix, not(target_os = "linux")))]
fn read_some_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_some_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
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
