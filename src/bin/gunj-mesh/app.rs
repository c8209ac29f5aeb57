//! The commands: read the inputs and the config the flags name, run the library, and write
//! the result or the error.

use crate::cli::{CheckFormat, Cli, ExplainFormat, FilterArgs, FlowsFormat, GateArgs};
use crate::{output_file, sys};
use clap::CommandFactory;
use gunj_mesh::{Failure, Input, Limits, Options, Outcome, Output, check, read_file, read_whole};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `gunj-mesh init` prints.
pub const EXAMPLE_CONFIG: &str = include_str!("../../../examples/init.yaml");

/// The main job: filter the stream.
pub fn filter(args: &FilterArgs, output_file: Option<&Path>) -> ExitCode {
    if let Some(f) = output_file.and_then(format_named) {
        return fail(&f);
    }
    // Before any work: a path -o refuses or cannot write fails at once.
    let target = match output_file.map(output_file::Target::prepare).transpose() {
        Ok(target) => target,
        Err(e) => return fail(&cannot_write(output_file, &e)),
    };
    let (inputs, options, notes) = match load(args, true, args.recursive) {
        Ok(loaded) => loaded,
        Err(f) => return fail(&f),
    };
    let outcome = match gunj_mesh::run(&inputs, &options) {
        Ok(o) => o,
        Err(f) => return fail(&f),
    };
    let summary = (!args.quiet).then(|| {
        let mut lines = outcome.summary();
        lines.extend(notes);
        lines
    });
    // What is not taken here is never freed: the process ends in `exit_now`.
    let Outcome {
        output, failure, ..
    } = outcome;
    if let Some(f) = failure {
        // KRM: the ResourceList with the error result still goes to stdout; an -o file is
        // left as it was.
        if target.is_none() {
            let _ = write_output(&output, None);
        }
        let _ = fail(&f);
        return ExitCode::from(1);
    }
    if let Some(summary) = summary {
        let mut err = std::io::stderr().lock();
        for line in summary {
            let _ = writeln!(err, "{line}");
        }
    }
    match write_output(&output, target) {
        Ok(()) => sys::exit_now(),
        // A closed stdout (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&cannot_write(output_file, &e)),
    }
}

/// `-o json`, `-o yaml`, `-o wide`: kubectl's `-o` names a format, gunj-mesh's a file. A
/// bare name of a format that is not a file yet is refused rather than created.
fn format_named(path: &Path) -> Option<Failure> {
    const FORMATS: [&str; 11] = [
        "json", "yaml", "yml", "wide", "name", "table", "text", "sarif", "github", "dot", "svg",
    ];
    let name = path.to_str()?;
    if !FORMATS.contains(&name) || path.symlink_metadata().is_ok() {
        return None;
    }
    Some(
        Failure::input(
            &format!("-o {name}"),
            "-o names the output file (kubectl's -o names a format); the filter always writes YAML".into(),
        )
        .hint(&format!(
            "write `-o ./{name}` for a file of that name; `explain`, `check` and `flows` take `--output FORMAT`"
        )),
    )
}

fn cannot_write(file: Option<&Path>, e: &std::io::Error) -> Failure {
    Failure::input(
        &file.map_or("stdout".into(), |p| p.display().to_string()),
        format!("cannot write: {e}"),
    )
}

/// `explain`: what was recognised and what will be done, per object.
pub fn explain(args: &FilterArgs, format: ExplainFormat, wide: bool) -> ExitCode {
    let (inputs, mut options) = match load(args, false, args.recursive) {
        Ok((inputs, options, notes)) => {
            say(args, &notes);
            (inputs, options)
        }
        Err(f) => return fail(&f),
    };
    options.list_changes = true;
    match gunj_mesh::run(&inputs, &options) {
        Ok(outcome) => {
            if let Some(f) = &outcome.failure {
                return fail(f);
            }
            match format {
                ExplainFormat::Table => print(&outcome.report.table(wide, terminal_width())),
                ExplainFormat::Json => print(&format!(
                    "{:#}\n",
                    serde_json::to_value(&outcome.report).expect("a report is JSON")
                )),
            }
        }
        Err(f) => fail(&f),
    }
}

