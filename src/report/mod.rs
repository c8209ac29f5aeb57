//! What the filter did to each object: the stderr summary, `explain`, `check` ([`check`])
//! and KRM results.

pub mod changes;
pub mod check;
pub mod flows;
pub mod unrecognised;

pub use changes::Change;

use crate::decide::Action;
use crate::error::redact;
use crate::io::stream::{Doc, Places};
use crate::model::catalog::Match;
use crate::model::object::Object;
use crate::model::stack::qualified;
use crate::yaml::patch::Patch;
use changes::{changes_any, changes_to};
use serde::Serialize;
use std::borrow::Cow;

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
    /// Requests of the config the output does not honour, each naming the field and the
    /// fix (`check` rule GM004).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The workloads no rule recognised, with how to include them (`explain`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unrecognised: Vec<unrecognised::Unrecognised>,
    /// How many Kubernetes objects the stream holds (List items counted, the config not).
    #[serde(skip)]
    pub objects: usize,
}

/// What became of a resource the config asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GeneratedAction {
    /// Appended to the stream.
    Generate,
    /// Already in the stream, from an earlier run.
    Present,
    /// A resource in the stream contradicts the config: one of the same kind and name that
    /// gunj-mesh does not manage is in the way, or one that asks for less (a PERMISSIVE
    /// PeerAuthentication beside a STRICT config).
    Conflict,
    /// gunj-mesh's own resource is in the stream but is not what the config generates now:
    /// edited by hand, or the config changed (its `changes` list the fields), or no longer
    /// generated at all.
    Drift,
}

impl GeneratedAction {
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratedAction::Generate => "generate",
            GeneratedAction::Present => "present",
            GeneratedAction::Conflict => "conflict",
            GeneratedAction::Drift => "drift",
        }
    }
}

/// What the filter does to a recognised object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryAction {
    /// Put in the mesh now.
    Inject,
    /// Already as the config asks (in the mesh, or with the settings an edit would make).
    Unchanged,
    /// Given mesh settings (a Service's protocol hints).
    Edit,
    /// Left out, with the reason.
    Skip,
}

impl EntryAction {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryAction::Inject => "inject",
            EntryAction::Unchanged => "unchanged",
            EntryAction::Edit => "edit",
            EntryAction::Skip => "skip",
        }
    }
}

/// One generated resource, or a resource in the stream that stands in the way of one.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedEntry {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub component: String,
    pub action: GeneratedAction,
    /// Why it is generated.
    pub detail: String,
    /// Where the resource of the same identity is in the input, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<At>,
    /// For a drift or conflict: the fields to set, each at its place in the input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

/// A place in the input: the file (`-` for stdin), the origin the document names (its
/// `# Source:` comment, Helm 4 filename or KRM path annotation), the document's 1-based
/// number in its file, and a 1-based line and column there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct At {
    pub file: String,
    pub source: String,
    pub document: usize,
    /// The line of the input where the text of `source` starts, and the columns it is
    /// indented by there (a KRM item's).
    #[serde(skip)]
    pub first: usize,
    #[serde(skip)]
    pub indent: usize,
    pub line: usize,
    pub column: usize,
}

impl At {
    /// Byte `offset` of `doc`'s body.
    pub fn of(doc: &Doc, offset: usize) -> At {
        let place = doc.place(Some(offset));
        At {
            file: doc.file.to_string(),
            source: place.source,
            document: place.document,
            first: doc.line,
            indent: 0,
            line: place.line,
            column: place.column,
        }
    }
}

