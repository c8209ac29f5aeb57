//! The KRM function contract (kpt, kustomize): a `ResourceList` in, a `ResourceList` out.
//!
//! Spec: kubernetes-sigs/kustomize `cmd/config/docs/api-conventions/functions-spec.md`.
//! Items are edited in place as text like any document; `results` carry one `info` per
//! changed resource and a `warning` per skip. On error the input ResourceList comes back
//! with an `error` result and the exit status is 1.

use crate::config::{self, ConfigError, ServiceMesh};
use crate::error::{Failure, redact};
use crate::generate::{self, Emit};
use crate::io::input::Input;
use crate::io::stream::{self, Doc};
use crate::model::catalog;
use crate::model::object::objects_at;
use crate::plan::{self, Options, Outcome, Plan, setup};
use crate::report::{EntryAction, GeneratedAction, Report};
use crate::yaml::edit;
use crate::yaml::patch::Patch;
use crate::yaml::{self, Node};
use serde_json::{Value, json};

/// True for a `config.kubernetes.io` ResourceList; a document the header scan cannot read
/// (JSON, flow style) is parsed to find out.
pub fn is_resource_list(doc: &Doc, limits: yaml::Limits) -> bool {
    let h = &doc.header;
    let by_header = |kind: Option<&str>, api: Option<&str>| {
        kind == Some("ResourceList") && api.is_some_and(|v| v.starts_with("config.kubernetes.io/"))
    };
    if !h.opaque {
        return by_header(h.kind, h.api_version);
    }
    match yaml::parse(&doc.text[doc.parse_from..], limits) {
        Ok(Some(node)) => by_header(
            node.get("kind").and_then(Node::str),
            node.get("apiVersion").and_then(Node::str),
        ),
        _ => false,
    }
}

/// Runs the function. Errors become a ResourceList with an error result.
pub fn run<'a>(inputs: &'a [Input], docs: &[Doc], options: &Options) -> Outcome<'a> {
    let doc = docs
        .iter()
        .find(|d| !d.header.empty)
        .expect("called with a ResourceList document");
    let text = &doc.text[doc.parse_from..];
    // The documents of comments around the ResourceList are copied: they are checked too.
    let comments = docs
        .iter()
        .filter(|d| d.header.empty)
        .try_for_each(|d| yaml::check(d.body(), options.limits).map_err(|e| d.yaml_error(e)));
    let node =
        comments.and_then(|()| yaml::parse(text, options.limits).map_err(|e| doc.yaml_error(e)));
    let outcome = node.and_then(|node| {
        let node = node.expect("the header scan found content");
        if let Some(extra) = docs.iter().filter(|d| !d.header.empty).nth(1) {
            return Err(extra
                .fail(None, "a document after the ResourceList".into())
                .hint("a KRM function reads exactly one ResourceList"));
        }
        let outcome = process(inputs, docs, doc, &node, options);
        Ok(match outcome {
            Ok(o) => o,
            Err(f) => error_outcome(doc, Some(&node), f),
        })
    });
    let mut outcome = outcome.unwrap_or_else(|f| error_outcome(doc, None, f));
    // Comments and empty documents before the ResourceList stay in front of it.
    let before: String = docs
        .iter()
        .take_while(|d| d.header.empty)
        .map(|d| d.text)
        .collect();
    outcome.output.prepend(before);
    outcome
}

