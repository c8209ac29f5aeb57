//! Which fields a patch changes in an object: whether any (the filter's report) and which,
//! with their current and proposed values (`check`, `explain`, KRM results).

use crate::io::stream::{Doc, Places};
use crate::model::stack::OWN_KEY;
use crate::yaml::Node;
use crate::yaml::patch::Patch;
use serde::Serialize;
use serde_json::Value;

/// One field the filter sets.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// `spec.template.metadata.labels["sidecar.istio.io/inject"]`.
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Value>,
    pub proposed: Value,
    /// Where the field is in the input, 1-based: its value, or where it goes (the
    /// deepest of its parents there is). Set by [`locate`].
    pub line: usize,
    pub column: usize,
    /// Byte offset of that place in the document's body.
    #[serde(skip)]
    pub at: usize,
}

/// Sets each change's line and column in `doc`, from its line index `places`.
pub fn locate(changes: &mut [Change], doc: &Doc, places: &Places) {
    for c in changes {
        let at = c.at.min(doc.body().len());
        (c.line, c.column) = (places.line_of(doc, at), places.column_of(doc, at));
    }
}

/// Whether `patch` changes `node`: whether [`changes_to`] would list anything.
pub fn changes_any(patch: &Patch, node: Option<&Node>) -> bool {
    match patch {
        Patch::Str(s) => node.and_then(Node::str) != Some(s),
        Patch::Value(v) => node.map(Node::to_json).as_ref() != Some(v),
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
/// written as `spec.template.metadata.labels["sidecar.istio.io/inject"]`; `at` is where the
/// deepest node of the path so far starts.
pub fn changes_to(
    patch: &Patch,
    node: Option<&Node>,
    at: usize,
    field: &mut String,
    out: &mut Vec<Change>,
) {
    let at = node.map_or(at, |n| n.start);
    let change = |field: &str, proposed| change_at(field, node, proposed, at);
    match patch {
        Patch::Str(s) if node.and_then(Node::str) == Some(s) => {}
        Patch::Str(s) => out.push(change(field, Value::String(s.clone()))),
        Patch::Value(v) if node.map(Node::to_json).as_ref() == Some(v) => {}
        Patch::Value(v) => out.push(change(field, v.clone())),
        Patch::Push(items) if items.is_empty() => {}
        Patch::Push(items) => out.push(change(field, Value::Array(items.clone()))),
        Patch::Fields(fields) => {
            for (key, p) in fields {
                let len = field.len();
                push_key(field, key);
                changes_to(p, node.and_then(|n| n.get(key)), at, field, out);
                field.truncate(len);
            }
        }
        Patch::Items(items) => {
            for (i, p) in items {
                let len = field.len();
                field.push_str(&format!("[{i}]"));
                changes_to(p, node.and_then(|n| n.items()?.get(*i)), at, field, out);
                field.truncate(len);
            }
        }
    }
}

/// Appends `key` to the path `field`: `.key`, or `["key"]` when it is not a plain word.
fn push_key(field: &mut String, key: &str) {
    if key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(key);
    } else {
        field.push_str(&format!("[{}]", Value::from(key)));
    }
}

/// The fields in which `node`, a resource in the stream, differs from `wanted`, the one
/// gunj-mesh generates in its place, each with the value to set (`null`: delete it).
/// Everything but `metadata` and `status` must be equal, so that a field added by hand
/// counts; of `metadata`, only gunj-mesh's own annotation when `ours` (labels and other
/// annotations are Helm's, kubectl's and the cluster's to add).
pub fn drift(wanted: &Value, node: &Node, ours: bool) -> Vec<Change> {
    let mut out = Vec::new();
    let Value::Object(top) = wanted else {
        return out;
    };
    let mut field = String::new();
    for (key, value) in top {
        if key == "metadata" {
            if ours {
                let path = ["metadata", "annotations", OWN_KEY];
                field.push_str(&format!("metadata.annotations[{}]", Value::from(OWN_KEY)));
                differ(
                    value
                        .pointer(&format!("/annotations/{}", OWN_KEY.replace('/', "~1")))
                        .unwrap_or(&Value::Null),
                    node.at(&path),
                    node.start,
                    &mut field,
                    &mut out,
                );
                field.clear();
            }
            continue;
        }
        push_key(&mut field, key);
        differ(value, node.get(key), node.start, &mut field, &mut out);
        field.clear();
    }
    for (key, value) in node.entries().unwrap_or_default() {
        let Some(key) = key.scalar() else { continue };
        if !matches!(key, "metadata" | "status") && !top.contains_key(key) && !value.is_null() {
            push_key(&mut field, key);
            out.push(change_at(&field, Some(value), Value::Null, value.start));
            field.clear();
        }
    }
    out
}

/// A change of `field`, whose value is `node`'s (if any), at byte `at` (line and column
/// to [`locate`]).
fn change_at(field: &str, node: Option<&Node>, proposed: Value, at: usize) -> Change {
    Change {
        field: field.to_string(),
        current: node.map(Node::to_json),
        proposed,
        line: 0,
        column: 0,
        at,
    }
}

/// Adds to `out` where `node` differs from `wanted` ([`drift`]): mappings key by key, lists
/// of the same length item by item, anything else whole. A `null` and a missing field are
/// the same.
fn differ(
    wanted: &Value,
    node: Option<&Node>,
    at: usize,
    field: &mut String,
    out: &mut Vec<Change>,
) {
    let node = node.filter(|n| !n.is_null());
    let at = node.map_or(at, |n| n.start);
    match (wanted, node) {
        (Value::Null, None) => {}
        (Value::Object(w), Some(n)) if n.entries().is_some() => {
            for (key, value) in w {
                let len = field.len();
                push_key(field, key);
                differ(value, n.get(key), at, field, out);
                field.truncate(len);
            }
            for (key, value) in n.entries().unwrap_or_default() {
                let Some(key) = key.scalar() else { continue };
                if !w.contains_key(key) && !value.is_null() {
                    let len = field.len();
                    push_key(field, key);
                    out.push(change_at(field, Some(value), Value::Null, value.start));
                    field.truncate(len);
                }
            }
        }
        (Value::Array(w), Some(n)) if n.items().is_some_and(|items| items.len() == w.len()) => {
            for (i, (value, item)) in w.iter().zip(n.items().unwrap_or_default()).enumerate() {
                let len = field.len();
                field.push_str(&format!("[{i}]"));
                differ(value, Some(item), at, field, out);
                field.truncate(len);
            }
        }
        (w, n) if n.map(Node::to_json).as_ref() == Some(w) => {}
        (w, n) => out.push(change_at(field, n, w.clone(), at)),
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
            (field("a", Patch::Value("x".into())), false),
            (field("a", Patch::Value(true.into())), true),
            (field("c", Patch::Value(serde_json::json!({"k": 1}))), true),
            (Patch::new(), false),
        ];
        for (patch, expected) in cases {
            let mut listed = Vec::new();
            changes_to(&patch, Some(&node), 0, &mut String::new(), &mut listed);
            assert_eq!(changes_any(&patch, Some(&node)), expected, "{patch:?}");
            assert_eq!(!listed.is_empty(), expected, "{patch:?}");
        }
    }
}
