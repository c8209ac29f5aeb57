//! A Kubernetes object inside a parsed document: the document itself or an item of a List.

use crate::yaml::Node;
use crate::yaml::patch::Patch;

/// An object the filter reads.
pub struct Object<'a> {
    /// The document's index in the stream.
    pub doc: usize,
    /// The item index when the object is an item of a List.
    pub item: Option<usize>,
    pub node: &'a Node<'a>,
    pub kind: String,
}

impl Object<'_> {
    /// Puts an object-relative patch into its document's patch.
    pub fn place(&self, doc_patch: &mut Patch, patch: Patch) {
        if patch.is_empty() {
            return;
        }
        match self.item {
            Some(i) => doc_patch.field("items").item(i).merge(patch),
            None => doc_patch.merge(patch),
        }
    }

    /// `metadata.name`, or empty.
    pub fn name(&self) -> &str {
        self.node
            .at(&["metadata", "name"])
            .and_then(Node::scalar)
            .unwrap_or_default()
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
