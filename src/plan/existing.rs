//! What the stream already holds of what the config asks for. gunj-mesh's own resources
//! (told apart by their [`OWN_KEY`] annotation, which Helm leaves alone) are compared field
//! by field with what the config generates now: a difference, or one no longer generated,
//! is drift. A resource of others in the way of one, or a PeerAuthentication that asks for
//! another mTLS mode than the config, is a conflict.

use crate::config::MtlsMode;
use crate::generate::{Emit, Generated, dns_name};
use crate::io::stream::Doc;
use crate::model::object::Object;
use crate::model::stack::{OWN_KEY, Stack, is_ours, qualified};
use crate::report::{At, Change, GeneratedAction, GeneratedEntry, Report, changes};
use crate::yaml::Node;
use serde_json::Value;
use std::collections::HashSet;

/// The stream the generated resources land in.
pub(super) struct Stream<'s, 'a> {
    pub stack: &'s Stack,
    pub objects: &'s [Object<'a>],
    pub docs: &'s [Doc<'a>],
    /// Compare what is there with what is generated, field by field, and look for what is
    /// no longer generated (`check`, `explain`); the filter only needs to know what to
    /// append.
    pub compare: bool,
}

impl Stream<'_, '_> {
    /// Where byte `offset` of object `i`'s document is.
    fn at(&self, i: usize, offset: usize) -> At {
        At::of(&self.docs[self.objects[i].doc], offset)
    }

    /// The changes, placed in object `i`'s document.
    fn placed(&self, i: usize, mut list: Vec<Change>) -> Vec<Change> {
        let doc = &self.docs[self.objects[i].doc];
        let places = doc.places(list.len() > 1);
        changes::locate(&mut list, doc, &places);
        list
    }
}

/// Reports each generated resource as generated, present, drifted or in conflict, then
/// gunj-mesh's resources in the stream that the config no longer generates (drift and
/// those only when [`Stream::compare`]); returns those to append.
pub(super) fn resolve(
    resources: Vec<Generated>,
    stream: &Stream,
    report: &mut Report,
) -> Vec<Box<dyn Emit>> {
    let mut appended = Vec::new();
    let mut seen = HashSet::with_capacity(resources.len());
    for g in resources {
        let key = (g.kind.to_string(), g.namespace.clone(), g.name.clone());
        if !seen.insert(key.clone()) {
            continue;
        }
        let (mut action, mut detail, mut at, mut changes) =
            (GeneratedAction::Generate, g.reason, None, Vec::new());
        if let Some(&i) = stream.stack.existing.get(&key) {
            let node = stream.objects[i].node;
            let ours = is_ours(node);
            let differs = if stream.compare {
                at = Some(stream.at(i, node.start));
                stream.placed(i, changes::drift(&g.object.json(), node, ours))
            } else {
                Vec::new()
            };
            action = match (ours, differs.is_empty()) {
                (true, true) => GeneratedAction::Present,
                (true, false) => {
                    detail = format!(
                        "{} {} differs from what the config generates in {} field(s) ({detail})",
                        g.kind,
                        qualified(g.namespace.as_deref(), &g.name),
                        differs.len()
                    );
                    GeneratedAction::Drift
                }
                (false, _) => {
                    detail = format!(
                        "the stream already has {} {} not managed by gunj-mesh (no {OWN_KEY} annotation); not generated ({detail})",
                        g.kind,
                        qualified(g.namespace.as_deref(), &g.name),
                    );
                    GeneratedAction::Conflict
                }
            };
            changes = differs;
        } else {
            appended.push(g.object);
        }
        report.generated.push(GeneratedEntry {
            api_version: g.api_version.to_string(),
            kind: g.kind.to_string(),
            name: g.name,
            namespace: g.namespace,
            component: g.component,
            action,
            detail,
            at,
            changes,
        });
    }
    for (key, &i) in stream.stack.existing.iter().filter(|_| stream.compare) {
        let node = stream.objects[i].node;
        if seen.contains(key) || !is_ours(node) {
            continue;
        }
        let (kind, namespace, name) = key.clone();
        let detail = format!(
            "{kind} {} is gunj-mesh's, but the config no longer generates it: delete it",
            qualified(namespace.as_deref(), &name)
        );
        report.generated.push(GeneratedEntry {
            api_version: node
                .get("apiVersion")
                .and_then(Node::scalar)
                .unwrap_or_default()
                .to_string(),
            kind,
            name,
            namespace,
            component: node
                .at(&["metadata", "annotations", OWN_KEY])
                .and_then(Node::scalar)
                .unwrap_or_default()
                .to_string(),
            action: GeneratedAction::Drift,
            detail,
            at: Some(stream.at(i, node.start)),
            changes: Vec::new(),
        });
    }
    appended
}

