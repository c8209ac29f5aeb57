//! The resources and edits gunj-mesh adds to a stream: traffic and security policies
//! ([`policy`]), telemetry and dashboards ([`telemetry`], [`dashboards`]), and the kit they
//! share. Every resource is built from typed structs and serialized, with the metadata that
//! marks it as gunj-mesh's ([`metadata`]); names derive from the workloads and Services, so
//! output is stable.

pub mod dashboards;
pub mod merge;
pub mod policy;
pub mod telemetry;

use crate::error::Failure;
use crate::model::stack::{MANAGED_BY, OWN_KEY as COMPONENT};
use crate::yaml::patch::Patch;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A generated resource, kept typed until it is written: YAML comes straight from the
/// struct, JSON only for callers that edit it.
pub trait Emit: std::fmt::Debug + Send + Sync {
    /// The resource as a YAML document.
    fn yaml(&self) -> String;
    /// The resource as JSON, for callers that edit it.
    fn json(&self) -> serde_json::Value;
}

impl<T: Serialize + std::fmt::Debug + Send + Sync> Emit for T {
    fn yaml(&self) -> String {
        crate::yaml::to_string(self)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("generated resources serialize")
    }
}

/// A resource gunj-mesh generates.
#[derive(Debug)]
pub struct Generated {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: String,
    /// `None`: written without a namespace, to land where the stream is applied.
    pub namespace: Option<String>,
    /// The component it serves (`stack` for namespace-wide resources).
    pub component: String,
    /// Why it is generated.
    pub reason: String,
    pub object: Box<dyn Emit>,
}

/// An edit to an input object (a Service) that policies need.
#[derive(Debug, Clone)]
pub struct ObjectEdit {
    /// Index into the objects the stack was built from.
    pub object: usize,
    pub component: String,
    pub reason: String,
    pub patch: Patch,
}

/// Everything policies add to the stream.
#[derive(Debug, Default)]
pub struct Additions {
    pub resources: Vec<Generated>,
    pub edits: Vec<ObjectEdit>,
    /// Things the user must know or do (UDP gossip, settings a mesh cannot express).
    pub notes: Vec<String>,
    /// Requests of the config the output does not honour, each with the field and the fix.
    pub warnings: Vec<String>,
    /// Namespaces whose Services use an ambient waypoint.
    pub waypoints: std::collections::BTreeSet<Option<String>>,
    /// Where each object's edit is in `edits`.
    edit_of: std::collections::HashMap<usize, usize>,
    noted: std::collections::HashSet<String>,
}

impl Additions {
    /// Adds a typed resource.
    pub fn add<T: Serialize + std::fmt::Debug + Send + Sync + 'static>(
        &mut self,
        component: &str,
        reason: String,
        resource: Resource<T>,
    ) {
        self.resources.push(Generated {
            api_version: resource.api_version,
            kind: resource.kind,
            name: resource.metadata.name.clone(),
            namespace: resource.metadata.namespace.clone(),
            component: component.to_string(),
            reason,
            object: Box::new(resource),
        });
    }

    /// Adds a resource that is already a value (a k8s-openapi object, which serializes
    /// its own apiVersion and kind).
    #[allow(clippy::too_many_arguments)]
    pub fn add_value(
        &mut self,
        component: &str,
        reason: String,
        api_version: &'static str,
        kind: &'static str,
        name: &str,
        namespace: Option<&str>,
        object: impl Emit + 'static,
    ) {
        self.resources.push(Generated {
            api_version,
            kind,
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            component: component.to_string(),
            reason,
            object: Box::new(object),
        });
    }

    /// Adds an edit, merged with an earlier one of the same object.
    pub fn edit(&mut self, edit: ObjectEdit) {
        match self.edit_of.get(&edit.object) {
            Some(&i) => {
                let e = &mut self.edits[i];
                e.patch.merge(edit.patch);
                e.reason = format!("{}; {}", e.reason, edit.reason);
            }
            None => {
                self.edit_of.insert(edit.object, self.edits.len());
                self.edits.push(edit);
            }
        }
    }

    pub fn note(&mut self, note: String) {
        if self.noted.insert(note.clone()) {
            self.notes.push(note);
        }
    }

    pub fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }
}

/// A custom resource: apiVersion, kind, metadata and a typed spec.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource<T> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Meta,
    pub spec: T,
}

