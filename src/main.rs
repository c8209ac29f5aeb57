//! The thin binary: read inputs, run the library, write the result or the error.

use clap::{CommandFactory, Parser};
use gunj_mesh::check;
use gunj_mesh::cli::{CheckFormat, Cli, Command, ExplainFormat, FilterArgs};
use gunj_mesh::error::Failure;
use gunj_mesh::output::Output;
use gunj_mesh::yaml::Limits;
use gunj_mesh::{Input, Options, Outcome, input};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EXAMPLE_CONFIG: &str = include_str!("../examples/init.yaml");

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Schema) => emit(&format!("{:#}\n", gunj_mesh::config::schema())),
        Some(Command::Init) => emit(EXAMPLE_CONFIG),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "gunj-mesh",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Some(Command::Man) => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => emit(&String::from_utf8_lossy(&page)),
                Err(e) => fail(&Failure::input("man", e.to_string())),
            }
        }
        Some(Command::Explain { filter, output }) => {
            let (inputs, mut options) = match load(&filter, false) {
                Ok(loaded) => loaded,
                Err(f) => return fail(&f),
            };
            options.changes = true;
            match gunj_mesh::run(&inputs, &options) {
                Ok(outcome) => {
                    if let Some(f) = &outcome.failure {
                        return fail(f);
                    }
                    match output {
                        ExplainFormat::Table => emit(&outcome.report.table()),
                        ExplainFormat::Json => emit(&format!(
                            "{:#}\n",
                            serde_json::to_value(&outcome.report).expect("a report is JSON")
                        )),
                    }
                }
                Err(f) => fail(&f),
            }
        }
        Some(Command::Check {
            filter,
            output,
            diff,
        }) => run_check(&filter, output, diff),
        None => filter(&cli.filter, cli.output_file.as_deref()),
    }
}

/// `check`: exit 1 when the filter would change anything.
fn run_check(args: &FilterArgs, format: CheckFormat, show_diff: bool) -> ExitCode {
    let (inputs, mut options) = match load(args, false) {
        Ok(loaded) => loaded,
        Err(f) => return fail(&f),
    };
    // Findings name the fields they change.
    options.changes = true;
    let outcome = match gunj_mesh::run(&inputs, &options) {
        Ok(o) => o,
        Err(f) => return fail(&f),
    };
    if let Some(f) = &outcome.failure {
        return fail(f);
    }
    let report = &outcome.report;
    let mut out = match format {
        CheckFormat::Text => check::text(report),
        CheckFormat::Json => check::json(report),
        CheckFormat::Sarif => check::sarif(report),
        CheckFormat::Github => check::github(report),
    };
    if show_diff {
        let input: String = inputs.iter().map(|i| i.text.as_str()).collect();
        out.push_str(&check::diff(&input, &outcome.output.text()));
    }
    emit(&out);
    if check::passes(report) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The main job: filter the stream.
fn filter(args: &FilterArgs, output_file: Option<&Path>) -> ExitCode {
    let (inputs, options) = match load(args, true) {
        Ok(loaded) => loaded,
        Err(f) => return fail(&f),
    };
    let outcome = match gunj_mesh::run(&inputs, &options) {
        Ok(o) => o,
        Err(f) => return fail(&f),
    };
    // What is not taken here (`spare`) is never freed: the process ends in `exit_now`.
    let Outcome {
        output,
        report,
        failure,
        ..
    } = outcome;
    if let Some(f) = failure {
        // KRM: the ResourceList with the error result still goes to stdout.
        let _ = write_output(&output, output_file);
        let _ = fail(&f);
        return ExitCode::from(1);
    }
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        for line in report.summary() {
            let _ = writeln!(err, "{line}");
        }
    }
    match write_output(&output, output_file) {
        Ok(()) => exit_now(),
        // A closed stdout (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&Failure::input(
            &output_file.map_or("stdout".into(), |p| p.display().to_string()),
            format!("cannot write: {e}"),
        )),
    }
}