impl GeneratedEntry {
    pub fn object(&self) -> String {
        format!(
            "{} {}",
            self.kind.to_lowercase(),
            qualified(self.namespace.as_deref(), &self.name)
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
    /// The line of the input where the text of `source` starts: the document's, or a KRM
    /// item's (findings on stdin count lines from there), and the columns a KRM item is
    /// indented by.
    #[serde(skip)]
    pub first: usize,
    #[serde(skip)]
    pub indent: usize,
    pub column: usize,
    /// The item indices from the document down to the object, when it is an item of a
    /// List or ResourceList (`[2, 0]`: the first item of the List that is item 2).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<usize>,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub action: EntryAction,
    /// How it is injected, or why it is skipped.
    pub detail: String,
    /// True when the filter changes the object's text.
    pub changed: bool,
    /// True for a Helm hook (`helm.sh/hook`), which Helm 3 never passes to a post-renderer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hook: bool,
    /// The fields the filter sets (for `check` and KRM results).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

/// Which object an entry is about.
#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

impl Entry {
    /// The entry of an object and its patch. It tells whether the patch changes the object;
    /// [`Entry::list_changes`] lists the fields.
    pub fn new(
        object: &Object,
        doc: &Doc,
        places: &Places,
        subject: Subject,
        m: Option<Match>,
        action: Action,
        patch: &Patch,
    ) -> Entry {
        let changed = changes_any(patch, Some(object.node));
        let (action, detail) = match action {
            Action::Inject(how) if changed => (EntryAction::Inject, how),
            Action::Inject(how) => (EntryAction::Unchanged, how),
            Action::Edit(why) if changed => (EntryAction::Edit, why),
            Action::Edit(why) => (EntryAction::Unchanged, why),
            Action::Skip(why) => (EntryAction::Skip, why),
        };
        let body = doc.body();
        let start = object.node.start.min(body.len());
        let line = places.line_of(doc, object.node.start);
        let column = places.column_of(doc, start);
        // A KRM item on stdin is in a file of its own: its place is that file, its index
        // there, and its lines and columns counted from where it starts.
        let (source, document, first, indent) = match item_path(object).filter(|_| doc.file == "-")
        {
            Some((path, index)) => (path, index.map_or(doc.number, |i| i + 1), line, column - 1),
            None => (places.source.clone(), doc.number, doc.line, 0),
        };
        Entry {
            document,
            source,
            first,
            indent,
            file: doc.file.to_string(),
            line,
            column,
            item: object.item.clone(),
            kind: subject.kind,
            name: subject.name,
            namespace: subject.namespace,
            component: m.as_ref().map(|m| m.component.clone()),
            rule: m.map(|m| m.rule),
            action,
            detail,
            changed,
            hook: object
                .node
                .at(&["metadata", "annotations", "helm.sh/hook"])
                .is_some(),
            changes: Vec::new(),
        }
    }

    /// Lists the fields `patch` changes in `object` (in `doc`), each at its place, for
    /// `check` and `explain` (the filter only counts entries that change anything: listing
    /// costs time and memory).
    pub fn list_changes(&mut self, object: &Object, patch: &Patch, doc: &Doc, places: &Places) {
        changes_to(
            patch,
            Some(object.node),
            object.node.start,
            &mut String::new(),
            &mut self.changes,
        );
        changes::locate(&mut self.changes, doc, places);
        debug_assert_eq!(self.changed, !self.changes.is_empty());
    }

    /// Where a finding about the entry points: its first changed field, else the object.
    pub fn at(&self) -> At {
        let (line, column) = self
            .changes
            .first()
            .map_or((self.line, self.column), |c| (c.line, c.column));
        At {
            file: self.file.clone(),
            source: self.source.clone(),
            document: self.document,
            first: self.first,
            indent: self.indent,
            line,
            column,
        }
    }

    /// `deployment monitoring/obs-grafana`.
    pub fn object(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind.to_lowercase(), self.name),
            None => format!("{} {}", self.kind.to_lowercase(), self.name),
        }
    }

    /// The stderr summary line, escaped ([`redact::line`]).
    pub fn summary(&self) -> String {
        redact::line(&format!("{}: {}", self.object(), self.outcome())).into_owned()
    }

    /// What is done to the object, as the summary says it.
    fn outcome(&self) -> String {
        match self.action {
            EntryAction::Inject => format!("injected ({})", self.detail),
            EntryAction::Unchanged => format!("unchanged: already in the mesh ({})", self.detail),
            EntryAction::Edit => format!("edited ({})", self.detail),
            EntryAction::Skip => format!("skipped: {}", self.detail),
        }
    }
}

/// The objects' summary lines, in order, with the objects of one kind and namespace whose
/// outcome reads the same folded into the first one's line: `job monitoring/a, b, c and 2
/// more (5 objects): skipped: …`.
fn fold(entries: &[Entry]) -> Vec<String> {
    /// How many names a folded line shows.
    const SHOWN: usize = 3;
    let mut groups: Vec<(&Entry, String, Vec<&str>)> = Vec::new();
    let mut at: std::collections::HashMap<(&str, Option<&str>, String), usize> = Default::default();
    for e in entries {
        let outcome = e.outcome();
        let key = (e.kind.as_str(), e.namespace.as_deref(), outcome.clone());
        match at.get(&key) {
            Some(&i) => groups[i].2.push(&e.name),
            None => {
                at.insert(key, groups.len());
                groups.push((e, outcome, vec![&e.name]));
            }
        }
    }
    groups
        .into_iter()
        .map(|(e, outcome, names)| {
            if names.len() == 1 {
                return e.summary();
            }
            let mut shown = names[..names.len().min(SHOWN)].join(", ");
            if names.len() > SHOWN {
                shown.push_str(&format!(" and {} more", names.len() - SHOWN));
            }
            let object = match &e.namespace {
                Some(ns) => format!("{} {ns}/{shown}", e.kind.to_lowercase()),
                None => format!("{} {shown}", e.kind.to_lowercase()),
            };
            redact::line(&format!("{object} ({} objects): {outcome}", names.len())).into_owned()
        })
        .collect()
}

/// A KRM item's own file and 0-based index there (`config.kubernetes.io/path` and
/// `index`, or their `internal.` forms).
fn item_path(object: &Object) -> Option<(String, Option<usize>)> {
    if object.item.is_empty() {
        return None;
    }
    let annotation = |key: &str| {
        ["", "internal."].iter().find_map(|prefix| {
            object
                .node
                .at(&["metadata", "annotations", &format!("{prefix}{key}")])
                .and_then(crate::yaml::Node::scalar)
        })
    };
    let path = annotation("config.kubernetes.io/path")?;
    let index = annotation("config.kubernetes.io/index").and_then(|i| i.parse().ok());
    Some((path.to_string(), index))
}

impl Report {
    /// The stderr summary: a line per object ([`Entry::summary`]), objects of one kind and
    /// namespace with the same outcome folded into one line ([`fold`]), generated resources
    /// counted by kind, the traffic graph's line ([`flows::counts`]) when given, conflicts,
    /// warnings and notes, then the totals ([`Report::totals`]) when an object was recognised; each line escaped
    /// ([`redact::line`]).
    pub fn summary(&self, traffic: Option<String>) -> Vec<String> {
        let mut lines = fold(&self.entries);
        let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
        for g in self
            .generated
            .iter()
            .filter(|g| g.action == GeneratedAction::Generate)
        {
            *kinds.entry(g.kind.as_str()).or_default() += 1;
        }
        if !kinds.is_empty() {
            let total: usize = kinds.values().sum();
            let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            lines.push(format!(
                "generated {total} resource(s): {} (`gunj-mesh explain` lists them)",
                list.join(", ")
            ));
        }
        lines.extend(traffic);
        for g in &self.generated {
            if matches!(g.action, GeneratedAction::Conflict | GeneratedAction::Drift) {
                lines.push(format!("{}: {}", g.action.as_str(), g.detail));
            }
        }
        lines.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        if !self.entries.is_empty() || !self.generated.is_empty() {
            lines.push(self.totals());
        }
        for line in &mut lines {
            if let Cow::Owned(escaped) = redact::line(line) {
                *line = escaped;
            }
        }
        lines
    }