fn process(
    inputs: &[Input],
    docs: &[Doc],
    doc: &Doc,
    node: &Node,
    options: &Options,
) -> Result<Outcome<'static>, Failure> {
    let items = match node.get("items") {
        Some(items) if items.items().is_some() => items.items().unwrap_or_default(),
        Some(items) if items.is_null() => &[],
        None => &[],
        Some(items) => {
            return Err(doc
                .fail(Some(items.start), "`items` is not a list".into())
                .hint("a ResourceList's items must be a list of objects"));
        }
    };
    let function_config = match node.get("functionConfig").filter(|n| !n.is_null()) {
        Some(fc) if fc.get("kind").and_then(Node::str) == Some(config::KIND) => {
            Some(setup::config_in(doc, fc, "functionConfig")?)
        }
        Some(fc) => Some(function_config(fc).map_err(|e| Failure::config("functionConfig", e))?),
        None => None,
    };
    let mut in_stream = None;
    let mut objects = Vec::new();
    let mut api_versions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item.entries().is_none() {
            return Err(doc
                .fail(Some(item.start), format!("items[{i}] is not a mapping"))
                .hint("every item must be a Kubernetes object"));
        }
        let Some(kind) = item.get("kind").and_then(Node::str) else {
            return Err(doc
                .fail(Some(item.start), format!("items[{i}] has no `kind`"))
                .hint("every Kubernetes object needs apiVersion and kind"));
        };
        if let Some(v) = item.get("apiVersion").and_then(Node::str) {
            api_versions.push(v);
        }
        if kind == config::KIND {
            in_stream = Some(setup::config_in(doc, item, &format!("items[{i}]"))?);
            continue;
        }
        let local = item
            .at(&[
                "metadata",
                "annotations",
                "config.kubernetes.io/local-config",
            ])
            .and_then(Node::str)
            == Some("true");
        if local || kind == "Kptfile" {
            continue;
        }
        let index = docs
            .iter()
            .position(|d| std::ptr::eq(d, doc))
            .expect("doc is in docs");
        objects.extend(objects_at(index, item, vec![i]));
    }
    setup::no_config_in_a_list(&objects, docs)?;
    let config = setup::choose_config(options, in_stream, function_config)?;
    let mesh = setup::resolve_mesh(&config, &api_versions, &objects)?;
    // Only the ResourceList's own apiVersion: the items are the objects.
    let headers: Vec<&str> = stream::api_versions(inputs, docs).collect();
    let Plan {
        report,
        patches,
        generated,
        traffic,
    } = plan::plan(&objects, &headers, &config, &mesh, options, docs)?;
    let patch = patches
        .into_iter()
        .nth(objects.first().map_or(0, |o| o.doc))
        .unwrap_or_default();
    let head = &doc.text[..doc.parse_from];
    let text = &doc.text[doc.parse_from..];
    let uneditable = || {
        doc.fail(None, "the ResourceList cannot be edited as text".into())
            .hint("anchors and aliases in a ResourceList are not supported")
    };
    let results = results(&report, items);
    let unchanged = generated.is_empty() && !report.entries.iter().any(|e| e.changed);
    let output = if unchanged && let Some(earlier) = node.get("results").and_then(Node::items) {
        kept_results(text, node, earlier, results).ok_or_else(uneditable)?
    } else if generated.is_empty() {
        with_results(text, node, patch, results).map_err(|e| doc.edit_error(e))?
    } else {
        // Items are edited first; the new items then go after them.
        let edited = edit::splices(text, node, &patch)
            .map(|s| edit::apply(text, &s))
            .map_err(|e| doc.edit_error(e))?;
        let reparsed = yaml::parse(&edited, options.limits)
            .ok()
            .flatten()
            .ok_or_else(uneditable)?;
        let mut push = Patch::new();
        *push.field("items") = Patch::Push(with_paths(items, generated));
        with_results(&edited, &reparsed, push, results).map_err(|_| uneditable())?
    };
    generate::within(
        output.len().saturating_sub(text.len()),
        options.limits.max_input_bytes,
    )?;
    let mut report = report;
    report.objects = objects.len();
    Ok(Outcome {
        output: format!("{head}{output}").into(),
        report,
        fixes: None,
        failure: None,
        traffic,
        _spare: Default::default(),
    })
}

/// The file generated items are written to by kpt, and their index in it (after any items
/// already there).
const GENERATED_PATH: &str = "gunj-mesh-generated.yaml";

fn with_paths(items: &[Node], generated: Vec<Box<dyn Emit>>) -> Vec<Value> {
    let taken = items
        .iter()
        .filter(|i| {
            i.at(&[
                "metadata",
                "annotations",
                "internal.config.kubernetes.io/path",
            ])
            .and_then(Node::str)
                == Some(GENERATED_PATH)
        })
        .count();
    generated
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut item = item.json();
            let index = (taken + i).to_string();
            let annotations = item["metadata"]
                .as_object_mut()
                .expect("generated metadata")
                .entry("annotations")
                .or_insert_with(|| json!({}));
            for (key, value) in [
                ("config.kubernetes.io/path", GENERATED_PATH),
                ("config.kubernetes.io/index", &index),
                ("internal.config.kubernetes.io/path", GENERATED_PATH),
                ("internal.config.kubernetes.io/index", &index),
            ] {
                annotations[key] = json!(value);
            }
            item
        })
        .collect()
}

/// The ResourceList body with `patch` applied and `results` set to this run's results,
/// replacing earlier ones.
fn with_results(
    text: &str,
    node: &Node,
    mut patch: Patch,
    results: Vec<Value>,
) -> Result<String, edit::EditError> {
    let replace = edit::replace_list_entry(text, node, "results", &results);
    if replace.is_none() {
        *patch.field("results") = Patch::Push(results);
    }
    let mut splices = edit::splices(text, node, &patch)?;
    splices.extend(replace);
    splices.sort_by_key(|s| s.start);
    Ok(edit::apply(text, &splices))
}

