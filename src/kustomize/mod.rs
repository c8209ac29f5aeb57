//! Kustomize mode: what the filter does, as a kustomize patch set. Each object the filter
//! edits gets a JSON 6902 patch computed from its parsed text before and after
//! ([`json_patch::diff`]), with a `target` that selects that object and no other; the
//! generated resources are a stream of their own. A Flux HelmRelease's
//! `postRenderers[].kustomize.patches` or a kustomization.yaml carries the patches.
//!
//! Kustomize reads every `target` field as a regular expression matched against the whole
//! value (`a.b` selects `axb` too), an empty field as any value, and an object without a
//! namespace as one in `default`
//! (<https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/patches/>):
//! targets escape their values, select the core group with `^$`, and name the namespace of
//! an object that names none only when another object of its kind and name needs telling
//! apart.

pub mod json_patch;

use crate::error::Failure;
use crate::io::stream::Doc;
use crate::report::Report;
use crate::yaml::{self, Limits};
use serde::Serialize;
use serde_json::Value;

/// What `gunj-mesh kustomize` writes: the patches, the generated resources (a YAML
/// stream, empty when there are none) and the filter's report.
#[derive(Debug)]
pub struct PatchSet {
    pub patches: Vec<Patch>,
    pub resources: String,
    /// How many resources `resources` holds.
    pub generated: usize,
    pub report: Report,
}

/// One entry of a Kustomization's `patches:`.
#[derive(Debug, Clone, Serialize)]
pub struct Patch {
    pub target: Target,
    /// The JSON 6902 operations, as YAML.
    pub patch: String,
}

/// The object a patch applies to, as kustomize's selector regular expressions.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization<'a> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<&'a str>,
    patches: &'a [Patch],
}

impl PatchSet {
    /// The patches as a Kustomization (kustomize.config.k8s.io/v1beta1) that lists
    /// `resources` (the file of the generated resources, as the user named it).
    pub fn kustomization(&self, resources: Option<&str>) -> String {
        yaml::to_string(&Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: resources.into_iter().collect(),
            patches: &self.patches,
        })
    }
}

/// The patch set of a filtered stream: `edited` holds the new texts of the changed
/// documents of `docs` (`(document index, text)`), `rendered` the generated resources.
pub fn patch_set(
    docs: &[Doc],
    edited: &[(usize, String)],
    rendered: Vec<String>,
    report: Report,
    limits: Limits,
) -> Result<PatchSet, Failure> {
    let mut patches = Vec::new();
    for (i, text) in edited {
        let doc = &docs[*i];
        let json = |text: &str| -> Result<Value, Failure> {
            let node = yaml::parse(text, limits).map_err(|e| doc.yaml_error(e))?;
            Ok(node.map_or(Value::Null, |n| n.to_json()))
        };
        let before = json(doc.body())?;
        let after = json(&text[doc.parse_from..])?;
        let (old, new) = (objects(&before), objects(&after));
        if old.len() != new.len() {
            return Err(doc.fail(
                None,
                "the filter changed the number of items of this List, which no patch can do".into(),
            ));
        }
        for (old, new) in old.into_iter().zip(new) {
            let ops = json_patch::diff(old, new);
            if ops.is_empty() {
                continue;
            }
            let id = Id::of(old).ok_or_else(|| no_id(doc))?;
            if Id::of(new).as_ref() != Some(&id) {
                return Err(doc.fail(None, "the filter changed the object's apiVersion, kind, name or namespace, which a patch cannot".into()));
            }
            let ambiguous = id.namespace.is_none() && same_elsewhere(docs, &id, limits);
            patches.push(Patch {
                target: id.target(ambiguous),
                patch: yaml::to_string(&ops),
            });
        }
    }
    Ok(PatchSet {
        patches,
        generated: rendered.len(),
        resources: rendered.join("---\n"),
        report,
    })
}

/// The objects of a document as kustomize reads them: a List's items (kustomize expands
/// Lists), else the document.
fn objects(value: &Value) -> Vec<&Value> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"));
    match value.get("items").and_then(Value::as_array) {
        Some(items) if is_list => items.iter().flat_map(objects).collect(),
        _ => vec![value],
    }
}

/// What kustomize identifies an object by.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Id {
    api_version: String,
    kind: String,
    name: String,
    namespace: Option<String>,
}

impl Id {
    fn of(object: &Value) -> Option<Id> {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let metadata = object.get("metadata");
        Some(Id {
            api_version: text(object.get("apiVersion"))?,
            kind: text(object.get("kind"))?,
            name: text(metadata.and_then(|m| m.get("name")))?,
            namespace: text(metadata.and_then(|m| m.get("namespace"))).filter(|n| !n.is_empty()),
        })
    }

    /// The selector of this object; `ambiguous`: it names no namespace and another object
    /// of its kind and name does, so the target says `default`, where kustomize puts it.
    fn target(&self, ambiguous: bool) -> Target {
        let (group, version) = match self.api_version.rsplit_once('/') {
            Some((group, version)) => (literal(group), literal(version)),
            None => ("^$".to_string(), literal(&self.api_version)),
        };
        Target {
            group,
            version,
            kind: literal(&self.kind),
            name: literal(&self.name),
            namespace: match &self.namespace {
                Some(ns) => Some(literal(ns)),
                None => ambiguous.then(|| "default".to_string()),
            },
        }
    }
}

/// `s` as a regular expression that matches only `s`: kustomize anchors it.
fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether another object of the stream has `id`'s apiVersion, kind and name (in some
/// namespace). Only documents whose scanned kind may be `id`'s are parsed.
fn same_elsewhere(docs: &[Doc], id: &Id, limits: Limits) -> bool {
    let mut seen = 0;
    for doc in docs {
        if doc
            .header
            .kind
            .is_some_and(|k| k != id.kind && !k.ends_with("List"))
        {
            continue;
        }
        let Ok(Some(node)) = yaml::parse(doc.body(), limits) else {
            continue;
        };
        let value = node.to_json();
        seen += objects(&value)
            .into_iter()
            .filter_map(Id::of)
            .filter(|o| o.api_version == id.api_version && o.kind == id.kind && o.name == id.name)
            .count();
        if seen > 1 {
            return true;
        }
    }
    false
}

fn no_id(doc: &Doc) -> Failure {
    doc.fail(None, "an object the filter edits has no apiVersion, kind or metadata.name, so no kustomize patch can select it".into())
        .hint("give the object a metadata.name (kustomize needs one for every resource)")
}

/// A KRM ResourceList has no kustomize patches: it is a function's input.
pub fn refuse_resource_list(doc: &Doc) -> Failure {
    doc.fail(None, "`gunj-mesh kustomize` reads a manifest stream, not a KRM ResourceList".into())
        .hint("run gunj-mesh as the KRM function itself (kpt fn eval --exec gunj-mesh, or a kustomize transformer)")
}

/// The filter drops an in-stream ServiceMesh document; a patch set would leave it in the
/// rendered manifests, so the config comes from `-c`.
pub fn refuse_config_doc(doc: &Doc) -> Failure {
    doc.fail(
        None,
        "a ServiceMesh document in the stream: a patch set cannot drop it, as the filter does"
            .into(),
    )
    .hint("pass the config with -c FILE and keep it out of the rendered manifests")
}