    /// `gunj-mesh: 42 object(s) read, 12 edited, 30 generated, 3 skipped, 2 warning(s)`: objects
    /// read (List items counted), objects edited (injected or edited), resources generated,
    /// objects skipped, and the warnings.
    pub fn totals(&self) -> String {
        let count = |actions: &[EntryAction]| {
            let mut objects: Vec<(&str, Option<&str>, &str)> = self
                .entries
                .iter()
                .filter(|e| actions.contains(&e.action))
                .map(|e| (e.kind.as_str(), e.namespace.as_deref(), e.name.as_str()))
                .collect();
            objects.sort_unstable();
            objects.dedup();
            objects.len()
        };
        let generated = self
            .generated
            .iter()
            .filter(|g| g.action == GeneratedAction::Generate)
            .count();
        format!(
            "gunj-mesh: {} object(s) read, {} edited, {generated} generated, {} skipped, {} warning(s)",
            self.objects,
            count(&[EntryAction::Inject, EntryAction::Edit]),
            count(&[EntryAction::Skip]),
            self.warnings.len()
        )
    }

    /// The `explain` table, each cell and line escaped ([`redact::line`]). Compact, each
    /// row cut to `width` columns: an object's document, name, component and what is done;
    /// the generated resources counted by kind, but for conflicts and drift. `wide`: the
    /// file and line and the matching rule too, every generated resource, nothing cut.
    /// Then the workloads not recognised with the `spec.components.custom` entry that
    /// would include each, the warnings and the notes.
    pub fn table(&self, wide: bool, width: usize) -> String {
        let mut rows: Vec<Vec<String>> = Vec::new();
        let header = ["FILE:LINE", "DOC", "OBJECT", "COMPONENT", "RULE", "ACTION"];
        let place = |file: &str, line: usize| {
            if file == "-" {
                format!("-:{line}")
            } else {
                format!("{file}:{line}")
            }
        };
        rows.push(header.iter().map(|h| h.to_string()).collect());
        for e in &self.entries {
            let mut doc = e.document.to_string();
            for i in &e.item {
                doc.push_str(&format!("[{i}]"));
            }
            rows.push(vec![
                place(&e.file, e.line),
                doc,
                e.object(),
                e.component.clone().unwrap_or("-".into()),
                e.rule.clone().unwrap_or("-".into()),
                format!("{}: {}", e.action.as_str(), e.detail),
            ]);
        }
        let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
        for g in &self.generated {
            let shown =
                wide || matches!(g.action, GeneratedAction::Conflict | GeneratedAction::Drift);
            if !shown {
                *kinds.entry(g.kind.as_str()).or_default() += 1;
                continue;
            }
            rows.push(vec![
                g.at.as_ref()
                    .map_or("-".into(), |at| place(&at.file, at.line)),
                "+".into(),
                g.object(),
                g.component.clone(),
                "generated".into(),
                format!("{}: {}", g.action.as_str(), g.detail),
            ]);
        }
        // Compact: no file and line, no rule.
        let columns: &[usize] = if wide {
            &[0, 1, 2, 3, 4, 5]
        } else {
            &[1, 2, 3, 5]
        };
        for cell in rows.iter_mut().flatten() {
            if let Cow::Owned(escaped) = redact::line(cell) {
                *cell = escaped;
            }
        }
        let last = *columns.last().expect("columns");
        let widths: Vec<usize> = (0..header.len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        if let Some(mesh) = &self.mesh {
            out.push_str(&format!("mesh: {}\n", redact::line(mesh)));
        }
        for r in &rows {
            let mut line = String::new();
            for &c in columns {
                if c == last {
                    line.push_str(&r[c]);
                } else {
                    line.push_str(&format!("{:w$}  ", r[c], w = widths[c]));
                }
            }
            if !wide {
                line = cut(&line, width);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if !kinds.is_empty() {
            let total: usize = kinds.values().sum();
            let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            out.push_str(&cut(
                &format!(
                    "+ {total} generated resource(s): {} (--wide lists them)",
                    list.join(", ")
                ),
                width.max(1),
            ));
            out.push('\n');
        }
        if !self.unrecognised.is_empty() {
            out.push_str(
                "not recognised (a spec.components.custom entry that would include each):\n",
            );
            for u in &self.unrecognised {
                let object = format!(
                    "{} {}",
                    u.kind.to_lowercase(),
                    qualified(u.namespace.as_deref(), &u.name)
                );
                let at = if wide {
                    format!("{}  ", place(&u.at.file, u.at.line))
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "  {}{}  {}\n",
                    redact::line(&at),
                    redact::line(&object),
                    redact::line(&u.include)
                ));
            }
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {}\n", redact::line(w)));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {}\n", redact::line(n)));
        }
        out
    }
}

/// `line` cut to `width` characters, ending in `…` when cut.
fn cut(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