/// The ResourceList body of a run that changes no item, whose input has `results`: those
/// stay, followed by this run's that are not among them. A second run over the output
/// thus gives it back byte for byte.
fn kept_results(text: &str, node: &Node, earlier: &[Node], results: Vec<Value>) -> Option<String> {
    let earlier: Vec<Value> = earlier.iter().map(Node::to_json).collect();
    let new: Vec<Value> = results
        .into_iter()
        .filter(|r| !earlier.contains(r))
        .collect();
    if new.is_empty() {
        return Some(text.to_string());
    }
    let mut patch = Patch::new();
    *patch.field("results") = Patch::Push(new);
    let splices = edit::splices(text, node, &patch).ok()?;
    Some(edit::apply(text, &splices))
}

/// A functionConfig other than a `ServiceMesh` ([`setup::config_in`]): a `ConfigMap` whose
/// data keys are spec fields.
fn function_config(node: &Node) -> Result<ServiceMesh, ConfigError> {
    let value = node.to_json();
    let known = catalog::names();
    match value.get("kind").and_then(Value::as_str) {
        Some("ConfigMap") => {
            let data = value
                .get("data")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            ServiceMesh::from_config_map(&data, &known)
        }
        other => Err(ConfigError::other(format!(
            "functionConfig must be a ServiceMesh or a ConfigMap, not {}",
            other.unwrap_or("an object without kind")
        ))),
    }
}

/// One result per recognised object: `info` when changed, `warning` when skipped. kpt
/// prints the messages: they are escaped ([`redact::line`]).
fn results(report: &Report, items: &[Node]) -> Vec<Value> {
    report
        .entries
        .iter()
        .filter(|e| e.action != EntryAction::Unchanged)
        .map(|e| {
            let item = e.item.split_first().and_then(|(&first, rest)| {
                rest.iter().try_fold(items.get(first)?, |list, &i| list.get("items")?.items()?.get(i))
            });
            let get = |path: &[&str]| item.and_then(|n| n.at(path)).and_then(Node::scalar).map(str::to_string);
            let mut r = json!({
                "message": e.summary(),
                "severity": if e.action == EntryAction::Skip { "warning" } else { "info" },
                "resourceRef": {"apiVersion": get(&["apiVersion"]).unwrap_or_default(), "kind": e.kind, "name": e.name},
            });
            if let Some(ns) = &e.namespace {
                r["resourceRef"]["namespace"] = json!(ns);
            }
            let annotation = |key: &str| get(&["metadata", "annotations", key]);
            if let Some(path) = annotation("config.kubernetes.io/path").or_else(|| annotation("internal.config.kubernetes.io/path")) {
                let index = annotation("config.kubernetes.io/index")
                    .or_else(|| annotation("internal.config.kubernetes.io/index"))
                    .and_then(|i| i.parse::<u64>().ok())
                    .unwrap_or(0);
                r["file"] = json!({"path": path, "index": index});
            }
            r
        })
        .chain(report.generated.iter().filter(|g| g.action != GeneratedAction::Present).map(|g| {
            let mut r = json!({
                "message": redact::line(&format!("{}: {}", g.object(), g.detail)),
                "severity": if matches!(g.action, GeneratedAction::Conflict | GeneratedAction::Drift) { "warning" } else { "info" },
                "resourceRef": {"apiVersion": g.api_version, "kind": g.kind, "name": g.name},
            });
            if let Some(ns) = &g.namespace {
                r["resourceRef"]["namespace"] = json!(ns);
            }
            r
        }))
        .chain(report.warnings.iter().chain(&report.notes).map(|n| json!({"message": redact::line(n), "severity": "warning"})))
        .collect()
}

/// The input ResourceList with an error result, or a minimal one when it could not be read.
fn error_outcome(doc: &Doc, node: Option<&Node>, failure: Failure) -> Outcome<'static> {
    let mut result = json!({"message": failure.to_string(), "severity": "error"});
    if failure.document.is_none() {
        // kpt prints `field.path: message`: do not say the field twice.
        result = json!({"message": failure.detail(), "severity": "error", "field": {"path": failure.source}});
    }
    let output = node
        .and_then(|node| {
            let text = &doc.text[doc.parse_from..];
            let body = with_results(text, node, Patch::new(), vec![result.clone()]).ok()?;
            Some(format!("{}{body}", &doc.text[..doc.parse_from]))
        })
        .unwrap_or_else(|| {
            yaml::to_string(&json!({
                "apiVersion": "config.kubernetes.io/v1",
                "kind": "ResourceList",
                "items": [],
                "results": [result],
            }))
        });
    Outcome {
        output: output.into(),
        report: Report::default(),
        fixes: None,
        failure: Some(failure),
        traffic: Default::default(),
        _spare: Default::default(),
    }
}