/// The metadata of a generated resource. It serializes as the [`ObjectMeta`] it stands
/// for (component annotation, managed-by label, name, namespace) without building its maps.
#[derive(Debug, Clone)]
pub struct Meta {
    pub name: String,
    pub namespace: Option<String>,
    component: String,
    /// Labels beside the managed-by label (those a selector of the stack looks for).
    labels: BTreeMap<String, String>,
}

impl Meta {
    /// The same metadata with `labels` too (the managed-by label stays).
    pub fn labelled(mut self, labels: &BTreeMap<String, String>) -> Meta {
        self.labels.extend(
            labels
                .iter()
                .filter(|(k, _)| k.as_str() != MANAGED_BY.0)
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        self
    }

    fn all_labels(&self) -> BTreeMap<&str, &str> {
        let mut all: BTreeMap<&str, &str> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.insert(MANAGED_BY.0, MANAGED_BY.1);
        all
    }
}

impl Serialize for Meta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // ObjectMeta's field order.
        let mut m = s.serialize_struct("ObjectMeta", 3 + usize::from(self.namespace.is_some()))?;
        m.serialize_field("annotations", &OneEntryMap(COMPONENT, &self.component))?;
        if self.labels.is_empty() {
            m.serialize_field("labels", &OneEntryMap(MANAGED_BY.0, MANAGED_BY.1))?;
        } else {
            m.serialize_field("labels", &self.all_labels())?;
        }
        m.serialize_field("name", &self.name)?;
        if let Some(ns) = &self.namespace {
            m.serialize_field("namespace", ns)?;
        }
        m.end()
    }
}

impl From<Meta> for ObjectMeta {
    fn from(meta: Meta) -> Self {
        let labels = meta
            .all_labels()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ObjectMeta {
            name: Some(meta.name),
            namespace: meta.namespace,
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(COMPONENT.to_string(), meta.component)])),
            ..ObjectMeta::default()
        }
    }
}

/// A map of one entry.
struct OneEntryMap<'a>(&'a str, &'a str);

impl Serialize for OneEntryMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

/// Fails when the generated resources' `bytes` pass `limit` (`--max-input-bytes`): what
/// one run adds may be no larger than what it may read.
pub fn within(bytes: usize, limit: usize) -> Result<(), Failure> {
    if bytes <= limit {
        return Ok(());
    }
    Err(Failure::input(
        "generated resources",
        format!(
            "the policies and telemetry for this stream would be more than the {} --max-input-bytes allows",
            size(limit)
        ),
    )
    .hint("each workload gets policies naming its callers: give workloads of one component a shared ServiceAccount, narrow spec.authorization, or raise --max-input-bytes if this is real"))
}

fn size(bytes: usize) -> String {
    match bytes >> 20 {
        0 => format!("{bytes} bytes"),
        mib => format!("{mib} MiB"),
    }
}

/// The metadata of a generated resource: managed-by label, component annotation.
pub fn metadata(name: &str, namespace: Option<&str>, component: &str) -> Meta {
    Meta {
        name: dns_name(name),
        namespace: namespace.map(str::to_string),
        component: component.to_string(),
        labels: BTreeMap::new(),
    }
}

/// A name Kubernetes accepts as a label-like resource name: lowercase, `[a-z0-9-.]`, at
/// most 63 characters (longer names keep a stable hash suffix).
pub fn dns_name(name: &str) -> String {
    let mut clean = String::with_capacity(name.len());
    clean.extend(name.chars().map(|c| match c.to_ascii_lowercase() {
        c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
        _ => '-',
    }));
    if clean.len() <= 63 {
        return clean;
    }
    // FNV-1a: stable across runs and platforms.
    let hash = clean.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!(
        "{}-{:08x}",
        clean[..54].trim_end_matches(['-', '.']),
        hash as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated metadata writes exactly what the k8s-openapi ObjectMeta it stands for does.
    #[test]
    fn meta_serializes_as_its_object_meta() {
        let meta = metadata("Grafana_Ingress", Some("monitoring"), "grafana");
        let full = ObjectMeta::from(meta.clone());
        assert_eq!(crate::yaml::to_string(&meta), crate::yaml::to_string(&full));
        assert_eq!(meta.json(), full.json());
        assert_eq!(meta.name, "grafana-ingress");
    }
}