/// The width `explain` fits its table to: `COLUMNS` (which shells set), else 100.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&c| c >= 40)
        .unwrap_or(100)
}

/// `flows`: the traffic graph with a verdict per flow; exit 1 when one is denied.
pub fn flows(args: &FilterArgs, format: FlowsFormat, wide: bool, as_is: bool) -> ExitCode {
    let (inputs, mut options) = match load(args, false, args.recursive) {
        Ok((inputs, options, notes)) => {
            say(args, &notes);
            (inputs, options)
        }
        Err(f) => return fail(&f),
    };
    options.traffic_graph = true;
    let outcome = match gunj_mesh::run(&inputs, &options) {
        Ok(o) => o,
        Err(f) => return fail(&f),
    };
    if let Some(f) = &outcome.failure {
        return fail(f);
    }
    let flows = if as_is {
        outcome.flows_as_is(inputs.iter().map(|i| i.text.as_str()))
    } else {
        outcome.flows()
    };
    let gunj_mesh::Flows { graph, verdicts } = match flows {
        Ok(flows) => flows,
        Err(f) => return fail(&f),
    };
    let written = print(&match format {
        FlowsFormat::Table => gunj_mesh::flows::table(&graph, &verdicts, wide),
        FlowsFormat::Json => format!("{:#}\n", gunj_mesh::flows::json(&graph, &verdicts)),
        FlowsFormat::Dot => gunj_mesh::flows::dot(&graph, &verdicts),
        FlowsFormat::Svg => gunj_mesh::flows::svg(&graph, &verdicts),
    });
    if written != ExitCode::SUCCESS {
        return written;
    }
    if verdicts
        .iter()
        .any(|v| matches!(v, gunj_mesh::Verdict::Denied { .. }))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `check`: exit 1 when a finding is at or above `--fail-on`; 2 on errors, and when the
/// inputs hold no Kubernetes object or nothing gunj-mesh recognises (a CI gate must not
/// pass on nothing).
pub fn check(args: &FilterArgs, gate: &GateArgs) -> ExitCode {
    let (inputs, mut options) = match load(args, false, true) {
        Ok((inputs, options, notes)) => {
            say(args, &notes);
            (inputs, options)
        }
        Err(f) => return fail(&f),
    };
    let patch = gate.diff || gate.diff_file.is_some();
    if patch && gate.diff_file.is_none() && gate.output != CheckFormat::Text {
        return fail(
            &Failure::input(
                "--diff",
                "the patch goes on stdout only with --output text".into(),
            )
            .hint("add --diff-file FILE to write it there"),
        );
    }
    // Findings name the fields they change, and the flows the output denies.
    options.list_changes = true;
    options.traffic_graph = true;
    options.fixes = patch;
    let outcome = match gunj_mesh::run(&inputs, &options) {
        Ok(o) => o,
        Err(f) => return fail(&f),
    };
    if let Some(f) = &outcome.failure {
        return fail(f);
    }
    let names = || {
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        names.join(", ")
    };
    let report = &outcome.report;
    if report.objects == 0 {
        return fail(
            &Failure::input(&names(), "no Kubernetes objects read: nothing to check".into())
                .hint("is the render step's output empty? check reads *.yaml, *.yml and *.json files, in directories and their subdirectories"),
        );
    }
    if report.entries.is_empty() && report.generated.is_empty() && report.warnings.is_empty() {
        let workloads: Vec<String> = report
            .unrecognised
            .iter()
            .take(5)
            .map(|u| format!("{} {}", u.kind.to_lowercase(), u.name))
            .collect();
        let workloads = match report.unrecognised.len() {
            0 => String::new(),
            n => format!(
                "; its {n} workload(s) ({}) match no rule",
                workloads.join(", ")
            ),
        };
        return fail(&Failure::input(
            &names(),
            format!(
                "nothing recognised: none of the {} Kubernetes object(s) read is an observability component, a Namespace in scope or a resource gunj-mesh generates{workloads}",
                report.objects
            ),
        )
        .hint("`gunj-mesh explain` lists the workloads it did not recognise, with the spec.components.custom entry that would include each"));
    }
    let root = std::env::current_dir().ok();
    let paths: BTreeMap<String, String> = inputs
        .iter()
        .map(|i| (i.name.clone(), relative(&i.name, root.as_deref())))
        .collect();
    let gunj_mesh::Flows { graph, verdicts } = match outcome.flows() {
        Ok(flows) => flows,
        Err(f) => return fail(&f),
    };
    let judged = check::Gate {
        report,
        graph: &graph,
        verdicts: &verdicts,
        fail_on: gate.fail_on.into(),
        helm3: gate.helm3,
        paths: &paths,
    };
    let mut out = match gate.output {
        CheckFormat::Text => judged.text(),
        CheckFormat::Json => judged.json(),
        CheckFormat::Sarif => judged.sarif(),
        CheckFormat::Github => judged.github(),
    };
    if patch {
        let diff = fix_patch(&inputs, &outcome, root.as_deref());
        match &gate.diff_file {
            Some(path) => {
                if let Err(e) = std::fs::write(path, diff) {
                    return fail(&cannot_write(Some(path), &e));
                }
            }
            None => out.push_str(&diff),
        }
    }
    let written = print(&out);
    if written != ExitCode::SUCCESS {
        return written;
    }
    if judged.passes() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `file` as findings and patches name it: relative to `root` (the current directory, the
/// repository's root in CI) when it is under it, symlinks and `..` resolved; else its
/// absolute path; as given when it cannot be resolved.
fn relative(file: &str, root: Option<&Path>) -> String {
    let path = Path::new(file);
    let resolved = root.and_then(|root| {
        let full = std::fs::canonicalize(root.join(path)).ok()?;
        let root = std::fs::canonicalize(root).ok()?;
        Some(match full.strip_prefix(&root) {
            Ok(under) => under.to_path_buf(),
            Err(_) => full,
        })
    });
    let shown = resolved.unwrap_or_else(|| path.to_path_buf());
    let shown = shown.to_string_lossy();
    shown.trim_start_matches("./").to_string()
}

/// The file `check --diff` puts generated resources in, beside the first input file.
const GENERATED_FILE: &str = "gunj-mesh-generated.yaml";

/// The fix as a patch ([`check::diff`]): each input file against its new text, paths
/// relative to `root`; stdin as `stdin`. The generated resources go to a new
/// [`GENERATED_FILE`] in the first input file's directory (appended to it, when it exists).
fn fix_patch(inputs: &[Input], outcome: &gunj_mesh::Outcome, root: Option<&Path>) -> String {
    let name = |input: &Input| match input.name.as_str() {
        "-" => "stdin".to_string(),
        file => relative(file, root),
    };
    let Some(fixes) = &outcome.fixes else {
        // A ResourceList: one input, rewritten whole.
        let output = outcome.output.text();
        let files: Vec<check::FileFix> = inputs
            .iter()
            .map(|i| check::FileFix {
                path: name(i),
                old: &i.text,
                new: &output,
                created: false,
            })
            .collect();
        return check::diff(&files);
    };
    let mut files: Vec<check::FileFix> = inputs
        .iter()
        .zip(&fixes.files)
        .map(|(i, new)| check::FileFix {
            path: name(i),
            old: &i.text,
            new,
            created: false,
        })
        .collect();
    let dir = inputs
        .iter()
        .find(|i| i.name != "-")
        .and_then(|i| Path::new(&i.name).parent())
        .map(|dir| relative(&dir.to_string_lossy(), root))
        .unwrap_or_default();
    let generated = Path::new(&dir)
        .join(GENERATED_FILE)
        .to_string_lossy()
        .into_owned();
    let appended;
    match files.iter().position(|f| f.path == generated) {
        Some(i) => {
            appended = format!("{}---\n{}", files[i].new, fixes.generated);
            if !fixes.generated.is_empty() {
                files[i].new = &appended;
            }
        }
        None => files.push(check::FileFix {
            path: generated,
            old: "",
            new: &fixes.generated,
            created: true,
        }),
    }
    check::diff(&files)
}

/// `kustomize`: the patch set on stdout, the generated resources in the `--resources` file.
/// Everything is computed before anything is written; the file is written before stdout.
pub fn kustomize(args: &FilterArgs, resources: Option<&Path>) -> ExitCode {
    let target = match resources.map(output_file::Target::prepare).transpose() {
        Ok(target) => target,
        Err(e) => return fail(&cannot_write(resources, &e)),
    };
    let (inputs, options, notes) = match load(args, false, args.recursive) {
        Ok(loaded) => loaded,
        Err(f) => return fail(&f),
    };
    let set = match gunj_mesh::patch_set(&inputs, &options) {
        Ok(set) => set,
        Err(f) => return fail(&f),
    };
    if target.is_none() && !set.resources.is_empty() {
        return fail(
            &Failure::input(
                "kustomize",
                format!(
                    "the filter generates {} resource(s), and a patch can only change an object, not add one",
                    set.resources.matches("\nkind: ").count() + 1
                ),
            )
            .hint("add --resources FILE: the generated resources go there, and the Kustomization lists FILE (a Flux HelmRelease ships them with a Kustomization of their own, see README)"),
        );
    }
    let listed = resources.map(|p| p.to_string_lossy().into_owned());
    let kustomization = set.kustomization(listed.as_deref());
    if let Some(target) = target
        && let Err(e) = target.commit(|f| f.write_all(set.resources.as_bytes()))
    {
        return fail(&cannot_write(resources, &e));
    }
    if !args.quiet {
        let mut lines = set.report.summary(None);
        lines.push(format!("{} patch(es)", set.patches.len()));
        lines.extend(notes);
        say(args, &lines);
    }
    print(&kustomization)
}

/// `completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    // Into memory: clap_complete panics on a write error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "gunj-mesh", &mut script);
    print(&String::from_utf8_lossy(&script))
}

/// `man`: the roff page, one page for all: each subcommand is described in SUBCOMMANDS
/// (clap_mangen's would link to pages of their own that nothing generates), then EXIT
/// STATUS, ENVIRONMENT and EXAMPLES.
pub fn man() -> ExitCode {
    let command = Cli::command();
    let page = clap_mangen::Man::new(command.clone());
    let mut roff = Vec::new();
    let rendered = (|| {
        page.render_title(&mut roff)?;
        page.render_name_section(&mut roff)?;
        page.render_synopsis_section(&mut roff)?;
        page.render_description_section(&mut roff)?;
        page.render_options_section(&mut roff)?;
        roff.extend_from_slice(man_sections(&command).as_bytes());
        page.render_version_section(&mut roff)
    })();
    match rendered {
        Ok(()) => print(&String::from_utf8_lossy(&roff)),
        Err(e) => fail(&Failure::input("man", e.to_string())),
    }
}

/// The page's own sections as roff: SUBCOMMANDS (each with its `--help` text), EXIT STATUS,
/// ENVIRONMENT and EXAMPLES.
fn man_sections(command: &clap::Command) -> String {
    let mut out = String::from(".SH SUBCOMMANDS\n");
    for sub in command.get_subcommands() {
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(ToString::to_string)
            .unwrap_or_default();
        out.push_str(&format!(
            ".TP\n\\fBgunj\\-mesh {}\\fR\n{}\n",
            roff(sub.get_name()),
            roff(&about)
        ));
    }
    out.push_str(".PP\n`gunj\\-mesh help SUBCOMMAND` prints a subcommand\\*(Aqs options.\n");
    for (title, items) in [("EXIT STATUS", MAN_EXIT), ("ENVIRONMENT", MAN_ENV)] {
        out.push_str(&format!(".SH {title}\n"));
        for (term, text) in items {
            out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(term), roff(text)));
        }
    }
    out.push_str(".SH EXAMPLES\n");
    for (what, example) in MAN_EXAMPLES {
        out.push_str(&format!(
            ".PP\n{}\n.PP\n.nf\n.RS 4\n{}\n.RE\n.fi\n",
            roff(what),
            roff(example)
        ));
    }
    out
}