fn write_output(output: &Output, file: Option<&Path>) -> std::io::Result<()> {
    // Large copied runs bypass the buffer; small pieces (edited documents) are gathered.
    fn buffered<W: Write>(w: W) -> std::io::BufWriter<W> {
        std::io::BufWriter::with_capacity(1 << 16, w)
    }
    match file {
        None => output.write_to_file(&mut buffered(std::io::stdout().lock())),
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.gunj-mesh-{}", std::process::id()));
            std::fs::File::create(&tmp)
                .and_then(|f| output.write_to_file(&mut buffered(f)))
                .and_then(|()| std::fs::rename(&tmp, path))
                .inspect_err(|_| {
                    let _ = std::fs::remove_file(&tmp);
                })
        }
    }
}

/// Ends a successful run once everything is written, without freeing: the kernel takes the
/// whole heap back at once. Returning would drop every tree and string one by one, and then
/// mimalloc's exit handler runs a forced collection that `madvise`s each segment away (about
/// 1.3 ms of a 10 MB run, `benches/README.md`).
#[cfg(target_os = "linux")]
fn exit_now() -> ExitCode {
    // Nothing is buffered: `write_output` flushed, and stderr is unbuffered.
    let _ = std::io::stdout().lock().flush();
    // SAFETY: _exit(2) ends the process; no Rust code runs after it, so nothing observes
    // the skipped destructors, and our output went out through write(2) already.
    unsafe { libc::_exit(0) }
}

#[cfg(not(target_os = "linux"))]
fn exit_now() -> ExitCode {
    ExitCode::SUCCESS
}

fn emit(text: &str) -> ExitCode {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Reports a failure on stderr (and, under Helm 4, which hides a plugin's stderr, in the log
/// file the README documents).
fn fail(f: &Failure) -> ExitCode {
    let message = format!("gunj-mesh: error: {f}\n");
    let _ = std::io::stderr().lock().write_all(message.as_bytes());
    if std::env::var_os("HELM_PLUGIN_NAME").is_some() {
        let log = helm_log_path();
        if std::fs::write(&log, &message).is_ok() {
            let _ = writeln!(
                std::io::stderr(),
                "gunj-mesh: the error is also in {}",
                log.display()
            );
        }
    }
    ExitCode::from(2)
}

/// `$GUNJ_MESH_LOG`, else `$TMPDIR/gunj-mesh-error.log`.
fn helm_log_path() -> PathBuf {
    std::env::var_os("GUNJ_MESH_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("gunj-mesh-error.log"))
}

/// Reads the inputs and the config file named by the flags; `sparse` for the filter, which
/// copies what it does not read from the files again ([`read`]).
fn load(args: &FilterArgs, sparse: bool) -> Result<(Vec<Input>, Options), Failure> {
    prefault_heap(&args.inputs);
    let mut inputs = Vec::new();
    // What the inputs read so far leave of --max-input-bytes.
    let mut left = args.max_input_bytes;
    let mut read_next = |path: &Path| {
        let input = read(path, left, sparse)?;
        left -= input.bytes();
        Ok::<_, Failure>(input)
    };
    if args.inputs.is_empty() {
        inputs.push(read_next(Path::new("-"))?);
    }
    for path in &args.inputs {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| {
                    Failure::input(
                        &path.display().to_string(),
                        format!("cannot read directory: {e}"),
                    )
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                })
                .collect();
            files.sort();
            for file in files {
                inputs.push(read_next(&file)?);
            }
        } else {
            inputs.push(read_next(path)?);
        }
    }
    small_pages_for_small_inputs(&inputs);
    let config = args
        .config
        .as_deref()
        .map(|p| read(p, usize::MAX, false))
        .transpose()?;
    let options = Options {
        config,
        mesh: args.mesh,
        namespace: args.namespace.clone(),
        limits: Limits {
            max_depth: args.max_depth,
            alias_budget: args.max_alias_nodes,
            max_input_bytes: args.max_input_bytes,
            max_documents: args.max_documents,
            max_key_length: args.max_key_length,
        },
        changes: false,
    };
    Ok((inputs, options))
}

/// Reads one input of at most `limit` bytes as UTF-8 text (reading stops just past the
/// limit, so a huge stdin is not buffered whole). With `sparse`, a regular file keeps in
/// memory only the documents the filter may read ([`gunj_mesh::input::read_file`]).
fn read(path: &Path, limit: usize, sparse: bool) -> Result<Input, Failure> {
    /// The read buffer of a sparse read: documents are judged as it fills.
    const CHUNK: usize = 1 << 18;
    let name = path.display().to_string();
    if name == "-" {
        return input::read_whole(&name, std::io::stdin().lock(), 0, limit);
    }
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::input(&name, format!("cannot read: {e}")))?;
    let meta = file.metadata().ok();
    if sparse && meta.as_ref().is_some_and(std::fs::Metadata::is_file) {
        input::read_file(&name, file, limit, CHUNK)
    } else {
        input::read_whole(&name, file, meta.map_or(0, |m| m.len()), limit)
    }
}

