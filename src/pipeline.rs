//! Stream mode, top to bottom: split the inputs into documents, parse the ones that may
//! change, find the config, plan, patch the changed documents, and assemble the output.
//! A stream that is a KRM ResourceList goes to [`crate::krm`] instead.

use crate::config::{ServiceMesh, is_service_mesh};
use crate::error::Failure;
use crate::generate::{self, Emit};
use crate::io::input::Input;
use crate::io::output;
use crate::io::sparse::{self, Keep};
use crate::io::stream::{self, Doc};
use crate::krm;
use crate::kustomize;
use crate::model::kinds::is_candidate;
use crate::model::object::{Object, objects_of};
use crate::parallel;
use crate::plan::{self, Fixes, Options, Outcome, Plan, setup};
use crate::report::Report;
use crate::yaml::edit;
use crate::yaml::patch::Patch;
use crate::yaml::{self, Limits, Node};

/// Runs the filter over the inputs.
pub fn run<'a>(inputs: &'a [Input], options: &Options) -> Result<Outcome<'a>, Failure> {
    let docs = split(inputs, options)?;
    if is_krm(&docs, options) {
        return Ok(krm::run(inputs, &docs, options));
    }
    let Filtered {
        config_docs,
        edited,
        rendered,
        report,
        traffic,
        spare,
    } = filter(inputs, &docs, options)?;
    let fixes = options
        .fixes
        .then(|| fixes(inputs, &docs, &edited, &rendered));
    let output = output::assemble(inputs, &docs, &config_docs, edited, rendered);
    Ok(Outcome {
        output,
        report,
        fixes,
        failure: None,
        traffic,
        _spare: spare,
    })
}

/// Kustomize mode: the filter's run as a patch set ([`kustomize::PatchSet`]): a JSON patch
/// per edited object, taken from its parsed text before and after, and the generated
/// resources. A ResourceList, and a ServiceMesh document in the stream (which the filter
/// drops, and no patch can), are refused.
pub fn patch_set(inputs: &[Input], options: &Options) -> Result<kustomize::PatchSet, Failure> {
    let docs = split(inputs, options)?;
    if is_krm(&docs, options) {
        return Err(kustomize::refuse_resource_list(&docs[0]));
    }
    let filtered = filter(inputs, &docs, options)?;
    if let Some(&i) = filtered.config_docs.first() {
        return Err(kustomize::refuse_config_doc(&docs[i]));
    }
    kustomize::patch_set(
        &docs,
        &filtered.edited,
        filtered.rendered,
        filtered.report,
        options.limits,
    )
}

/// The inputs cut into documents, within the limits.
fn split<'a>(inputs: &'a [Input], options: &Options) -> Result<Vec<Doc<'a>>, Failure> {
    stream::check_size(inputs, options.limits.max_input_bytes)?;
    stream::documents(inputs, options.limits.max_documents)
}

/// Whether the stream is a KRM ResourceList (its first non-empty document is one).
fn is_krm(docs: &[Doc], options: &Options) -> bool {
    docs.iter()
        .find(|d| !d.header.empty)
        .is_some_and(|first| krm::is_resource_list(first, options.limits))
}

/// What the filter makes of a stream: the in-stream config documents (dropped), the edited
/// documents' new texts, the generated resources as YAML, and the report.
struct Filtered {
    config_docs: Vec<usize>,
    edited: Vec<(usize, String)>,
    rendered: Vec<String>,
    report: Report,
    traffic: plan::Traffic,
    spare: plan::Spare,
}

/// Parses, finds the config, plans, patches the changed documents and renders the
/// generated resources.
fn filter(inputs: &[Input], docs: &[Doc], options: &Options) -> Result<Filtered, Failure> {
    let parsed = parse(docs, options.limits)?;
    let (config_docs, in_stream) = stream_config(docs, &parsed)?;
    let config = setup::choose_config(options, in_stream, None)?;
    let objects: Vec<Object> = docs
        .iter()
        .zip(&parsed)
        .enumerate()
        .filter(|(i, _)| !config_docs.contains(i))
        .flat_map(|(i, (_, node))| node.as_ref().map(|n| objects_of(i, n)).unwrap_or_default())
        .collect();
    setup::no_config_in_a_list(&objects, docs)?;
    let api_versions: Vec<&str> = stream::api_versions(inputs, docs).collect();
    let mesh = setup::resolve_mesh(&config, &api_versions, &objects)?;
    let Plan {
        report,
        patches,
        generated,
        traffic,
    } = plan::plan(&objects, &api_versions, &config, &mesh, options, docs)?;
    let mut report = report;
    report.objects = objects.len()
        + docs
            .iter()
            .zip(&parsed)
            .filter(|(d, node)| node.is_none() && d.header.kind.is_some())
            .count()
        + inputs
            .iter()
            .flat_map(|i| i.runs().iter().map(|r| r.docs))
            .sum::<usize>();
    let edited = patch(docs, &parsed, &patches, &config_docs)?;
    drop(objects);
    drop(parsed);
    let rendered = render(&generated, options.limits.max_input_bytes)?;
    Ok(Filtered {
        config_docs,
        edited,
        rendered,
        report,
        traffic,
        spare: Plan::spare(patches, generated),
    })
}

/// Reads a regular file of at most `limit` bytes, leaving in it the documents the filter
/// never reads ([`sparse::read_file`]) once they pass [`yaml::check`] within `limits`. A
/// document that does not stays in memory, and [`parse`] reports it with its place in the
/// stream.
pub fn read_file(
    name: &str,
    file: std::fs::File,
    limit: usize,
    chunk: usize,
    limits: Limits,
) -> Result<Input, Failure> {
    let keep: &Keep = &move |doc| is_candidate(doc) || yaml::check(doc.body(), limits).is_err();
    sparse::read_file(name, file, limit, chunk, keep)
}