/// Text as roff: backslashes and hyphens escaped, no line starting a request.
fn roff(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .lines()
        .map(|l| match l.chars().next() {
            Some('.' | '\'') => format!("\\&{l}"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const MAN_EXIT: &[(&str, &str)] = &[
    (
        "0",
        "Done: the filter, kustomize, explain, schema, init, completions and man wrote their output; check found nothing at or above --fail-on; flows found no denied flow.",
    ),
    (
        "1",
        "check found something at or above --fail-on; flows found a denied flow; as a KRM function, the ResourceList on stdout carries an error result.",
    ),
    (
        "2",
        "An error, and nothing on stdout: unreadable or invalid input, a bad config, an output that cannot be written, a limit passed; check also when no Kubernetes object was read or none was recognised; kustomize also when the filter generates resources and no --resources is given.",
    ),
];

const MAN_ENV: &[(&str, &str)] = &[
    (
        "GUNJ_MESH_LOG",
        "Under Helm 4 (HELM_PLUGIN_NAME set), the file errors are appended to, since Helm 4 hides a plugin's stderr. Default: gunj-mesh-UID/error.log in the temporary directory.",
    ),
    (
        "HELM_PLUGIN_NAME",
        "Set by Helm 4 for its plugins: errors also go to the log (GUNJ_MESH_LOG), under the # Source: of the input.",
    ),
    (
        "TMPDIR",
        "The temporary directory of the default error log.",
    ),
    (
        "COLUMNS",
        "The width explain fits its table to (at least 40; default 100).",
    ),
    (
        "MIMALLOC_ALLOW_THP",
        "When set, left to the allocator: gunj-mesh does not turn transparent huge pages off for inputs under 512 KiB.",
    ),
];

const MAN_EXAMPLES: &[(&str, &str)] = &[
    (
        "Put a rendered chart into the mesh:",
        "helm template obs grafana/loki -n monitoring | gunj-mesh -c mesh.yaml > meshed.yaml",
    ),
    (
        "As a Helm 3 post-renderer:",
        "helm install obs grafana/loki --post-renderer gunj-mesh --post-renderer-args=--config --post-renderer-args=mesh.yaml",
    ),
    (
        "Fail a CI build when rendered manifests are not mesh-ready:",
        "gunj-mesh check -c mesh.yaml --output github rendered/",
    ),
    (
        "The edits as kustomize patches for a Flux HelmRelease:",
        "gunj-mesh kustomize -c mesh.yaml rendered.yaml --resources gunj-mesh-generated.yaml > patches.yaml",
    ),
];

/// Writes `text` to stdout (exit 2 when it cannot).
pub fn print(text: &str) -> ExitCode {
    match output_file::to_stdout(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&cannot_write(None, &e)),
    }
}

/// Writes to stdout, or to the -o file ([`output_file::Target`]).
fn write_output(output: &Output, file: Option<output_file::Target>) -> std::io::Result<()> {
    // Large copied runs bypass the buffer; small pieces (edited documents) are gathered.
    fn buffered<W: Write>(w: W) -> std::io::BufWriter<W> {
        std::io::BufWriter::with_capacity(1 << 16, w)
    }
    sys::writing_output();
    match file {
        None => output.write_to_file(&mut buffered(std::io::stdout().lock())),
        Some(target) => target.commit(|f| output.write_to_file(&mut buffered(f))),
    }
}

/// Reports a failure on stderr (and, under Helm 4, which hides a plugin's stderr, in the log
/// file the README documents).
fn fail(f: &Failure) -> ExitCode {
    let message = format!("gunj-mesh: error: {f}\n");
    let _ = std::io::stderr().lock().write_all(message.as_bytes());
    if std::env::var_os("HELM_PLUGIN_NAME").is_some() {
        output_file::log_error(&message, output_file::noted_source());
    }
    ExitCode::from(2)
}

/// Writes `lines` to stderr, unless `--quiet`.
fn say(args: &FilterArgs, lines: &[String]) {
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        for line in lines {
            let _ = writeln!(err, "{line}");
        }
    }
}

/// Reads the inputs and the config file named by the flags; `sparse` for the filter, which
/// copies what it does not read from the files again ([`read`]); `recursive`: read
/// directories' subdirectories too ([`directory`]). The notes say what directories held
/// besides their manifest files.
fn load(
    args: &FilterArgs,
    sparse: bool,
    recursive: bool,
) -> Result<(Vec<Input>, Options, Vec<String>), Failure> {
    sys::prefault_heap(&args.inputs);
    let limits = Limits {
        max_depth: args.max_depth,
        alias_budget: args.max_alias_nodes,
        max_input_bytes: args.max_input_bytes,
        max_documents: args.max_documents,
        max_key_length: args.max_key_length,
    };
    let mut inputs = Vec::new();
    // What the inputs read so far leave of --max-input-bytes.
    let mut left = args.max_input_bytes;
    let mut read_next = |path: &Path| {
        let input = read(path, left, sparse.then_some(limits))?;
        left -= input.bytes();
        Ok::<_, Failure>(input)
    };
    if args.inputs.is_empty() {
        if !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            eprintln!(
                "gunj-mesh: reading manifests from stdin (end with Ctrl-D; `gunj-mesh --help` for usage)"
            );
        }
        inputs.push(read_next(Path::new("-"))?);
    }
    let mut notes = Vec::new();
    for path in &args.inputs {
        if path.is_dir() {
            let (files, skipped) = directory(path, recursive)?;
            notes.extend(skipped);
            for file in files {
                inputs.push(read_next(&file)?);
            }
        } else {
            inputs.push(read_next(path)?);
        }
    }
    sys::small_pages_for_small_inputs(inputs.iter().map(Input::bytes).sum());
    output_file::note_source(inputs.iter().map(|i| i.text.as_str()));
    let config = args.config.as_deref().map(read_config).transpose()?;
    let options = Options {
        config,
        mesh: args.mesh.map(Into::into),
        namespace: args.namespace.clone(),
        release: args.release.clone(),
        limits,
        list_changes: false,
        traffic_graph: false,
        fixes: false,
    };
    Ok((inputs, options, notes))
}

/// The manifest files of `dir` ([`is_manifest`]), sorted by path, and a note naming the
/// entries left out. `recursive`: subdirectories too, as `helm template --output-dir`
/// writes a chart (`<dir>/<chart>/templates/…`, `<dir>/<chart>/charts/<sub>/templates/…`);
/// entries whose names start with `.` (`.git`, `.helmignore`) and symlinks to directories
/// are left out. A manifest entry that is not a readable regular file is an error, and so
/// is a directory without one: a filter fed nothing from a directory is almost certainly a
/// mistake.
fn directory(dir: &Path, recursive: bool) -> Result<(Vec<PathBuf>, Option<String>), Failure> {
    let name = dir.display().to_string();
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    walk(dir, Path::new(""), recursive, &mut files, &mut skipped)?;
    files.sort();
    skipped.sort();
    let listed = || {
        const SHOWN: usize = 10;
        let mut list = skipped[..skipped.len().min(SHOWN)].join(", ");
        if skipped.len() > SHOWN {
            list.push_str(&format!(" and {} more", skipped.len() - SHOWN));
        }
        gunj_mesh::redact::line(&list).into_owned()
    };
    let reads = if recursive {
        "gunj-mesh reads the *.yaml, *.yml and *.json files of a directory and its subdirectories"
    } else {
        "gunj-mesh reads the *.yaml, *.yml and *.json files of a directory; -r reads its subdirectories too"
    };
    if files.is_empty() {
        let holds = if skipped.is_empty() {
            String::new()
        } else {
            format!("; it holds {}", listed())
        };
        return Err(Failure::input(
            &name,
            format!("the directory has no *.yaml, *.yml or *.json file{holds}"),
        )
        .hint(reads));
    }
    let note = (!skipped.is_empty()).then(|| {
        format!(
            "note: skipped in {}: {} ({reads})",
            gunj_mesh::redact::line(&name),
            listed()
        )
    });
    Ok((files, note))
}

/// Whether a file is read from a directory: `*.yaml` and `*.yml` (what `helm template
/// --output-dir` writes), and `*.json` (JSON is YAML: `kubectl get -o json`, jsonnet output).
fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Adds the manifest files under `dir` to `files` and the other entries, as paths relative
/// to the directory named on the command line (`rel`), to `skipped` ([`directory`]).
fn walk(
    dir: &Path,
    rel: &Path,
    recursive: bool,
    files: &mut Vec<PathBuf>,
    skipped: &mut Vec<String>,
) -> Result<(), Failure> {
    let cannot = |e: std::io::Error| {
        Failure::input(
            &dir.display().to_string(),
            format!("cannot read directory: {e}"),
        )
    };
    for entry in std::fs::read_dir(dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let path = entry.path();
        let shown = rel.join(entry.file_name());
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        // Symlinks are followed, as reading them does; a symlinked directory is not
        // entered, so that a link to a parent cannot loop.
        let meta = std::fs::metadata(&path);
        if meta.as_ref().is_ok_and(std::fs::Metadata::is_dir) {
            let link = entry.file_type().is_ok_and(|t| t.is_symlink());
            if recursive && !hidden && !link {
                walk(&path, &shown, recursive, files, skipped)?;
            } else {
                skipped.push(format!("{}/", shown.display()));
            }
        } else if hidden || !is_manifest(&path) {
            skipped.push(shown.display().to_string());
        } else {
            match meta {
                Ok(m) if m.is_file() => files.push(path),
                Ok(_) => {
                    return Err(Failure::input(
                        &path.display().to_string(),
                        "cannot read: not a regular file".into(),
                    ));
                }
                Err(e) => {
                    return Err(Failure::input(
                        &path.display().to_string(),
                        format!("cannot read: {e}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The most bytes a config file may have: a ServiceMesh config is a few kilobytes, so a
/// larger file is another file passed by mistake (a rendered stream, a device).
const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Reads the `-c` file, of at most [`MAX_CONFIG_BYTES`] (reading stops just past them).
fn read_config(path: &Path) -> Result<Input, Failure> {
    read(path, MAX_CONFIG_BYTES, None).map_err(|f| {
        if f == Failure::too_large(&f.source, MAX_CONFIG_BYTES) {
            Failure::input(
                &f.source,
                format!(
                    "the config is larger than {MAX_CONFIG_BYTES} bytes; a ServiceMesh config is a few kilobytes"
                ),
            )
            .hint("is -c the right file? `gunj-mesh init` prints an example config")
        } else {
            f
        }
    })
}

/// Reads one input of at most `limit` bytes as UTF-8 text (reading stops just past the
/// limit, so a huge stdin is not buffered whole). With `sparse` limits, a regular file keeps
/// in memory only the documents the filter may read, and the others once they are checked
/// against those limits ([`read_file`]).
fn read(path: &Path, limit: usize, sparse: Option<Limits>) -> Result<Input, Failure> {
    /// The read buffer of a sparse read: documents are judged as it fills.
    const CHUNK: usize = 1 << 18;
    let name = path.display().to_string();
    if name == "-" {
        return read_whole(&name, std::io::stdin().lock(), 0, limit);
    }
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::input(&name, format!("cannot read: {e}")))?;
    let meta = file.metadata().ok();
    match sparse {
        Some(limits) if meta.as_ref().is_some_and(std::fs::Metadata::is_file) => {
            read_file(&name, file, limit, CHUNK, limits)
        }
        _ => read_whole(&name, file, meta.map_or(0, |m| m.len()), limit),
    }
}