/// Reports the PeerAuthentications of others whose `spec.mtls.mode` is not `mode` (the
/// config's `spec.mtls.mode`) and that select pods of the stack's workloads. gunj-mesh's
/// own are workload-specific, which take precedence over namespace-wide and mesh-wide ones
/// (those are the namespace's and the mesh's owners', and stay theirs); of two
/// workload-specific ones Istio applies the older, so the config's mode may not be what the
/// pods get (<https://istio.io/latest/docs/reference/config/security/peer_authentication/>).
/// `UNSET` defers to the namespace's mode, which need not be the config's. The same mode
/// conflicts where gunj-mesh's policy (named in `exceptions`) lets ports accept plaintext.
pub(super) fn peer_conflicts(
    mode: MtlsMode,
    stream: &Stream,
    release: Option<&str>,
    exceptions: &HashSet<(Option<String>, String)>,
    report: &mut Report,
) {
    for (i, o) in stream.objects.iter().enumerate() {
        let node = o.node;
        let api = node.get("apiVersion").and_then(Node::str).unwrap_or("");
        if o.kind != "PeerAuthentication" || !api.starts_with("security.istio.io/") || is_ours(node)
        {
            continue;
        }
        let namespace = node
            .at(&["metadata", "namespace"])
            .and_then(Node::scalar)
            .or(release)
            .map(str::to_string);
        let Some(selector) = node.at(&["spec", "selector", "matchLabels"]) else {
            continue;
        };
        let labels = selector.string_map();
        let Some(member) = stream.stack.members.iter().find(|m| {
            m.namespace == namespace
                && !labels.is_empty()
                && labels.iter().all(|(k, v)| {
                    v.is_some_and(|v| m.pod_labels.get(*k).map(String::as_str) == Some(v))
                })
        }) else {
            continue;
        };
        let Some(set) = node.at(&["spec", "mtls", "mode"]) else {
            continue;
        };
        let current = set.scalar().unwrap_or_default();
        // The same mode conflicts only where gunj-mesh's policy also opens ports (its
        // `portLevelMtls`), which the older of the two may drop.
        let ours = dns_name(&format!("{}-mtls", member.slug));
        let opens = exceptions.contains(&(member.namespace.clone(), ours.clone()));
        if current == mode.as_str() && !opens {
            continue;
        }
        let name = o.name().to_string();
        let key = (o.kind.as_str(), &namespace, &name);
        if report
            .generated
            .iter()
            .any(|g| (g.kind.as_str(), &g.namespace, &g.name) == key)
        {
            continue;
        }
        let detail = if current == mode.as_str() {
            format!(
                "{} {} also sets mtls.mode {current} for the pods of {} {}; of two policies on one workload Istio applies the older, which may drop the ports gunj-mesh's {ours} lets accept plaintext: delete it",
                o.kind,
                qualified(namespace.as_deref(), &name),
                member.kind.to_lowercase(),
                member.name,
            )
        } else {
            format!(
                "{} {} sets mtls.mode {current} for the pods of {} {}, against spec.mtls.mode {} of the config (of two policies on one workload, Istio applies the older): set it to {}, or delete it",
                o.kind,
                qualified(namespace.as_deref(), &name),
                member.kind.to_lowercase(),
                member.name,
                mode.as_str(),
                mode.as_str()
            )
        };
        report.generated.push(GeneratedEntry {
            api_version: api.to_string(),
            kind: o.kind.clone(),
            name,
            namespace,
            component: "stack".into(),
            action: GeneratedAction::Conflict,
            detail,
            at: Some(stream.at(i, set.start)),
            changes: if current == mode.as_str() {
                Vec::new()
            } else {
                stream.placed(
                    i,
                    vec![Change {
                        field: "spec.mtls.mode".into(),
                        current: Some(Value::from(current)),
                        proposed: Value::from(mode.as_str()),
                        line: 0,
                        column: 0,
                        at: set.start,
                    }],
                )
            },
        });
    }
}
