//! Which fields a patch changes in an object: whether any (the filter's report) and which,
//! with their current and proposed values (`check`, `explain`, KRM results).

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
/// written as `spec.template.metadata.labels["sidecar.istio.io/inject"]`.
pub fn changes_to(patch: &Patch, node: Option<&Node>, field: &mut String, out: &mut Vec<Change>) {
    let change = |field: &str, proposed| Change {
        field: field.to_string(),
        current: node.map(Node::to_json),
        proposed,
    };
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
            (field("a", Patch::Value("x".into())), false),
            (field("a", Patch::Value(true.into())), true),
            (field("c", Patch::Value(serde_json::json!({"k": 1}))), true),
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
