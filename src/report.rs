//! What the filter did to each object: the stderr summary, `explain`, and KRM results.

use crate::catalog::Match;
use crate::inject::Action;
use crate::stream::Doc;
use crate::yaml::Node;
use crate::yaml::edit::Patch;
use crate::{Input, Object, source_name};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The mesh the stream was put into (`istio sidecar`, `linkerd`, …).
    pub mesh: Option<String>,
    pub entries: Vec<Entry>,
    /// The resources generated for the stack (or found already there).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generated: Vec<GeneratedEntry>,
    /// What the user must know or do by hand.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One generated resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedEntry {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: String,
    pub namespace: String,
    pub component: String,
    /// `generate`, `present` (already in the stream, from an earlier run) or `conflict`
    /// (a resource of the same kind and name that gunj-mesh does not manage).
    pub action: &'static str,
    /// Why it is generated.
    pub detail: String,
}

impl GeneratedEntry {
    pub fn object(&self) -> String {
        format!(
            "{} {}/{}",
            self.kind.to_lowercase(),
            self.namespace,
            self.name
        )
    }
}

/// One recognised object.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub document: usize,
    pub source: String,
    /// The input the object came from (`-` for stdin) and the line it starts on there.
    pub file: String,
    pub line: usize,
    /// The List or ResourceList item index, when the object is an item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// `inject`, `unchanged` (already in the mesh) or `skip`.
    pub action: &'static str,
    /// How it is injected, or why it is skipped.
    pub detail: String,
    /// True when the filter changes the object's text.
    pub changed: bool,
    /// The fields the filter sets (for `check` and KRM results).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

/// Which object an entry is about.
pub struct Subject<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
}

/// One field the filter sets.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// `spec.template.metadata.labels["sidecar.istio.io/inject"]`.
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Value>,
    pub proposed: Value,
}

impl Entry {
    /// The entry of an object and its patch. It tells whether the patch changes the object;
    /// [`Entry::list_changes`] lists the fields.
    pub fn new(
        object: &Object,
        doc: &Doc,
        inputs: &[Input],
        subject: Subject,
        m: Option<Match>,
        action: Action,
        patch: &Patch,
    ) -> Entry {
        let changed = changes_any(patch, Some(object.node));
        let (action, detail) = match action {
            Action::Inject(how) if changed => ("inject", how),
            Action::Inject(how) => ("unchanged", how),
            Action::Edit(why) if changed => ("edit", why),
            Action::Edit(why) => ("unchanged", why),
            Action::Skip(why) => ("skip", why),
        };
        let body = &doc.text[doc.parse_from..];
        Entry {
            document: doc.number,
            source: source_name(inputs, doc),
            file: inputs[doc.source].name.clone(),
            line: doc.line
                + body[..object.node.start.min(body.len())]
                    .matches('\n')
                    .count(),
            item: object.item,
            kind: subject.kind.to_string(),
            name: subject.name.to_string(),
            namespace: subject.namespace.map(str::to_string),
            component: m.as_ref().map(|m| m.component.clone()),
            rule: m.map(|m| m.rule),
            action,
            detail,
            changed,
            changes: Vec::new(),
        }
    }

    /// Lists the fields `patch` changes in `object`, for `check` and `explain` (the filter
    /// only counts entries that change anything: listing costs time and memory).
    pub fn list_changes(&mut self, object: &Object, patch: &Patch) {
        changes_to(
            patch,
            Some(object.node),
            &mut String::new(),
            &mut self.changes,
        );
        debug_assert_eq!(self.changed, !self.changes.is_empty());
    }

    /// `deployment monitoring/obs-grafana`.
    pub fn object(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind.to_lowercase(), self.name),
            None => format!("{} {}", self.kind.to_lowercase(), self.name),
        }
    }

    /// The stderr summary line.
    pub fn summary(&self) -> String {
        let what = match self.action {
            "inject" => format!("injected ({})", self.detail),
            "unchanged" => format!("unchanged: already in the mesh ({})", self.detail),
            "edit" => format!("edited ({})", self.detail),
            _ => format!("skipped: {}", self.detail),
        };
        format!("{}: {what}", self.object())
    }
}

impl Report {
    /// The stderr summary: one line per object, generated resources counted by kind,
    /// conflicts and notes.
    pub fn summary(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.entries.iter().map(Entry::summary).collect();
        let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
        for g in self.generated.iter().filter(|g| g.action == "generate") {
            *kinds.entry(g.kind).or_default() += 1;
        }
        if !kinds.is_empty() {
            let total: usize = kinds.values().sum();
            let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            lines.push(format!(
                "generated {total} resource(s): {} (`gunj-mesh explain` lists them)",
                list.join(", ")
            ));
        }
        for g in self.generated.iter().filter(|g| g.action == "conflict") {
            lines.push(format!("conflict: {}", g.detail));
        }
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        lines
    }

