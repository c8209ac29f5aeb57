//! A Kubernetes object inside a parsed document: the document itself or an item of a List.

use crate::yaml::Node;
use crate::yaml::patch::Patch;

/// An object the filter reads.
pub struct Object<'a> {
    /// The document's index in the stream.
    pub doc: usize,
    /// The item indices from the document down to the object: empty for the document
    /// itself, `[2]` for the third item of a List, `[2, 0]` for the first item of a List
    /// that is that third item.
    pub item: Vec<usize>,
    pub node: &'a Node<'a>,
    pub kind: String,
}

impl<'a> Object<'a> {
    /// Puts an object-relative patch into its document's patch.
    pub fn place(&self, doc_patch: &mut Patch, patch: Patch) {
        if patch.is_empty() {
            return;
        }
        let mut at = doc_patch;
        for &i in &self.item {
            at = at.field("items").item(i);
        }
        at.merge(patch);
    }

    /// The Services the kube-apiserver calls for this object, each with what calls it:
    /// admission webhooks' `webhooks[].clientConfig.service`, a CRD's conversion webhook
    /// `spec.conversion.webhook.clientConfig.service`, an APIService's `spec.service`
    /// (<https://kubernetes.io/docs/reference/kubernetes-api/extend-resources/mutating-webhook-configuration-v1/>,
    /// <https://kubernetes.io/docs/reference/kubernetes-api/extend-resources/custom-resource-definition-v1/>,
    /// <https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/api-service-v1/>).
    pub fn api_server_services(&self) -> Vec<(String, &'a Node<'a>)> {
        let name = self.name();
        let node: &'a Node<'a> = self.node;
        match self.kind.as_str() {
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => node
                .get("webhooks")
                .and_then(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|w| {
                    let hook = w.get("name").and_then(Node::scalar).unwrap_or_default();
                    Some((
                        format!("{} {name} webhook {hook}", self.kind),
                        w.at(&["clientConfig", "service"])?,
                    ))
                })
                .collect(),
            "CustomResourceDefinition" => node
                .at(&["spec", "conversion", "webhook", "clientConfig", "service"])
                .map(|s| {
                    (
                        format!("CustomResourceDefinition {name} conversion webhook"),
                        s,
                    )
                })
                .into_iter()
                .collect(),
            "APIService" => node
                .at(&["spec", "service"])
                .map(|s| (format!("APIService {name}"), s))
                .into_iter()
                .collect(),
            _ => Vec::new(),
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

/// True for a list of objects with `items`: `kind: List`, or a typed list such as
/// `PodList`, whose list metadata has no name. A custom resource whose kind ends in `List`
/// has a name (or `generateName`), and is an object.
pub fn is_list(node: &Node) -> bool {
    let kind = node.get("kind").and_then(Node::str).unwrap_or_default();
    let named = || {
        ["name", "generateName"]
            .iter()
            .any(|key| node.at(&["metadata", key]).is_some())
    };
    (kind == "List" || (kind.ends_with("List") && !named()))
        && node.get("items").and_then(Node::items).is_some()
}

/// The objects a parsed document holds: the document itself, or the items of a List, those
/// of Lists inside it included.
pub fn objects_of<'a>(doc: usize, node: &'a Node<'a>) -> Vec<Object<'a>> {
    objects_at(doc, node, Vec::new())
}

/// The objects of `node`, found at `item` ([`Object::item`]) in document `doc`: `node`
/// itself, or the items of a List, those of Lists inside it included. Items without a
/// `kind` are left out.
pub fn objects_at<'a>(doc: usize, node: &'a Node<'a>, item: Vec<usize>) -> Vec<Object<'a>> {
    let mut out = Vec::new();
    collect(doc, node, item, &mut out);
    out
}

fn collect<'a>(doc: usize, node: &'a Node<'a>, item: Vec<usize>, out: &mut Vec<Object<'a>>) {
    if is_list(node) {
        for (i, child) in node
            .get("items")
            .and_then(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if child.get("kind").and_then(Node::str).is_some() {
                let mut at = item.clone();
                at.push(i);
                collect(doc, child, at, out);
            }
        }
        return;
    }
    out.push(Object {
        doc,
        item,
        node,
        kind: node
            .get("kind")
            .and_then(Node::str)
            .unwrap_or_default()
            .to_string(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse};

    fn objects(text: &str) -> Vec<(Vec<usize>, String)> {
        let node = parse(text, Limits::default()).unwrap().unwrap();
        objects_of(0, &node)
            .into_iter()
            .map(|o| (o.item, o.kind))
            .collect()
    }

    #[test]
    fn lists_are_flattened_and_named_list_kinds_are_objects() {
        let nested = "kind: List\nitems:\n- kind: Service\n- kind: PodList\n  metadata: {resourceVersion: \"1\"}\n  items:\n  - kind: Pod\n  - metadata: {name: kindless}\n";
        assert_eq!(
            objects(nested),
            [(vec![0], "Service".into()), (vec![1, 0], "Pod".into())]
        );
        let custom = "kind: AllowList\nmetadata: {name: a}\nitems:\n- kind: Pod\n";
        assert_eq!(objects(custom), [(vec![], "AllowList".into())]);
    }
}
