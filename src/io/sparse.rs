//! Reads a regular file without keeping the documents the filter never reads.
//!
//! Most bytes of a rendered stream are dashboards, rules and CRDs that the filter copies as
//! they are. Read from a regular file, such documents are left in the file
//! ([`super::left::Left`]): the header scan sees them once as the file streams through a
//! small buffer, and the output copies them from the file again (by `sendfile(2)` on
//! Linux). Of a 100 MB stream, about a tenth is then held in memory. The text the filter
//! sees is the input with those documents cut out at document boundaries, so it splits
//! into exactly the kept documents; [`super::stream::documents`] restores their line and
//! document numbers.
//!
//! Only file arguments take this path: stdin (Helm's post-renderer, kpt) is read whole by
//! [`super::input::read_whole`].

use super::input::{Input, cannot_read, check_utf16, not_utf8};
use super::left::{Left, Run, changed, stamp};
use super::stream::{self, Doc};
use super::sys;
use crate::error::Failure;
use std::fs::File;
use std::io;
use std::sync::Arc;

/// What the filter may read of a document, judged by the header scan: kept documents stay in
/// memory, the others in the file.
pub type Keep = dyn Fn(&Doc) -> bool + Sync;

/// Reads a regular file through a buffer of about `chunk` bytes, keeping the documents
/// `keep` accepts (and every document when the first is a ResourceList or one the header
/// scan cannot read) and leaving the others in the file. Errors are those of
/// [`super::input::read_whole`], at the same byte offsets.
///
/// A file of eight buffers or more is cut in two at a document boundary near its middle, and
/// the halves are read and scanned on two threads: the kernel's copy of the bytes costs about
/// what the scan does, so each thread does half of both.
pub fn read_file(
    name: &str,
    file: File,
    limit: usize,
    chunk: usize,
    keep: &Keep,
) -> Result<Input, Failure> {
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
        keep,
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
            let (second, first) = crate::parallel::both(
                || scan.part(cut..u64::MAX, Some(false), false),
                || scan.part(0..cut, None, true),
            );
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
    fn keep(&mut self, doc: &Doc, offset: usize, copy: bool) {
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
    fn leave(&mut self, doc: &Doc, offset: usize) {
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
        // The scan saw these bytes as UTF-8; a file rewritten since may not be. The first
        // `shift` bytes were this part's `String`.
        self.text = sys::utf8_after(text, shift).ok_or_else(changed)?;
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
    keep: &'a Keep,
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
            keep,
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
            let s = match std::str::from_utf8(&buf) {
                Ok(s) => s,
                // A character cut by the end of the buffer: the next read completes it.
                Err(e) if e.error_len().is_none() && !eof => {
                    std::str::from_utf8(&buf[..e.valid_up_to()]).expect("valid up to here")
                }
                Err(e) => return Err(not_utf8(name, base + e.valid_up_to())),
            };
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
                if part.keep_all == Some(true) || doc.header.empty || keep(&doc) {
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
            sys::read_into(file, buf, room, *pos)?
        };
        if n == 0 {
            return Ok(true);
        }
        *pos += n as u64;
    }
    Ok(*pos >= end)
}