    /// The `explain` table.
    pub fn table(&self) -> String {
        let mut rows = vec![[
            "DOC".to_string(),
            "OBJECT".into(),
            "COMPONENT".into(),
            "RULE".into(),
            "ACTION".into(),
        ]];
        for e in &self.entries {
            let doc = match e.item {
                Some(i) => format!("{}[{i}]", e.document),
                None => e.document.to_string(),
            };
            let action = match e.action {
                "skip" => format!("skip: {}", e.detail),
                a => format!("{a}: {}", e.detail),
            };
            rows.push([
                doc,
                e.object(),
                e.component.clone().unwrap_or("-".into()),
                e.rule.clone().unwrap_or("-".into()),
                action,
            ]);
        }
        for g in &self.generated {
            rows.push([
                "+".into(),
                g.object(),
                g.component.clone(),
                "generated".into(),
                format!("{}: {}", g.action, g.detail),
            ]);
        }
        let widths: Vec<usize> = (0..4)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        if let Some(mesh) = &self.mesh {
            out.push_str(&format!("mesh: {mesh}\n"));
        }
        for r in rows {
            for (c, w) in widths.iter().enumerate() {
                out.push_str(&format!("{:w$}  ", r[c], w = w));
            }
            out.push_str(&r[4]);
            out.push('\n');
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

/// Whether `patch` changes `node`: whether [`changes_to`] would list anything.
fn changes_any(patch: &Patch, node: Option<&Node>) -> bool {
    match patch {
        Patch::Str(s) => node.and_then(Node::str) != Some(s),
        Patch::Push(items) => !items.is_empty(),
        Patch::Fields(fields) => fields
            .iter()
            .any(|(key, p)| changes_any(p, node.and_then(|n| n.get(key)))),
        Patch::Items(items) => items
            .iter()
            .any(|(i, p)| changes_any(p, node.and_then(|n| n.items()?.get(*i)))),
    }
}

/// Adds to `out` each value `patch` sets that `node` does not hold yet (pushed items come
/// as one array, always a change), walking the two together. `field` is the path so far,
/// written as `spec.template.metadata.labels["sidecar.istio.io/inject"]`.
fn changes_to(patch: &Patch, node: Option<&Node>, field: &mut String, out: &mut Vec<Change>) {
    let change = |field: &str, proposed| Change {
        field: field.to_string(),
        current: node.map(Node::to_json),
        proposed,
    };
    match patch {
        Patch::Str(s) if node.and_then(Node::str) == Some(s) => {}
        Patch::Str(s) => out.push(change(field, Value::String(s.clone()))),
        Patch::Push(items) if items.is_empty() => {}
        Patch::Push(items) => out.push(change(field, Value::Array(items.clone()))),
        Patch::Fields(fields) => {
            for (key, p) in fields {
                let len = field.len();
                if key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    if len > 0 {
                        field.push('.');
                    }
                    field.push_str(key);
                } else {
                    field.push_str(&format!("[{}]", Value::from(key.as_str())));
                }
                changes_to(p, node.and_then(|n| n.get(key)), field, out);
                field.truncate(len);
            }
        }
        Patch::Items(items) => {
            for (i, p) in items {
                let len = field.len();
                field.push_str(&format!("[{i}]"));
                changes_to(p, node.and_then(|n| n.items()?.get(*i)), field, out);
                field.truncate(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse};

    /// The filter's cheap test agrees with the listing `check` shows, case by case.
    #[test]
    fn changes_any_agrees_with_the_listed_changes() {
        let node = parse("a: x\nb: [p, q]\n", Limits::default())
            .unwrap()
            .unwrap();
        let field = |key: &str, p: Patch| Patch::Fields(vec![(key.into(), p)]);
        let cases = [
            (field("a", Patch::Str("x".into())), false),
            (field("a", Patch::Str("y".into())), true),
            (field("c", Patch::Str("x".into())), true),
            (field("b", Patch::Push(vec![])), false),
            (field("b", Patch::Push(vec!["r".into()])), true),
            (
                field("b", Patch::Items(vec![(1, Patch::Str("q".into()))])),
                false,
            ),
            (
                field("b", Patch::Items(vec![(1, Patch::Str("r".into()))])),
                true,
            ),
            (
                field("b", Patch::Items(vec![(5, Patch::Str("q".into()))])),
                true,
            ),
            (Patch::new(), false),
        ];
        for (patch, expected) in cases {
            let mut listed = Vec::new();
            changes_to(&patch, Some(&node), &mut String::new(), &mut listed);
            assert_eq!(changes_any(&patch, Some(&node)), expected, "{patch:?}");
            assert_eq!(!listed.is_empty(), expected, "{patch:?}");
        }
    }
}
