//! All of the binary's `unsafe`: the process tricks that make short runs fast (the
//! allocator, transparent huge pages for small inputs, a heap faulted in ahead of time on
//! another core, an exit that frees nothing; measured in `benches/README.md`), and the
//! system calls the output files need (umask, the effective user, a signal handler that
//! removes a temporary file).
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// mimalloc: the filter allocates millions of small tree nodes and strings; with it the
/// 100 MB benchmark runs about a third faster than with glibc's allocator. Version 2:
/// version 3 kept 1.5 times the memory resident for the same heap. [`OrExit`] turns its
/// running out of memory into an error exit.
#[global_allocator]
static ALLOCATOR: OrExit = OrExit(mimalloc::MiMalloc);

/// An allocator that ends the process with status 2 and a message, instead of Rust's abort
/// (SIGABRT, no reason given), when the one it wraps has no memory left: under `ulimit -v`,
/// a container's limit, or an input near `--max-input-bytes` on a small machine.
struct OrExit(mimalloc::MiMalloc);

// SAFETY: every method forwards to mimalloc with the same arguments and returns its result;
// a null result never returns (out_of_memory ends the process).
unsafe impl std::alloc::GlobalAlloc for OrExit {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are mimalloc's.
        let ptr = unsafe { self.0.alloc(layout) };
        if ptr.is_null() {
            out_of_memory(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are mimalloc's.
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        if ptr.is_null() {
            out_of_memory(layout.size());
        }
        ptr
    }

    unsafe fn realloc(&self, old: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees are mimalloc's.
        let ptr = unsafe { self.0.realloc(old, layout, size) };
        if ptr.is_null() {
            out_of_memory(size);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: the caller's guarantees are mimalloc's.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}

/// Set once the output has begun to go out: from then on an error cannot keep it from
/// being incomplete.
static WRITING: AtomicBool = AtomicBool::new(false);

/// Notes that the output begins to go out ([`out_of_memory`] says so then).
pub fn writing_output() {
    WRITING.store(true, Ordering::Release);
}

/// Says on stderr that `size` bytes could not be had, removes the armed temporary file
/// ([`remove_on_signal`]: an `-o` target stays as it was) and exits with status 2. It
/// allocates nothing: it runs where allocation has just failed.
fn out_of_memory(size: usize) -> ! {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let output: &[u8] = if WRITING.load(Ordering::Acquire) {
        b"; the output is incomplete"
    } else {
        b"; nothing was written"
    };
    let parts: [&[u8]; 5] = [
        b"gunj-mesh: error: out of memory: an allocation of ",
        &digits[at..],
        b" bytes failed",
        output,
        b"\n  hint: raise the memory limit (ulimit -v, the container's limit), or split the \
          stream into smaller runs\n",
    ];
    for part in parts {
        // SAFETY: write(2) reads `part`, a live slice, and is async-signal-safe; a short or
        // failed write loses part of the message, nothing else.
        let _ = unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
    }
    if ARMED.load(Ordering::Acquire) {
        // SAFETY: as in on_signal: while ARMED, TEMP_PATH holds a NUL-terminated path.
        unsafe { libc::unlink(TEMP_PATH.as_ptr().cast()) };
    }
    // SAFETY: _exit(2) ends the process without running destructors or atexit handlers,
    // which might allocate.
    unsafe { libc::_exit(2) }
}

/// Ends a successful run once everything is written, without freeing: the kernel takes the
/// whole heap back at once. Returning would drop every tree and string one by one, and then
/// mimalloc's exit handler runs a forced collection that `madvise`s each segment away (about
/// 1.3 ms of a 10 MB run).
#[cfg(target_os = "linux")]
pub fn exit_now() -> ExitCode {
    // Nothing is buffered: the output was flushed, and stderr is unbuffered.
    let _ = std::io::stdout().lock().flush();
    // SAFETY: _exit(2) ends the process; no Rust code runs after it, so nothing observes
    // the skipped destructors, and our output went out through write(2) already.
    unsafe { libc::_exit(0) }
}

#[cfg(not(target_os = "linux"))]
pub fn exit_now() -> ExitCode {
    ExitCode::SUCCESS
}

/// mimalloc asks for transparent huge pages, and the first touch of each 2 MiB region then
/// zeroes all of it: cheaper than 512 small page faults once a run fills most of it, dearer
/// when it does not. From 1 MB on huge pages are about 15% faster; at 0.5 MB and below they
/// are no faster and hold about twice the memory (15 against 8 MB), and a 10 KB stream
/// runs about 10% faster without them. Helm releases, the common post-renderer input, are
/// that small. `MIMALLOC_ALLOW_THP` set by the user wins.
#[cfg(target_os = "linux")]
pub fn small_pages_for_small_inputs(input_bytes: usize) {
    const SMALL: usize = 512 * 1024;
    if input_bytes < SMALL && std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process; the kernel consults
        // it on later page faults (prctl(2)). It touches no memory of ours.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

#[cfg(not(target_os = "linux"))]
pub fn small_pages_for_small_inputs(_: usize) {}

/// Has another core fault in the start of the heap while this one reads the inputs.
///
/// mimalloc (v2) reserves its first arena at the first allocation (1 GiB of address space,
/// option `arena_reserve`), and the main thread's heap, its first 32 MiB segment, grows from
/// the arena's start in huge pages ([`small_pages_for_small_inputs`]). The kernel zeroes each
/// huge page at its first touch, about 0.45 ms; on the 10 MB benchmark stream that was
/// 11–17% of all CPU time, most of it on this thread in the stages that use one core.
/// `MADV_POPULATE_WRITE` (Linux 5.14, madvise(2)) does that zeroing ahead of time, on the
/// other core. One and a half times the inputs' size is faulted in, within that first
/// segment: the benchmark streams touch at least that much of it (10 MB: 16 MiB), so their
/// peak RSS does not grow. A stream with nothing to change uses less, and pays for the
/// rest in memory: a 9 MB stream of ConfigMaps went from 15 to 23 MiB.
///
/// Best effort: without the arena, on an older kernel, or for stdin and directories (size
/// unknown up front) nothing happens. The thread must not allocate: its own heap would
/// take fresh pages. It reads `mi_arena_area`, a symbol of mimalloc v2 that the `mimalloc`
/// crate does not wrap, hence the `prefault` feature (on by default) that turns it off.
#[cfg(all(target_os = "linux", feature = "prefault"))]
pub fn prefault_heap(paths: &[PathBuf]) {
    use std::ffi::{c_int, c_void};
    const HUGE_PAGE: usize = 2 << 20;
    /// Below this there is little to gain, and small inputs do not use huge pages.
    const MIN_INPUT: u64 = 1 << 20;
    /// mimalloc's `MI_SEGMENT_SIZE`: beyond the first segment, memory goes to other
    /// threads and to large blocks.
    const SEGMENT: usize = 32 << 20;
    unsafe extern "C" {
        /// mimalloc's arena `id` (the first is 1): its start and size (0 and null if none).
        fn mi_arena_area(id: c_int, size: *mut usize) -> *mut c_void;
    }
    let bytes: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .sum();
    if bytes < MIN_INPUT {
        return;
    }
    let mut size = 0;
    // SAFETY: mi_arena_area only reads mimalloc's arena table and writes `size`.
    let start = unsafe { mi_arena_area(1, &mut size) } as usize;
    if start == 0 || !start.is_multiple_of(HUGE_PAGE) {
        return;
    }
    let want = usize::try_from(bytes / 2 * 3).map_or(SEGMENT, |b| b.next_multiple_of(HUGE_PAGE));
    let end = start + want.min(SEGMENT).min(size);
    let populate = move || {
        for page in (start..end).step_by(HUGE_PAGE) {
            // SAFETY: MADV_POPULATE_WRITE faults in pages of a mapping mimalloc made; it
            // changes no byte (a fresh page is zero, as mimalloc takes fresh arena memory to
            // be) and fails, harmlessly, on a range that is not writable.
            if unsafe { libc::madvise(page as *mut c_void, HUGE_PAGE, libc::MADV_POPULATE_WRITE) }
                != 0
            {
                break;
            }
        }
    };
    // Never joined: the process may end first, which stops it.
    let _ = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(populate);
}

#[cfg(not(all(target_os = "linux", feature = "prefault")))]
pub fn prefault_heap(_: &[PathBuf]) {}

/// The process's umask.
pub fn umask() -> libc::mode_t {
    // SAFETY: umask(2) cannot fail and touches no memory. Between the two calls a file made
    // by another thread would get mode bits 0o077 cleared; gunj-mesh creates files on its
    // main thread only.
    unsafe {
        let mask = libc::umask(0o077);
        libc::umask(mask);
        mask
    }
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// The temporary file the signal handler removes: a NUL-terminated path, valid while
/// [`ARMED`], and written only while not.
static TEMP_PATH: [AtomicU8; libc::PATH_MAX as usize] =
    [const { AtomicU8::new(0) }; libc::PATH_MAX as usize];
static ARMED: AtomicBool = AtomicBool::new(false);

/// Has SIGTERM, SIGINT and SIGHUP remove `path` (a temporary file) before they end the
/// process. False when it
/// cannot: a path too long, or another one armed.
pub fn remove_on_signal(path: &Path) -> bool {
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= TEMP_PATH.len() || ARMED.load(Ordering::Acquire) {
        return false;
    }
    install_handlers();
    for (slot, &byte) in TEMP_PATH.iter().zip(bytes.iter().chain([&0])) {
        slot.store(byte, Ordering::Relaxed);
    }
    ARMED.store(true, Ordering::Release);
    true
}

/// Keeps the file [`remove_on_signal`] named: it was renamed into place, or removed.
pub fn keep_on_signal() {
    ARMED.store(false, Ordering::Release);
}

/// Installs [`on_signal`] for the signals that end a run, except those the parent had
/// ignored (a background job's SIGINT) or that have a handler already.
fn install_handlers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for signal in [libc::SIGHUP, libc::SIGINT, libc::SIGTERM] {
            // SAFETY: sigaction(2) reads `action` and writes `old`, both live locals of the
            // type it expects (zeroed is a valid sigaction: no handler, empty mask). The
            // handler installed is async-signal-safe ([`on_signal`]).
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction != libc::SIG_DFL
                {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
                // Back to the default action on entry, for the re-raise.
                action.sa_flags = libc::SA_RESETHAND;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// Removes the armed temporary file, then raises `signal` again: with the default action
/// back (SA_RESETHAND), it ends the process once this handler returns and unblocks it.
extern "C" fn on_signal(signal: c_int) {
    if ARMED.load(Ordering::Acquire) {
        // SAFETY: while ARMED, TEMP_PATH holds a NUL-terminated path and nothing writes it;
        // AtomicU8 has the layout of u8. unlink(2) is async-signal-safe.
        unsafe { libc::unlink(TEMP_PATH.as_ptr().cast()) };
    }
    // SAFETY: raise(3) is async-signal-safe.
    unsafe { libc::raise(signal) };
}
