//! The library's system calls that need `unsafe`: positioned reads into a buffer's spare
//! capacity, `sendfile(2)`, and joining texts already checked to be UTF-8. Everything else
//! in the library is safe code (`unsafe_code` is denied outside this module).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
#[cfg(not(unix))]
use std::io::{Read, Seek, SeekFrom};

/// Appends at most `room` bytes read at `offset` to `buf`; how many (none at the file's end).
/// The bytes go straight into spare capacity: no zeroing first.
#[cfg(target_os = "linux")]
pub fn read_into(file: &File, buf: &mut Vec<u8>, room: usize, offset: u64) -> io::Result<usize> {
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
pub fn read_into(file: &File, buf: &mut Vec<u8>, room: usize, offset: u64) -> io::Result<usize> {
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

/// Sends at most `count` bytes of `file` from `*offset` to `out` by `sendfile(2)`, advancing
/// `*offset`: how many were sent (0 at the file's end).
#[cfg(target_os = "linux")]
pub fn sendfile(
    out: std::os::fd::BorrowedFd,
    file: &File,
    offset: &mut libc::off_t,
    count: usize,
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: both descriptors are open for the call (borrowed from live owners), and
    // `offset` is a valid off_t the kernel advances; sendfile(2) touches no other memory of
    // ours.
    let sent = unsafe { libc::sendfile(out.as_raw_fd(), file.as_raw_fd(), offset, count) };
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}

/// `text` as a `String`, given that its first `valid` bytes are UTF-8 already: only the rest
/// is checked. `None` when the rest is not UTF-8.
pub fn utf8_after(text: Vec<u8>, valid: usize) -> Option<String> {
    std::str::from_utf8(&text[valid..]).ok()?;
    debug_assert!(std::str::from_utf8(&text[..valid]).is_ok());
    // SAFETY: the caller vouches for the first `valid` bytes and the rest was just checked;
    // two UTF-8 texts make one (`valid` is a character boundary: the rest starts valid).
    Some(unsafe { String::from_utf8_unchecked(text) })
}