/// Parses the documents that may change, on every core. The others stay text, checked by
/// [`yaml::check`]: a stream the filter passes is one it could read whole.
pub fn parse<'a>(docs: &[Doc<'a>], limits: Limits) -> Result<Vec<Option<Node<'a>>>, Failure> {
    let parse_one = |doc: &Doc<'a>| -> Result<Option<Node<'a>>, Failure> {
        if !is_candidate(doc) {
            return yaml::check(doc.body(), limits)
                .map(|()| None)
                .map_err(|e| doc.yaml_error(e));
        }
        let node =
            yaml::parse(&doc.text[doc.parse_from..], limits).map_err(|e| doc.yaml_error(e))?;
        match node {
            Some(n) if n.entries().is_none() => Err(doc
                .fail(Some(n.start), "the document is not a mapping".into())
                .hint(
                    "every document must be a Kubernetes object (a mapping with apiVersion and kind)",
                )),
            Some(n) if n.get("kind").and_then(Node::str).is_none() => Err(doc
                .fail(Some(n.start), "`kind` is missing or not a string".into())
                .hint("every Kubernetes object needs apiVersion and kind")),
            other => Ok(other),
        }
    };
    // Bytes measure the work, a parsed one as much as CHECKED checked ones; the output order
    // (and the first error reported) stay those of the stream.
    const CHECKED: usize = 8;
    let weight = |d: &Doc| {
        if is_candidate(d) {
            d.text.len() * CHECKED
        } else {
            d.text.len()
        }
    };
    parallel::try_map(docs, weight, 256 * 1024 * CHECKED, parse_one)
}

/// The ServiceMesh documents in the stream (at most one) and the config it holds.
fn stream_config(
    docs: &[Doc],
    parsed: &[Option<Node>],
) -> Result<(Vec<usize>, Option<ServiceMesh>), Failure> {
    let found: Vec<usize> = parsed
        .iter()
        .enumerate()
        .filter(|(_, node)| node.as_ref().is_some_and(is_service_mesh))
        .map(|(i, _)| i)
        .collect();
    if let Some(&second) = found.get(1) {
        return Err(docs[second]
            .fail(None, "a second ServiceMesh document in the stream".into())
            .hint("keep one ServiceMesh config per stream"));
    }
    let config = match found.first() {
        Some(&i) => {
            let source = format!("{} (ServiceMesh document {})", docs[i].source_name(), i + 1);
            Some(setup::read_config_at(
                &source,
                docs[i].body(),
                docs[i].line,
            )?)
        }
        None => None,
    };
    Ok((found, config))
}

/// The changed documents' new texts (`(document index, text)` in order), patched on every
/// core. Config documents are dropped from the output, so not patched.
fn patch(
    docs: &[Doc],
    parsed: &[Option<Node>],
    patches: &[Patch],
    dropped: &[usize],
) -> Result<Vec<(usize, String)>, Failure> {
    let changed: Vec<usize> = (0..docs.len())
        .filter(|&i| !patches[i].is_empty() && !dropped.contains(&i))
        .collect();
    let texts = parallel::try_map(
        &changed,
        |&i| docs[i].text.len(),
        64 * 1024,
        |&i| match &parsed[i] {
            Some(node) => patch_doc(&docs[i], node, &patches[i]).map(Some),
            None => Ok(None),
        },
    )?;
    Ok(changed
        .into_iter()
        .zip(texts)
        .filter_map(|(i, text)| Some((i, text?)))
        .collect())
}

/// Applies a document's patch as text splices ([`edit::splices`]): everything else in the
/// document stays byte for byte. A change no splice can make without changing what else
/// the document says (through its anchors) is an error naming the place.
pub fn patch_doc(doc: &Doc, node: &Node, patch: &Patch) -> Result<String, Failure> {
    let body = doc.body();
    let head = &doc.text[..doc.parse_from];
    let splices = edit::splices(body, node, patch).map_err(|e| doc.edit_error(e))?;
    Ok(format!("{head}{}", edit::apply(body, &splices)))
}

/// Each input as the filter would write it, its edited documents in place (the config
/// stays: it is the user's), and the generated resources as a stream of their own. The
/// documents of an input read sparsely are not in memory: its text stays as it is.
fn fixes(inputs: &[Input], docs: &[Doc], edited: &[(usize, String)], rendered: &[String]) -> Fixes {
    let mut files: Vec<String> = vec![String::new(); inputs.len()];
    let mut edited = edited.iter().peekable();
    for (i, doc) in docs.iter().enumerate() {
        match edited.next_if(|(at, _)| *at == i) {
            Some((_, text)) => files[doc.source].push_str(text),
            None => files[doc.source].push_str(doc.text),
        }
    }
    for (file, input) in files.iter_mut().zip(inputs) {
        if !input.runs().is_empty() {
            file.clone_from(&input.text);
        }
    }
    Fixes {
        files,
        generated: rendered.join("---\n"),
    }
}

/// The generated resources as YAML documents, written on every core (in order). Stops
/// as soon as they pass `limit` bytes ([`generate::within`]), before they take that much
/// memory.
fn render(resources: &[Box<dyn Emit>], limit: usize) -> Result<Vec<String>, Failure> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let total = AtomicUsize::new(0);
    parallel::try_map(
        resources,
        |_| 1,
        64,
        |r| {
            let text = r.yaml();
            let sum = total.fetch_add(text.len(), Ordering::Relaxed) + text.len();
            generate::within(sum, limit).map(|()| text)
        },
    )
}
