//! gunj-mesh: puts the observability components of a rendered manifest stream into a
//! service mesh.
//!
//! The pipeline, top to bottom ([`run`]):
//! 1. [`stream::split`] cuts each input into documents as text; a header scan reads `kind`.
//!    A regular file is read by [`input::read_file`], which leaves the documents the filter
//!    never reads in the file and keeps only the others in memory.
//! 2. Only documents that may change (workloads, Namespaces, Lists, ServiceMesh configs, or
//!    anything the scan cannot vouch for) are parsed into [`yaml::Node`] trees, on every
//!    core, by [`yaml::fast`] when they are plain block YAML.
//! 3. The config is chosen ([`config`]): flags > `--config` > a `ServiceMesh` document in the
//!    stream > a KRM `functionConfig` > the embedded default.
//! 4. Each workload is recognised ([`catalog`]) and given an [`inject`] decision and patch.
//! 5. Patches become text splices ([`yaml::edit`]); untouched documents stay runs of input
//!    bytes (or of the input file) in the [`output::Output`], written out without being
//!    copied in memory.
//! 6. The result and a [`report::Report`] come back; nothing is written on error.

pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod dashboards;
pub mod error;
pub mod inject;
pub mod input;
pub mod krm;
pub mod output;
pub mod parallel;
pub mod policy;
pub mod report;
pub mod stack;
pub mod stream;
pub mod telemetry;
pub mod workload;
pub mod yaml;

use config::{MeshType, ServiceMesh};
use error::Failure;
use inject::Mesh;
pub use input::Input;
use output::Output;
use report::{Entry, Report};
use stream::Doc;
use workload::Workload;
use yaml::edit::{self, EditError, Patch};
use yaml::{Limits, Node};

/// Settings that come from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--config`: name and text.
    pub config: Option<Input>,
    /// `--mesh`.
    pub mesh: Option<MeshType>,
    /// `--namespace`: the namespace of objects that name none (Helm's release namespace).
    pub namespace: Option<String>,
    pub limits: Limits,
    /// List the fields each report entry changes (`check`, `explain`); the filter only
    /// needs to know whether an entry changes any, and listing costs time and memory.
    pub changes: bool,
}

/// The filtered stream and what was done.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub output: Output<'a>,
    pub report: Report,
    /// Set in KRM mode when the output is a ResourceList carrying an error result.
    pub failure: Option<Failure>,
    pub spare: Spare,
}

/// What a run built and no longer needs: the inventory, each document's patch and the
/// generated resources. Dropping the outcome frees them. The binary ends without freeing
/// (`exit_now`), which skips a free per allocation: about 4% of a 10 MB run
/// (`benches/README.md`, eleventh session).
#[derive(Debug, Default)]
pub struct Spare {
    _stack: Option<stack::Stack>,
    _patches: Vec<Patch>,
    _generated: Vec<Box<dyn policy::Emit>>,
}

