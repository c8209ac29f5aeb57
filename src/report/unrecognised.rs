//! The workloads the catalog did not recognise, for `explain`: each with the
//! `spec.components.custom` entry that would include it.

use super::At;
use crate::io::stream::Doc;
use crate::model::graph::{Party, Pods};
use crate::model::object::Object;
use crate::yaml::Node;
use serde::Serialize;

/// A workload no rule of the catalog or the config matched.
#[derive(Debug, Clone, Serialize)]
pub struct Unrecognised {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub at: At,
    /// A `spec.components.custom` entry that matches it, as YAML flow.
    pub include: String,
}

/// The labels that name an application, in the order a hint prefers them.
const NAMING_LABELS: [&str; 4] = ["app.kubernetes.io/name", "app", "k8s-app", "name"];

/// The unrecognised workloads among `pods` (those without a component), in stream order.
pub fn list(pods: &[Pods], objects: &[Object], docs: &[Doc]) -> Vec<Unrecognised> {
    pods.iter()
        .filter(|p| p.component.is_none())
        .filter_map(|p| {
            let Party::Workload {
                kind,
                namespace,
                name,
            } = &p.party
            else {
                return None;
            };
            let object = &objects[p.object];
            let include = match NAMING_LABELS
                .iter()
                .find_map(|k| p.labels.get(*k).map(|v| (k, v)))
            {
                Some((key, value)) => {
                    format!("{{name: {value}, matchLabels: {{{key}: {value}}}}}")
                }
                None => match image(object.node) {
                    Some(image) => format!("{{name: {name}, image: '^{}'}}", regex_escape(image)),
                    None => {
                        format!("{{name: {name}, jsonPath: \"$.metadata[?(@.name == '{name}')]\"}}")
                    }
                },
            };
            Some(Unrecognised {
                kind: kind.clone(),
                name: name.clone(),
                namespace: namespace.clone(),
                at: At::of(&docs[object.doc], object.node.start),
                include,
            })
        })
        .collect()
}

/// The repository of the first container's image (`docker.io/timberio/vector`).
fn image<'n>(node: &'n Node) -> Option<&'n str> {
    let containers = [
        &["spec", "template", "spec", "containers"][..],
        &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "spec",
            "containers",
        ],
        &["spec", "containers"],
    ];
    let image = containers
        .iter()
        .find_map(|path| node.at(path)?.items()?.first()?.get("image")?.str())?;
    let repository = image.split('@').next().unwrap_or(image);
    Some(match repository.rfind(':') {
        Some(colon) if !repository[colon..].contains('/') => &repository[..colon],
        _ => repository,
    })
}

/// `s` with the regular expression metacharacters it may hold escaped.
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escape = ".+*?()|[]{}^$\\".contains(c);
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}
