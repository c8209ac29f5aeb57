//! The command line: one clap definition drives parsing, `--help`, completions and the man
//! page. These are the raw flags; [`crate::app`] turns them into the library's options.

use clap::{Args, Parser, Subcommand, ValueEnum};
use gunj_mesh::{Limits, MeshType, check};
use std::path::PathBuf;

/// `--version`: the package version and the commit the binary is built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GUNJ_MESH_COMMIT"),
    ")"
);

/// Put the observability stack in a rendered manifest stream into a service mesh
/// (Istio or Linkerd). Reads files, directories or stdin; writes the stream to stdout.
#[derive(Debug, Parser)]
#[command(
    name = "gunj-mesh",
    version = VERSION,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Write the result to FILE instead of stdout. A regular file, or a path that does not
    /// exist yet, is replaced atomically (a temporary file renamed into place) and keeps its
    /// mode and owner; a new file is 0600 when the output holds a Secret. A FIFO or a
    /// character device (/dev/stdout, /dev/null) is written through. A symlink is followed:
    /// these rules apply to what it points to (a symlink to a regular file replaces that
    /// file and stays). Anything else, and a symlink to nothing, is refused.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show, per object, the component it was recognised as, the rule that matched, and
    /// what will be done or why it is skipped; then the workloads not recognised, with how
    /// to include them.
    Explain {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, value_enum, default_value_t = ExplainFormat::Table)]
        output: ExplainFormat,
        /// Also show each object's file and line, and the whole reason (table).
        #[arg(long)]
        wide: bool,
    },
    /// Fail (exit 1) when the manifests are not mesh-ready: a finding at or above
    /// --fail-on (the filter would change an object or add a policy, its output denies a
    /// flow the stack needs, the config asks for what the manifests do not allow, a
    /// resource contradicts the config, or gunj-mesh's own resource drifted). Exit 0 when
    /// they satisfy the config; 2 on errors, and when no Kubernetes object was read or
    /// none was recognised. Directories are read with their subdirectories.
    Check {
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        gate: GateArgs,
    },
    /// Print the stack's traffic graph: every flow it needs (the kube-apiserver's calls to
    /// webhooks and aggregated APIs, probes, scrapes, datasources, push endpoints, peers),
    /// read from the stream or inferred, with the verdict of the policies the filter writes
    /// on each. Exit 1 when a flow is denied.
    Flows {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, value_enum, default_value_t = FlowsFormat::Table)]
        output: FlowsFormat,
        /// Also show where each flow was found and the evidence (table).
        #[arg(long)]
        wide: bool,
        /// Judge the flows by the policies of the stream as it is, not the filter's output:
        /// for a stream already filtered, such as the union of several releases' outputs.
        #[arg(long)]
        as_is: bool,
    },
    /// Write what the filter would do as a kustomize patch set, for Flux's HelmRelease
    /// post-renderers and kustomizations, which cannot run an executable: a Kustomization
    /// (kustomize.config.k8s.io/v1beta1) on stdout whose `patches:` hold one JSON 6902
    /// patch per object the filter edits, with a `target:` that selects only that object;
    /// the generated resources go to --resources FILE, which the Kustomization lists.
    /// Applied to the same manifests (`resources:` the rendered stream and FILE), kustomize
    /// gives what the filter writes. Exit 2 on errors, with nothing written; and when the
    /// filter generates resources but no --resources is given.
    Kustomize {
        #[command(flatten)]
        filter: FilterArgs,
        /// Write the generated resources to FILE (replaced atomically) and list FILE, as
        /// given, in the Kustomization's `resources:`.
        #[arg(long, value_name = "FILE")]
        resources: Option<PathBuf>,
    },
    /// Print the JSON Schema of the ServiceMesh config.
    Schema,
    /// Print a commented example ServiceMesh config.
    Init,
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Sarif,
    Github,
}

/// What `check` writes and what fails it.
#[derive(Debug, Args, Clone)]
pub struct GateArgs {
    /// The format of the findings.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub output: CheckFormat,
    /// Also write the fix as a patch that `git apply` takes (a unified diff per file,
    /// `a/` and `b/` paths relative to the current directory; generated resources as a
    /// new gunj-mesh-generated.yaml): after the findings with `--output text`, else
    /// into --diff-file.
    #[arg(long)]
    pub diff: bool,
    /// Write the patch (--diff) to FILE instead.
    #[arg(long, value_name = "FILE")]
    pub diff_file: Option<PathBuf>,
    /// The least level of finding that fails the check.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,
    /// The manifests come from Helm 3 (`helm template --post-renderer gunj-mesh`), which
    /// never passes hooks to a post-renderer: findings on hooks (a chart's test Pod)
    /// are notes.
    #[arg(long)]
    pub helm3: bool,
}

/// `--fail-on`: the levels of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
}

impl From<FailOn> for check::Level {
    fn from(level: FailOn) -> check::Level {
        match level {
            FailOn::Error => check::Level::Error,
            FailOn::Warning => check::Level::Warning,
            FailOn::Note => check::Level::Note,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowsFormat {
    Table,
    Json,
    Dot,
    Svg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Table,
    Json,
}

/// `--mesh`: the config's `spec.type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MeshArg {
    Istio,
    Linkerd,
    Auto,
}

impl From<MeshArg> for MeshType {
    fn from(mesh: MeshArg) -> MeshType {
        match mesh {
            MeshArg::Istio => MeshType::Istio,
            MeshArg::Linkerd => MeshType::Linkerd,
            MeshArg::Auto => MeshType::Auto,
        }
    }
}

/// Inputs and config, shared by the filter and its subcommands.
#[derive(Debug, Args, Clone)]
pub struct FilterArgs {
    /// Manifest files, directories (their *.yaml, *.yml and *.json files, sorted) or `-`
    /// for stdin. Stdin when none is given.
    #[arg(value_name = "FILE|DIR|-")]
    pub inputs: Vec<PathBuf>,
    /// Read directories' subdirectories too, as `helm template --output-dir` writes them
    /// (always on for `check`).
    #[arg(short, long)]
    pub recursive: bool,
    /// A ServiceMesh config file (mesh.gunj.io/v1alpha1).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The mesh, overriding the config's spec.type.
    #[arg(long, value_enum)]
    pub mesh: Option<MeshArg>,
    /// The namespace of objects that name none (the Helm release namespace).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The release the generated resources belong to: their names start with it (with the
    /// chart's name, as Helm's `fullname` does), so that the releases of one namespace
    /// never generate the same resource. Default: the `app.kubernetes.io/instance` label of
    /// the stream's objects, else the chart, else the config's name.
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// Print no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// The deepest nesting a document may have (at most 10000).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth, value_parser = depth)]
    pub max_depth: usize,
    /// How many nodes alias expansion may copy in one document.
    #[arg(long, value_name = "N", default_value_t = Limits::default().alias_budget)]
    pub max_alias_nodes: usize,
    /// The most bytes all inputs together may have.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_input_bytes)]
    pub max_input_bytes: usize,
    /// The most documents the stream may have.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_documents)]
    pub max_documents: usize,
    /// The longest mapping key, in bytes.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_key_length)]
    pub max_key_length: usize,
}

/// The deepest `--max-depth`: parsing recurses once per level, and 10,000 levels fit the
/// stack of every thread that parses (400,000 overflowed the main thread's 8 MiB).
const MAX_DEPTH: usize = 10_000;

fn depth(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n @ 1..=MAX_DEPTH) => Ok(n),
        Ok(_) => Err(format!("must be between 1 and {MAX_DEPTH}")),
        Err(e) => Err(e.to_string()),
    }
}