/// Runs the filter over the inputs.
pub fn run<'a>(inputs: &'a [Input], options: &Options) -> Result<Outcome<'a>, Failure> {
    check_size(inputs, options.limits)?;
    let docs = documents(inputs, options.limits.max_documents)?;
    if let Some(first) = docs.iter().find(|d| !d.header.empty)
        && krm::is_resource_list(first, options.limits)
    {
        return Ok(krm::run(inputs, &docs, options));
    }
    let parsed = parse_candidates(inputs, &docs, options.limits)?;
    let mut stream_configs = Vec::new();
    for (i, node) in parsed.iter().enumerate() {
        if let Some(node) = node
            && is_service_mesh(node)
        {
            stream_configs.push(i);
        }
    }
    if stream_configs.len() > 1 {
        return Err(Failure::at(
            inputs,
            &docs[stream_configs[1]],
            None,
            "a second ServiceMesh document in the stream".into(),
        )
        .hint("keep one ServiceMesh config per stream"));
    }
    let in_stream = match stream_configs.first() {
        Some(&i) => {
            let text = &docs[i].text[docs[i].parse_from..];
            Some(ServiceMesh::from_yaml(text).map_err(|e| {
                Failure::config(
                    &format!(
                        "{} (ServiceMesh document {})",
                        source_name(inputs, &docs[i]),
                        i + 1
                    ),
                    e,
                )
            })?)
        }
        None => None,
    };
    let config = choose_config(options, in_stream, None)?;
    let objects: Vec<Object> = docs
        .iter()
        .zip(&parsed)
        .enumerate()
        .filter(|(i, _)| !stream_configs.contains(i))
        .flat_map(|(i, (_, node))| node.as_ref().map(|n| objects_of(i, n)).unwrap_or_default())
        .collect();
    let api_versions: Vec<&str> = api_versions(inputs, &docs).collect();
    let mesh = resolve_mesh(&config, &api_versions, &objects)?;
    let Plan {
        report,
        patches,
        generated,
        stack,
    } = plan(&objects, &config, &mesh, options, inputs, &docs)?;
    // Patched on every core; the loop below places each text in stream order.
    let changed: Vec<usize> = (0..docs.len())
        .filter(|&i| !patches[i].is_empty() && !stream_configs.contains(&i))
        .collect();
    let mut patched = parallel::try_map(
        &changed,
        |&i| docs[i].text.len(),
        64 * 1024,
        |&i| match &parsed[i] {
            Some(node) => patch_doc(inputs, &docs[i], node, &patches[i]).map(Some),
            None => Ok(None),
        },
    )?
    .into_iter();
    drop(parsed);
    let mut output = Output::new(inputs);
    for (i, doc) in docs.iter().enumerate() {
        let config_doc = stream_configs.contains(&i);
        if i > 0 && doc.source != docs[i - 1].source {
            output.copy_left(docs[i - 1].source, usize::MAX);
            // Between two inputs: a `---` line, unless what comes first starts with its own.
            match output.next_left(doc.source, doc.offset) {
                Some(run) => output.begin_document(!run.opens_itself),
                None if !config_doc => output.begin_document(!doc.opens_itself()),
                None => {}
            }
        }
        output.copy_left(doc.source, doc.offset);
        if config_doc {
            continue;
        }
        let text = if patches[i].is_empty() {
            None
        } else {
            patched.next().flatten()
        };
        match text {
            Some(text) => output.push(text),
            None => output.copy(doc.source, doc.offset, doc.offset + doc.text.len()),
        }
    }
    if let Some(last) = docs.last() {
        output.copy_left(last.source, usize::MAX);
    }
    for text in emit(&generated) {
        output.begin_document(true);
        output.push(text);
    }
    if output.is_blank() && !inputs.iter().all(|i| i.text.trim().is_empty()) {
        // The stream held only the config: give back something Helm 4 accepts.
        output = Output::new(inputs);
        for (i, input) in inputs.iter().enumerate() {
            output.copy(i, 0, input.text.len());
        }
    }
    Ok(Outcome {
        output,
        report,
        failure: None,
        spare: Spare {
            _stack: stack,
            _patches: patches,
            _generated: generated,
        },
    })
}

/// What the filter will do: the report, each document's patch, and the resources to append.
pub struct Plan {
    pub report: Report,
    pub patches: Vec<Patch>,
    pub generated: Vec<Box<dyn policy::Emit>>,
    /// The inventory the policies were generated from (`None` when the mesh is disabled).
    pub stack: Option<stack::Stack>,
}