/// mimalloc asks for transparent huge pages, and the first touch of each 2 MiB region then
/// zeroes all of it: cheaper than 512 small page faults once a run fills most of it, dearer
/// when it does not. Measured on the benchmark's streams (`benches/README.md`): from 1 MB on
/// huge pages are about 15% faster; at 0.5 MB and below they are no faster and hold about
/// twice the memory (15 against 8 MB), and a 10 KB stream runs about 10% faster without
/// them. Helm releases, the common post-renderer input, are that small. `MIMALLOC_ALLOW_THP`
/// set by the user wins.
#[cfg(target_os = "linux")]
fn small_pages_for_small_inputs(inputs: &[Input]) {
    const SMALL: usize = 512 * 1024;
    let total: usize = inputs.iter().map(Input::bytes).sum();
    if total < SMALL && std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process; the kernel consults
        // it on later page faults (prctl(2)). It touches no memory of ours.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

#[cfg(not(target_os = "linux"))]
fn small_pages_for_small_inputs(_: &[Input]) {}

/// Has another core fault in the start of the heap while this one reads the inputs.
///
/// mimalloc (v2) reserves its first arena at the first allocation (1 GiB of address space,
/// option `arena_reserve`), and the main thread's heap, its first 32 MiB segment, grows from
/// the arena's start in huge pages ([`small_pages_for_small_inputs`]). The kernel zeroes each
/// huge page at its first touch, about 0.45 ms here; on the 10 MB benchmark stream that was
/// 11–17% of all CPU time, most of it on this thread in the stages that use one core.
/// `MADV_POPULATE_WRITE` (Linux 5.14, madvise(2)) does that zeroing ahead of time, on the
/// other core. One and a half times the inputs' size is faulted in, within that first
/// segment: the benchmark streams touch at least that much of it (10 MB: 16 MiB), so their
/// peak RSS does not grow. A stream with nothing to change uses less, and pays for the
/// rest in memory: a 9 MB stream of ConfigMaps went from 15 to 23 MiB (`benches/README.md`).
/// Best effort: without the arena, on an older kernel, or for stdin and directories (size
/// unknown up front) nothing happens. The thread must not allocate: its own heap would
/// take fresh pages.
#[cfg(target_os = "linux")]
fn prefault_heap(paths: &[PathBuf]) {
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

#[cfg(not(target_os = "linux"))]
fn prefault_heap(_: &[PathBuf]) {}

/// mimalloc: the filter allocates millions of small tree nodes and strings; with it the
/// 100 MB benchmark runs about a third faster than with glibc's allocator (benches/README.md).
/// Version 2: version 3 kept 1.5 times the memory resident for the same heap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
