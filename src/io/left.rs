//! Documents a regular file keeps for the output: runs of the file the filter never reads,
//! copied from the file again when the output is written ([`super::sparse`] finds them).

#[cfg(target_os = "linux")]
use super::sys;
use std::fs::File;
use std::io::{self, Write};
#[cfg(not(unix))]
use std::io::{Read, Seek, SeekFrom};
use std::time::SystemTime;

/// Documents of a file that the filter never reads, to be copied from the file on output.
#[derive(Debug)]
pub struct Left {
    pub(super) file: File,
    /// The file's length and modification time when it was read, checked again after the
    /// copies: a file rewritten in place meanwhile is an error, not a torn output.
    pub(super) stamp: (u64, Option<SystemTime>),
    pub(super) runs: Vec<Run>,
    /// Their size in bytes.
    pub(super) bytes: usize,
    /// The distinct `apiVersion`s of the documents left out: `type: auto` and the
    /// prometheus-operator check read them.
    pub api_versions: Vec<String>,
}

/// Consecutive documents left in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Where in [`super::input::Input::text`] they were cut out.
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
        let mut offset = libc::off_t::try_from(run.offset).map_err(io::Error::other)?;
        let mut left = run.len;
        while left > 0 {
            match sys::sendfile(out.as_fd(), &self.file, &mut offset, left) {
                Ok(0) => return Err(changed()),
                Ok(n) => left -= n,
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) => {}
                    Some(libc::EINVAL | libc::ENOSYS) if left == run.len => return Ok(false),
                    _ => return Err(e),
                },
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

pub(super) fn changed() -> io::Error {
    io::Error::other("the input file changed while gunj-mesh was reading it")
}

pub(super) fn stamp(file: &File) -> io::Result<(u64, Option<SystemTime>)> {
    let meta = file.metadata()?;
    Ok((meta.len(), meta.modified().ok()))
}