/// Decides every object, then generates the policies for the components in the mesh.
pub fn plan(
    objects: &[Object],
    config: &ServiceMesh,
    mesh: &Mesh,
    options: &Options,
    inputs: &[Input],
    docs: &[Doc],
) -> Result<Plan, Failure> {
    let mut report = Report {
        mesh: Some(mesh.describe().to_string()),
        ..Report::default()
    };
    let mut patches: Vec<Patch> = vec![Patch::new(); docs.len()];
    let mut generated = Vec::new();
    if !config.spec.enabled {
        return Ok(Plan {
            report,
            patches,
            generated,
            stack: None,
        });
    }
    // One slot per object (`None`: not recognised), used in place: the results are large.
    let decide_all = |ctx: &telemetry::Context| {
        parallel::try_map(
            objects,
            |_| 1,
            256,
            |object| {
                let doc = &docs[object.doc];
                Ok(decide(object, config, mesh, options, inputs, doc, ctx)?.map(|d| (object, d)))
            },
        )
    };
    let mut decided = decide_all(&telemetry::Context::default())?;
    let default_ns = options.namespace.as_deref().unwrap_or("default");
    let members = decided
        .iter_mut()
        .flatten()
        .filter_map(|(_, (_, _, m))| m.take())
        .collect();
    let stack = stack::Stack::build(objects, members, default_ns);
    let operator = |v: &str| v.starts_with("monitoring.coreos.com/");
    let ctx = telemetry::context(
        &stack,
        &config.spec,
        api_versions(inputs, docs).any(operator)
            || objects.iter().any(|o| {
                o.node
                    .get("apiVersion")
                    .and_then(Node::str)
                    .is_some_and(operator)
            }),
    );
    if ctx.collector.is_some() {
        // Workloads learn where traces go.
        decided = decide_all(&ctx)?;
    }
    let mut out = policy::generate(&stack, config, mesh);
    telemetry::generate(&stack, &config.spec, mesh, &ctx, &mut out);
    // Sized once: growing these long vectors copied them and touched fresh pages.
    report
        .entries
        .reserve_exact(decided.iter().flatten().count() + out.edits.len());
    report.generated.reserve_exact(out.resources.len());
    generated.reserve_exact(out.resources.len());
    for (object, (entry, patch, _)) in decided.into_iter().flatten() {
        report.entries.push(entry);
        object.place(&mut patches[object.doc], patch);
    }
    let namespaces: std::collections::HashMap<usize, &str> = stack
        .services
        .iter()
        .map(|s| (s.object, s.namespace.as_str()))
        .collect();
    // Each edit's report entry compares its patch with the object: on every core.
    let entries = parallel::map(
        &out.edits,
        |_| 1,
        64,
        |edit| {
            let object = &objects[edit.object];
            let name = object
                .node
                .at(&["metadata", "name"])
                .and_then(Node::scalar)
                .unwrap_or_default();
            let subject = report::Subject {
                kind: &object.kind,
                name,
                namespace: namespaces.get(&edit.object).copied(),
            };
            let m = catalog::Match {
                component: edit.component.clone(),
                rule: "service selector".into(),
                custom: false,
            };
            let action = inject::Action::Edit(edit.reason.clone());
            let doc = &docs[object.doc];
            let mut entry = Entry::new(object, doc, inputs, subject, Some(m), action, &edit.patch);
            if options.changes {
                entry.list_changes(object, &edit.patch);
            }
            entry
        },
    );
    report.entries.extend(entries);
    for edit in out.edits {
        let object = &objects[edit.object];
        object.place(&mut patches[object.doc], edit.patch);
    }
    let mut seen = std::collections::HashSet::with_capacity(out.resources.len());
    for g in out.resources {
        let key = (g.kind.to_string(), g.namespace.clone(), g.name.clone());
        let (action, detail) = match stack.existing.get(&key) {
            Some(true) => ("present", g.reason),
            Some(false) => (
                "conflict",
                format!(
                    "the stream already has {} {}/{} not managed by gunj-mesh; not generated ({})",
                    g.kind, g.namespace, g.name, g.reason
                ),
            ),
            None if !seen.insert(key) => continue,
            None => ("generate", g.reason),
        };
        if action == "generate" {
            generated.push(g.object);
        }
        report.generated.push(report::GeneratedEntry {
            api_version: g.api_version,
            kind: g.kind,
            name: g.name,
            namespace: g.namespace,
            component: g.component,
            action,
            detail,
        });
    }
    report.notes = out.notes;
    Ok(Plan {
        report,
        patches,
        generated,
        stack: Some(stack),
    })
}

/// The documents of all inputs, numbered as error messages count them; more than
/// `max_documents` is an error (`--max-documents`). Splitting stops there: a stream of bare
/// `---` lines costs far more memory as documents than as text.
pub fn documents(inputs: &[Input], max_documents: usize) -> Result<Vec<Doc<'_>>, Failure> {
    let mut docs = Vec::new();
    // Documents left in the files count ([`stream::number`] places the rest by them).
    let mut left_docs = 0;
    for (i, input) in inputs.iter().enumerate() {
        left_docs += input.runs().iter().map(|r| r.docs).sum::<usize>();
        let left = max_documents.saturating_sub(docs.len() + left_docs);
        let split = stream::split_max(i, &input.text, left);
        if split.len() > left {
            return Err(Failure::too_many_documents(&input.name, max_documents));
        }
        if docs.is_empty() {
            docs = split;
        } else {
            docs.extend(split);
        }
    }
    stream::number(&mut docs, inputs);
    Ok(docs)
}

