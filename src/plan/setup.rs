//! Before planning: which config applies, and which mesh `type: auto` stands for.

use super::Options;
use crate::config::{MeshType, ServiceMesh, is_service_mesh, validate};
use crate::error::Failure;
use crate::io::stream::{self, Doc};
use crate::model::catalog;
use crate::model::kinds::pod_kind;
use crate::model::mesh::Mesh;
use crate::model::object::Object;
use crate::model::workload::Workload;
use crate::yaml::Node;

/// Reads a ServiceMesh config document; errors name `source`.
pub fn read_config(source: &str, text: &str) -> Result<ServiceMesh, Failure> {
    read_config_at(source, text, 1)
}

/// [`read_config`] of a text whose first line is line `first_line` of `source`. An error
/// is placed in `source` and, when the text is a ServiceMesh document by its header, shows
/// the lines around it.
pub fn read_config_at(source: &str, text: &str, first_line: usize) -> Result<ServiceMesh, Failure> {
    ServiceMesh::from_yaml(text, &catalog::names()).map_err(|e| {
        let place = e.place;
        let failure = Failure::config(source, e);
        match place {
            Some(place) => {
                let quote = stream::scan(text).kind == Some(crate::config::KIND);
                failure.placed(text, place, first_line, quote)
            }
            None => failure,
        }
    })
}

/// Reads the ServiceMesh config `node` of `doc` (a KRM functionConfig or item): from its
/// own text, so that an error names the field and its line and column in the input. `what`
/// says where in the ResourceList it is (`functionConfig`, `items[2]`), and is the
/// error's source: kpt shows it as the result's field.
pub fn config_in(doc: &Doc, node: &Node, what: &str) -> Result<ServiceMesh, Failure> {
    let body = doc.body();
    let line_start = body[..node.start].rfind('\n').map_or(0, |i| i + 1);
    // What precedes the node on its first line (`- `, `functionConfig: `) becomes spaces:
    // the text parses alone, and columns stay those of the input.
    let indent = body[line_start..node.start].chars().count();
    let text = format!("{}{}", " ".repeat(indent), &body[node.start..node.end]);
    read_config_at(what, &text, doc.line_of(line_start))
}

/// Fails on a ServiceMesh config among `objects`, which are those outside the config
/// documents and items: one inside a List cannot be taken out of it, and left there it
/// would reach the cluster.
pub fn no_config_in_a_list(objects: &[Object], docs: &[Doc]) -> Result<(), Failure> {
    match objects.iter().find(|o| is_service_mesh(o.node)) {
        Some(o) => Err(docs[o.doc]
            .fail(
                Some(o.node.start),
                "a ServiceMesh config inside a List".into(),
            )
            .hint("give the ServiceMesh as a document of its own, or pass it with -c")),
        None => Ok(()),
    }
}

/// Applies the config precedence: flags > `--config` > stream > functionConfig > default.
/// `--namespace` must be a namespace name.
pub fn choose_config(
    options: &Options,
    in_stream: Option<ServiceMesh>,
    function_config: Option<ServiceMesh>,
) -> Result<ServiceMesh, Failure> {
    if let Some(ns) = &options.namespace
        && !validate::is_dns_label(ns)
    {
        return Err(Failure::input(
            "--namespace",
            format!("`{ns}` is not a valid namespace name"),
        )
        .hint(
            "a namespace name is a DNS-1123 label: at most 63 lowercase letters, digits and \
             '-', starting and ending with a letter or digit, such as `monitoring`",
        ));
    }
    let from_file = match &options.config {
        Some(input) => Some(read_config(&input.name, &input.text)?),
        None => None,
    };
    let mut config = from_file
        .or(in_stream)
        .or(function_config)
        .unwrap_or_else(ServiceMesh::embedded_default);
    if let Some(mesh) = options.mesh {
        config.spec.mesh = mesh;
    }
    Ok(config)
}

/// The mesh a run acts for, and what the report must say about how it was chosen.
#[derive(Debug, Default)]
pub struct Resolved {
    /// `None`: there is none to act for.
    pub mesh: Option<Mesh>,
    pub note: Option<String>,
}

/// The mesh to act for, `None` when there is none to act for: `spec.enabled: false`, or
/// `type: auto` finding neither mesh in a stream with no workload or Namespace to put in
/// one. Otherwise `type: auto` decides from the stream: mesh resources (by apiVersion) and
/// injection settings on the objects; it takes the default mesh ([`MeshType::default`])
/// with a note when it finds neither, and fails when it finds both.
pub fn resolve_mesh(
    config: &ServiceMesh,
    api_versions: &[&str],
    objects: &[Object],
) -> Result<Resolved, Failure> {
    if !config.spec.enabled {
        return Ok(Resolved::default());
    }
    let mut fell_back = false;
    let linkerd = match config.spec.mesh {
        MeshType::Istio => false,
        MeshType::Linkerd => true,
        MeshType::Auto => {
            let mut istio = api_versions.iter().any(|v| v.contains("istio.io/"));
            let mut linkerd = api_versions.iter().any(|v| v.contains("linkerd.io/"));
            for o in objects {
                for map in ["labels", "annotations"] {
                    for (key, _) in o
                        .node
                        .at(&["metadata", map])
                        .map(Node::string_map)
                        .unwrap_or_default()
                    {
                        istio |= key.contains("istio.io/") || key == "istio-injection";
                        linkerd |= key.contains("linkerd.io/");
                    }
                }
                if let Ok(Some(w)) = Workload::from_node(o.node, &o.kind, None) {
                    istio |= w
                        .pod_labels
                        .keys()
                        .chain(w.pod_annotations.keys())
                        .any(|k| k.contains("istio.io/"));
                    linkerd |= w
                        .pod_labels
                        .keys()
                        .chain(w.pod_annotations.keys())
                        .any(|k| k.contains("linkerd.io/"));
                }
            }
            match (istio, linkerd) {
                (true, false) => false,
                (false, true) => true,
                (false, false)
                    if !objects
                        .iter()
                        .any(|o| o.kind == "Namespace" || pod_kind(&o.kind).is_some()) =>
                {
                    return Ok(Resolved {
                        mesh: None,
                        note: Some(
                            "type: auto found neither Istio nor Linkerd, and the stream has no workload or Namespace to put in a mesh: nothing changed"
                                .into(),
                        ),
                    });
                }
                (false, false) => {
                    fell_back = true;
                    MeshType::default() == MeshType::Linkerd
                }
                (true, true) => {
                    return Err(Failure::config(
                        "spec.type",
                        "type: auto found both Istio and Linkerd in the stream; set spec.type to istio or linkerd (or pass --mesh)",
                    ));
                }
            }
        }
    };
    let mesh = Mesh::from_spec(&config.spec, linkerd);
    Ok(Resolved {
        note: fell_back.then(|| {
            format!(
                "type: auto found neither Istio nor Linkerd in the stream: using the default, {}; set spec.type (or pass --mesh) to choose",
                mesh.name()
            )
        }),
        mesh: Some(mesh),
    })
}