/// The `apiVersion`s the header scan read, documents left in the input files included.
fn api_versions<'a>(
    inputs: &'a [Input],
    docs: &'a [Doc<'a>],
) -> impl Iterator<Item = &'a str> + 'a {
    let left = inputs.iter().filter_map(|i| i.left.as_deref());
    docs.iter()
        .filter_map(|d| d.header.api_version)
        .chain(left.flat_map(|l| l.api_versions.iter().map(String::as_str)))
}

/// The generated resources as YAML documents, written on every core (in order).
fn emit(resources: &[Box<dyn policy::Emit>]) -> Vec<String> {
    parallel::map(resources, |_| 1, 64, |r| r.yaml())
}

/// Parses the documents that may change; the others stay text.
pub fn parse_candidates<'a>(
    inputs: &[Input],
    docs: &[Doc<'a>],
    limits: Limits,
) -> Result<Vec<Option<Node<'a>>>, Failure> {
    let parse_one = |doc: &Doc<'a>| -> Result<Option<Node<'a>>, Failure> {
        if !is_candidate(doc) {
            return Ok(None);
        }
        let node = yaml::parse(&doc.text[doc.parse_from..], limits)
            .map_err(|e| Failure::yaml(inputs, doc, e))?;
        match node {
            Some(n) if n.entries().is_none() => Err(Failure::at(
                inputs,
                doc,
                Some(n.start),
                "the document is not a mapping".into(),
            )
            .hint(
                "every document must be a Kubernetes object (a mapping with apiVersion and kind)",
            )),
            Some(n) if n.get("kind").and_then(Node::str).is_none() => Err(Failure::at(
                inputs,
                doc,
                Some(n.start),
                "`kind` is missing or not a string".into(),
            )
            .hint("every Kubernetes object needs apiVersion and kind")),
            other => Ok(other),
        }
    };
    // Candidate bytes measure the work; the output order (and the first error reported)
    // stay those of the stream.
    let weight = |d: &Doc| {
        if is_candidate(d) { d.text.len() } else { 0 }
    };
    parallel::try_map(docs, weight, 256 * 1024, parse_one)
}

/// Documents the filter may change or must read, judged by the header scan (and, for
/// ConfigMaps, whether gunj-mesh wrote them: its dashboards).
pub(crate) fn is_candidate(doc: &Doc) -> bool {
    let h = &doc.header;
    if h.empty {
        return false;
    }
    if h.opaque {
        return true;
    }
    let kind = h.kind.unwrap_or_default();
    workload::WORKLOAD_KINDS.contains(&kind)
        || kind == "Namespace"
        || kind == "Service"
        || stack::GENERATED_KINDS.contains(&kind)
        || (kind == "ConfigMap"
            && memchr::memmem::find(doc.text.as_bytes(), b"gunj-mesh").is_some())
        || kind == config::KIND
        || kind.ends_with("List")
}

fn is_service_mesh(node: &Node) -> bool {
    node.get("kind").and_then(Node::str) == Some(config::KIND)
        && node
            .get("apiVersion")
            .and_then(Node::str)
            .is_some_and(|v| v.starts_with("mesh.gunj.io/"))
}

/// Applies the config precedence: flags > `--config` > stream > functionConfig > default.
pub fn choose_config(
    options: &Options,
    in_stream: Option<ServiceMesh>,
    function_config: Option<ServiceMesh>,
) -> Result<ServiceMesh, Failure> {
    let from_file = match &options.config {
        Some(input) => {
            Some(ServiceMesh::from_yaml(&input.text).map_err(|e| Failure::config(&input.name, e))?)
        }
        None => None,
    };
    let mut config = from_file
        .or(in_stream)
        .or(function_config)
        .unwrap_or_else(ServiceMesh::embedded_default);
    if let Some(mesh) = options.mesh {
        config.spec.mesh = mesh;
    }
    Ok(config)
}

/// Decides `type: auto` from the stream: mesh resources (by apiVersion) and injection
/// settings on the objects.
pub fn resolve_mesh(
    config: &ServiceMesh,
    api_versions: &[&str],
    objects: &[Object],
) -> Result<Mesh, Failure> {
    let linkerd = match config.spec.mesh {
        MeshType::Istio => false,
        MeshType::Linkerd => true,
        MeshType::Auto => {
            let mut istio = api_versions.iter().any(|v| v.contains("istio.io/"));
            let mut linkerd = api_versions.iter().any(|v| v.contains("linkerd.io/"));
            for o in objects {
                for map in ["labels", "annotations"] {
                    for (key, _) in o
                        .node
                        .at(&["metadata", map])
                        .map(Node::string_map)
                        .unwrap_or_default()
                    {
                        istio |= key.contains("istio.io/") || key == "istio-injection";
                        linkerd |= key.contains("linkerd.io/");
                    }
                }
                if let Ok(Some(w)) = Workload::from_node(o.node, &o.kind, None) {
                    istio |= w
                        .pod_labels
                        .keys()
                        .chain(w.pod_annotations.keys())
                        .any(|k| k.contains("istio.io/"));
                    linkerd |= w
                        .pod_labels
                        .keys()
                        .chain(w.pod_annotations.keys())
                        .any(|k| k.contains("linkerd.io/"));
                }
            }
            match (istio, linkerd) {
                (true, false) => false,
                (false, true) => true,
                (found_istio, _) => {
                    let what = if found_istio {
                        "both Istio and Linkerd"
                    } else {
                        "neither Istio nor Linkerd"
                    };
                    return Err(Failure::config(
                        "spec.type",
                        format!(
                            "type: auto found {what} in the stream; set spec.type to istio or linkerd (or pass --mesh)"
                        ),
                    ));
                }
            }
        }
    };
    Ok(Mesh::from_spec(&config.spec, linkerd))
}

/// A Kubernetes object inside a parsed document: the document itself or a List item.
pub struct Object<'a> {
    pub doc: usize,
    /// The item index when the object is an item of a List.
    pub item: Option<usize>,
    pub node: &'a Node<'a>,
    pub kind: String,
}

impl Object<'_> {
    /// Puts an object-relative patch into its document's patch.
    fn place(&self, doc_patch: &mut Patch, patch: Patch) {
        if patch.is_empty() {
            return;
        }
        match self.item {
            Some(i) => doc_patch.field("items").item(i).merge(patch),
            None => doc_patch.merge(patch),
        }
    }
}

/// The objects a parsed document holds.
pub fn objects_of<'a>(doc: usize, node: &'a Node<'a>) -> Vec<Object<'a>> {
    let kind = node.get("kind").and_then(Node::str).unwrap_or_default();
    if kind.ends_with("List")
        && let Some(items) = node.get("items").and_then(Node::items)
    {
        return items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                Some(Object {
                    doc,
                    item: Some(i),
                    node: item,
                    kind: item.get("kind").and_then(Node::str)?.to_string(),
                })
            })
            .collect();
    }
    vec![Object {
        doc,
        item: None,
        node,
        kind: kind.to_string(),
    }]
}

/// The decision and patch for one object, or `None` when it is not ours to touch.
fn decide(
    object: &Object,
    config: &ServiceMesh,
    mesh: &Mesh,
    options: &Options,
    inputs: &[Input],
    doc: &Doc,
    ctx: &telemetry::Context,
) -> Result<Option<(Entry, Patch, Option<stack::Member>)>, Failure> {
    let node = object.node;
    let shape = |e: workload::ShapeError| {
        Failure::at(
            inputs,
            doc,
            Some(e.at),
            format!("{} must be {}", e.field, e.expected),
        )
        .hint("fix the manifest; Kubernetes would reject it too")
    };
    let name = node
        .at(&["metadata", "name"])
        .and_then(Node::scalar)
        .unwrap_or_default();
    if object.kind == "Namespace" {
        let labels = workload::string_map(node.at(&["metadata", "labels"]), "metadata.labels")
            .map_err(shape)?;
        let labels: Vec<(&str, Option<&str>)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str())))
            .collect();
        return Ok(
            inject::namespace(name, &labels, &config.spec, mesh).map(|(action, patch)| {
                let subject = report::Subject {
                    kind: "Namespace",
                    name,
                    namespace: None,
                };
                let mut entry = Entry::new(object, doc, inputs, subject, None, action, &patch);
                if options.changes {
                    entry.list_changes(object, &patch);
                }
                (entry, patch, None)
            }),
        );
    }
    let Some(w) =
        Workload::from_node(node, &object.kind, options.namespace.as_deref()).map_err(shape)?
    else {
        return Ok(None);
    };
    let Some(m) = catalog::recognise(&w, node, &config.spec.components.custom) else {
        return Ok(None);
    };
    let (mut action, mut patch) =
        inject::workload(&w, &m, &config.spec, mesh, options.namespace.as_deref());
    if let inject::Action::Inject(how) = &mut action {
        let (extra, what) = telemetry::pod_patch(&w, &m.component, &config.spec, mesh, ctx);
        patch.merge(extra);
        for w in what {
            how.push_str(", ");
            how.push_str(w);
        }
    }
    let subject = report::Subject {
        kind: &w.kind,
        name: &w.name,
        namespace: w.namespace.as_deref().or(options.namespace.as_deref()),
    };
    let member = matches!(action, inject::Action::Inject(_)).then(|| stack::Member {
        component: m.component.clone(),
        kind: w.kind.clone(),
        name: w.name.clone(),
        namespace: subject.namespace.unwrap_or("default").to_string(),
        service_account: w
            .service_account
            .clone()
            .unwrap_or_else(|| "default".into()),
        selector: w.selector.clone().into(),
        pod_labels: w
            .pod_labels
            .iter()
            .chain(&w.selector)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ports: w.ports.clone(),
        serves: !w.runs_to_completion,
        hook: w.is_hook(),
    });
    let mut entry = Entry::new(object, doc, inputs, subject, Some(m), action, &patch);
    if options.changes {
        entry.list_changes(object, &patch);
    }
    Ok(Some((entry, patch, member)))
}

/// Applies a document's patch as text splices, or re-emits the document when its shape
/// rules that out (anchors, aliases, merge keys on the edited path).
pub fn patch_doc(
    inputs: &[Input],
    doc: &Doc,
    node: &Node,
    patch: &Patch,
) -> Result<String, Failure> {
    let body = &doc.text[doc.parse_from..];
    let head = &doc.text[..doc.parse_from];
    match edit::splices(body, node, patch) {
        Ok(splices) => Ok(format!("{head}{}", edit::apply(body, &splices))),
        Err(EditError::Unsupported(_)) => {
            let mut value = node.to_json();
            edit::apply_json(&mut value, patch);
            let comments: String = body
                .lines()
                .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
                .map(|l| format!("{l}\n"))
                .collect();
            Ok(format!("{head}{comments}{}", yaml::to_string(&value)))
        }
        Err(EditError::WrongType { at, expected }) => {
            Err(
                Failure::at(inputs, doc, Some(at), format!("expected {expected} here"))
                    .hint("labels and annotations must be mappings of strings"),
            )
        }
    }
}

/// The name of the input a document came from, with its `# Source:` or Helm 4 filename.
pub fn source_name(inputs: &[Input], doc: &Doc) -> String {
    let file = &inputs[doc.source].name;
    let origin = doc.text.lines().find_map(|l| {
        l.strip_prefix("# Source: ")
            .or_else(|| {
                l.trim_start()
                    .strip_prefix("postrenderer.helm.sh/postrender-filename:")
            })
            .or_else(|| l.trim_start().strip_prefix("config.kubernetes.io/path:"))
            .map(|s| s.trim().trim_matches(['\'', '"']).to_string())
    });
    match (file.as_str(), origin) {
        ("-", Some(o)) => o,
        (f, Some(o)) => format!("{f}: {o}"),
        (f, None) => f.to_string(),
    }
}

/// Enforces `--max-input-bytes` before the stream is split.
fn check_size(inputs: &[Input], limits: Limits) -> Result<(), Failure> {
    let mut bytes = 0;
    for input in inputs {
        bytes += input.bytes();
        if bytes > limits.max_input_bytes {
            return Err(Failure::too_large(&input.name, limits.max_input_bytes));
        }
    }
    Ok(())
}
