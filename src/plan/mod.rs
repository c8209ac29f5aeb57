//! What the filter will do to a stream, stage by stage: decide every object, take the
//! inventory of the stack, draw its traffic graph, wire telemetry into the pods, generate
//! the policies from the graph, and report it all. The stream and KRM modes both plan
//! through here; [`setup`] chooses the config and resolves the mesh first.

mod existing;
pub mod setup;

use crate::config::ServiceMesh;
use crate::decide::{self, Action};
use crate::error::Failure;
use crate::generate::{Emit, policy, telemetry};
use crate::io::output::Output;
use crate::io::stream::{Doc, Places};
use crate::model::catalog::{self, Match};
use crate::model::graph::flows::{self, Flow};
use crate::model::graph::{Found, Graph, Party, Pods, Sources, Verdict};
use crate::model::mesh::Mesh;
use crate::model::object::Object;
use crate::model::stack::{Member, Stack, is_ours};
use crate::model::workload::{self, Workload};
use crate::parallel;
use crate::report::{Entry, GeneratedAction, Report, Subject};
use crate::verify::{self, Settings};
use crate::yaml::patch::Patch;
use crate::yaml::{Limits, Node};
use std::collections::{HashMap, HashSet};

/// The most flows `check` and `flows` evaluate ([`Outcome::traffic_graph`]): real stacks
/// have hundreds.
pub const MAX_FLOWS: usize = 200_000;

/// Settings that come from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--config`: name and text.
    pub config: Option<crate::io::input::Input>,
    /// `--mesh`.
    pub mesh: Option<crate::config::MeshType>,
    /// `--namespace`: the namespace of objects that name none (Helm's release namespace).
    pub namespace: Option<String>,
    /// `--release`: the release the generated resources belong to ([`crate::model::release`]).
    pub release: Option<String>,
    pub limits: Limits,
    /// List the fields each report entry changes (`check`, `explain`); the filter only
    /// needs to know whether an entry changes any, and listing costs time and memory.
    pub list_changes: bool,
    /// Draw the traffic graph even when no policy needs it (`flows`, `check`).
    pub traffic_graph: bool,
    /// Keep each input's new text apart ([`Outcome::fixes`]: `check --diff`).
    pub fixes: bool,
}

/// The fix file by file: each input's new text, in input order, and the generated
/// resources, which go to a file of their own.
#[derive(Debug, Clone, Default)]
pub struct Fixes {
    pub files: Vec<String>,
    pub generated: String,
}

/// The filtered stream and what was done.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub output: Output<'a>,
    pub report: Report,
    /// Set in KRM mode when the output is a ResourceList carrying an error result.
    pub failure: Option<Failure>,
    /// The fix file by file, when `Options::fixes` asked for it (stream mode).
    pub fixes: Option<Fixes>,
    /// What the run built and no longer needs. Dropping the outcome frees it; the binary
    /// ends without freeing, which skips one free per allocation (about 4% of a 10 MB run).
    pub(crate) _spare: Spare,
    /// The stack's traffic graph (empty when neither the config nor the options needed it).
    pub(crate) traffic: Traffic,
}

/// The traffic graph as planned: the flows read from the stream, the flows between
/// components, and what they refer to.
#[derive(Debug, Default)]
pub(crate) struct Traffic {
    /// Whether the graph was drawn (the config's policies or the options needed it).
    pub(crate) drawn: bool,
    /// The stream has NetworkPolicies gunj-mesh does not manage: they may disprove
    /// inferred flows ([`Outcome::flows`]).
    pub(crate) their_policies: bool,
    pub(crate) graph: Graph,
    pub(crate) flows: Vec<Flow>,
    pub(crate) pods: Vec<Pods>,
    pub(crate) stack: Option<Stack>,
    pub(crate) release: Option<String>,
    /// What the evaluator assumes: the mesh and the networks the config names.
    pub(crate) settings: Option<Settings>,
}

/// The traffic graph of a stream and each flow's verdict under the output.
#[derive(Debug, Clone, Default)]
pub struct Flows {
    pub graph: Graph,
    /// One per edge of `graph`, in order.
    pub verdicts: Vec<Verdict>,
}

impl Outcome<'_> {
    /// The traffic graph and the verdict the evaluator of mesh semantics gives each flow
    /// under the output's YAML (`Options::traffic_graph` draws it whatever the config).
    ///
    /// A flow the catalog infers is left out where the stream's own NetworkPolicies stop it:
    /// the chart's authors closed that path (kube-prometheus admits only Prometheus to
    /// Grafana), so it is a guess the stack disproves, not a flow it needs.
    pub fn flows(&self) -> Result<Flows, Failure> {
        self.flows_under(&self.output.text())
    }

    /// [`Outcome::flows`] under the policies of the stream as it was read (`texts`: each
    /// input's whole text), not the filter's output: the union of several releases' outputs
    /// is checked as it would be applied (`flows --as-is`).
    pub fn flows_as_is<'t>(
        &self,
        texts: impl IntoIterator<Item = &'t str>,
    ) -> Result<Flows, Failure> {
        let mut all = String::new();
        for text in texts {
            if !all.is_empty() && !all.ends_with('\n') {
                all.push('\n');
            }
            if !all.is_empty() {
                all.push_str("---\n");
            }
            all.push_str(text);
        }
        self.flows_under(&all)
    }

    fn flows_under(&self, text: &str) -> Result<Flows, Failure> {
        let mut graph = self.traffic_graph().map_err(|flows| {
            Failure::input(
                "traffic graph",
                format!(
                    "the stack's workloads would have more than {flows} flows between them, \
                     more than `check` and `flows` evaluate"
                ),
            )
            .hint("each workload of a component calls every workload of the components it calls, so n copies of one that calls itself make n² flows: check the stream in parts")
        })?;
        let Some(settings) = &self.traffic.settings else {
            return Ok(Flows::default());
        };
        let verdicts =
            verify::evaluate_needed(text, &graph.edges, |e| e.found == Found::Inferred, settings);
        let mut kept = verdicts.iter().map(Option::is_some);
        graph.edges.retain(|_| kept.next() == Some(true));
        // Callers outside the stream are nodes only through their flows.
        let edges = &graph.edges;
        graph.nodes.retain(|n| {
            matches!(n.party, Party::Workload { .. })
                || edges.iter().any(|e| e.from == n.party || e.to == n.party)
        });
        Ok(Flows {
            graph,
            verdicts: verdicts.into_iter().flatten().collect(),
        })
    }

    /// The stderr summary ([`Report::summary`]), with the traffic graph's size when it was
    /// drawn.
    pub fn summary(&self) -> Vec<String> {
        // The graph `flows` shows; evaluated only where the stream's policies may disprove
        // a flow, since that reads the whole output again.
        // A graph past MAX_FLOWS is not counted: `flows` and `check` say why.
        let traffic = self
            .traffic
            .drawn
            .then(|| {
                let graph = if self.traffic.their_policies {
                    self.flows().ok()?.graph
                } else {
                    self.traffic_graph().ok()?
                };
                Some(crate::report::flows::counts(&graph))
            })
            .flatten();
        self.report.summary(traffic)
    }

    /// Every flow the stack needs: those read from the stream, and the flows between
    /// components (read, configured or inferred) on the ports their targets serve.
    /// Fails with [`MAX_FLOWS`] when there would be more: `check` and `flows` keep a verdict
    /// of about a kilobyte for each, and an all-to-all ring of n workloads has n² of them.
    pub fn traffic_graph(&self) -> Result<Graph, usize> {
        let t = &self.traffic;
        let mut graph = t.graph.clone();
        if let Some(stack) = &t.stack
            && !graph.add_flows(&t.flows, stack, &t.pods, t.release.as_deref(), MAX_FLOWS)
        {
            return Err(MAX_FLOWS);
        }
        Ok(graph)
    }
}

/// The inventory, each document's patch and the generated resources, kept until the
/// outcome is dropped.
#[derive(Debug, Default)]
pub(crate) struct Spare {
    pub(crate) _patches: Vec<Patch>,
    pub(crate) _generated: Vec<Box<dyn Emit>>,
}

/// What the filter will do: the report, each document's patch, and the resources to append.
pub struct Plan {
    pub report: Report,
    pub patches: Vec<Patch>,
    pub generated: Vec<Box<dyn Emit>>,
    /// The traffic graph the policies were generated from.
    pub(crate) traffic: Traffic,
}

impl Plan {
    /// The parts of the plan an outcome keeps until it is dropped.
    pub(crate) fn spare(patches: Vec<Patch>, generated: Vec<Box<dyn Emit>>) -> Spare {
        Spare {
            _patches: patches,
            _generated: generated,
        }
    }
}

/// One object's decision, before telemetry and reporting.
struct Decided<'o, 'a> {
    object: &'o Object<'a>,
    subject: Subject,
    recognised: Option<Match>,
    action: Action,
    patch: Patch,
    /// Set for an injected workload until the inventory takes it.
    member: Option<Member>,
    /// Where its pod annotations are (`None` for a Namespace).
    pod_annotations: Option<&'static [&'static str]>,
}

/// What the decision stage makes of one object: a decision when it is ours to touch, and
/// its pods for the traffic graph when it runs some.
type Seen<'o, 'a> = (Option<Decided<'o, 'a>>, Option<Pods>);

/// Decides every object, then generates the policies for the components in the mesh.
/// `api_versions` are those the header scan read (documents left in the files included).
/// Without a mesh ([`setup::resolve_mesh`]) nothing changes; the report says how the mesh
/// was chosen when that needs saying.
pub fn plan(
    objects: &[Object],
    api_versions: &[&str],
    config: &ServiceMesh,
    resolved: &setup::Resolved,
    options: &Options,
    docs: &[Doc],
) -> Result<Plan, Failure> {
    let mut patches: Vec<Patch> = vec![Patch::new(); docs.len()];
    let Some(mesh) = resolved.mesh.as_ref() else {
        let mut report = Report::default();
        report.notes.extend(resolved.note.clone());
        return Ok(Plan {
            report,
            patches,
            generated: Vec::new(),
            traffic: Traffic::default(),
        });
    };
    let mut report = Report {
        mesh: Some(mesh.describe().to_string()),
        ..Report::default()
    };
    let mut generated = Vec::new();
    // Decide: one slot per object (`None`: not recognised), used in place.
    let namespace_wide = namespace_wide(objects, config, mesh);
    let indices: Vec<usize> = (0..objects.len()).collect();
    let seen = parallel::try_map(
        &indices,
        |_| 1,
        256,
        |&i| {
            let doc = &docs[objects[i].doc];
            decide(i, &objects[i], config, mesh, options, doc, &namespace_wide)
        },
    )?;
    let (mut decided, pods): (Vec<Option<Decided>>, Vec<Option<Pods>>) = seen.into_iter().unzip();
    let pods: Vec<Pods> = pods.into_iter().flatten().collect();
    if options.list_changes {
        report.unrecognised = crate::report::unrecognised::list(&pods, objects, docs);
    }
    // Inventory.
    let members = decided
        .iter_mut()
        .flatten()
        .filter_map(|d| d.member.take())
        .collect();
    let release = options.namespace.as_deref();
    let sources: Vec<Option<String>> = {
        let mut seen = std::collections::HashSet::new();
        objects
            .iter()
            .filter(|o| seen.insert(o.doc))
            .map(|o| docs[o.doc].source_comment())
            .collect()
    };
    let scope = crate::model::release::find(
        objects,
        &sources,
        options.release.as_deref(),
        config.name().unwrap_or("gunj-mesh"),
    );
    let stack = Stack::build(
        objects,
        members,
        release,
        &config.spec.cluster_domain,
        scope,
    );
    // The traffic graph, and the flows between components it and the config give.
    let drawn =
        options.traffic_graph || config.spec.authorization.is_some() || config.spec.mtls.is_some();
    let graph = if drawn {
        Graph::build(&Sources {
            objects,
            pods: &pods,
            services: &stack.services,
            release,
            mesh,
            merge_metrics: config
                .spec
                .observability
                .as_ref()
                .and_then(|o| o.metrics.merge_metrics)
                .unwrap_or(true),
        })
    } else {
        Graph::default()
    };
    let mut said = flows::Said::default();
    let flows = match &config.spec.authorization {
        Some(auth) => flows::flows(
            &stack,
            auth,
            mesh,
            &graph.component_flows(&pods),
            &graph.read_components(&pods),
            &exported(&stack, &config.spec, mesh),
            &mut said,
        ),
        None => Vec::new(),
    };
    // Telemetry the pods need once the stack is known: where traces go.
    let operator = |v: &str| v.starts_with("monitoring.coreos.com/");
    let mut ctx = telemetry::context(
        &stack,
        &config.spec,
        mesh,
        api_versions.iter().any(|v| operator(v))
            || objects.iter().any(|o| {
                o.node
                    .get("apiVersion")
                    .and_then(Node::str)
                    .is_some_and(operator)
            }),
    );
    ctx.prometheus = telemetry::selection(objects, release);
    for d in decided.iter_mut().flatten() {
        if let (Action::Inject(how), Some(annotations)) = (&mut d.action, d.pod_annotations)
            && let Some((patch, what)) = telemetry::trace_patch(annotations, mesh, &ctx)
        {
            d.patch.merge(patch);
            how.push_str(", ");
            how.push_str(what);
        }
    }
    // Policies and telemetry resources.
    let mut out = policy::generate(
        &policy::Inputs {
            stack: &stack,
            graph: &graph,
            pods: &pods,
            objects,
            flows: &flows,
        },
        config,
        mesh,
    );
    telemetry::generate(&stack, &config.spec, mesh, &ctx, &mut out);
    // Report: each object's entry compares its patch with the object, on every core.
    let mut places: HashMap<usize, Places> = HashMap::new();
    let reported = decided
        .iter()
        .flatten()
        .map(|d| d.object)
        .chain(out.edits.iter().map(|e| &objects[e.object]));
    for o in reported {
        places
            .entry(o.doc)
            .or_insert_with(|| docs[o.doc].places(!o.item.is_empty()));
    }
    let entries = parallel::map(
        &decided,
        |_| 1,
        256,
        |d| {
            d.as_ref().map(|d| {
                let doc = &docs[d.object.doc];
                let mut entry = Entry::new(
                    d.object,
                    doc,
                    &places[&d.object.doc],
                    d.subject.clone(),
                    d.recognised.clone(),
                    d.action.clone(),
                    &d.patch,
                );
                if options.list_changes {
                    entry.list_changes(d.object, &d.patch, doc, &places[&d.object.doc]);
                }
                entry
            })
        },
    );
    // Sized once: growing these long vectors copied them and touched fresh pages.
    report
        .entries
        .reserve_exact(decided.iter().flatten().count() + out.edits.len());
    report.generated.reserve_exact(out.resources.len());
    generated.reserve_exact(out.resources.len());
    report.entries.extend(entries.into_iter().flatten());
    for d in decided.into_iter().flatten() {
        d.object.place(&mut patches[d.object.doc], d.patch);
    }
    let namespaces: HashMap<usize, Option<&str>> = stack
        .services
        .iter()
        .map(|s| (s.object, s.namespace.as_deref()))
        .collect();
    let entries = parallel::map(
        &out.edits,
        |_| 1,
        64,
        |edit| {
            let object = &objects[edit.object];
            let subject = Subject {
                kind: object.kind.clone(),
                name: object.name().to_string(),
                namespace: match namespaces.get(&edit.object) {
                    Some(ns) => ns.map(str::to_string),
                    None => object
                        .node
                        .at(&["metadata", "namespace"])
                        .and_then(Node::scalar)
                        .map(str::to_string)
                        .or_else(|| options.namespace.clone()),
                },
            };
            let m = Match {
                component: edit.component.clone(),
                rule: if object.kind == "Service" {
                    "service selector"
                } else {
                    "traffic graph"
                }
                .into(),
                custom: false,
            };
            let action = Action::Edit(edit.reason.clone());
            let doc = &docs[object.doc];
            let mut entry = Entry::new(
                object,
                doc,
                &places[&object.doc],
                subject,
                Some(m),
                action,
                &edit.patch,
            );
            if options.list_changes {
                entry.list_changes(object, &edit.patch, doc, &places[&object.doc]);
            }
            entry
        },
    );
    report.entries.extend(entries);
    for edit in out.edits {
        let object = &objects[edit.object];
        object.place(&mut patches[object.doc], edit.patch);
    }
    // gunj-mesh's PeerAuthentications that let ports accept plaintext: another policy on
    // the same pods may drop those ports ([`existing::peer_conflicts`]).
    let exceptions: HashSet<(Option<String>, String)> = out
        .resources
        .iter()
        .filter(|g| g.kind == "PeerAuthentication")
        .filter(|g| {
            g.object.json()["spec"]["portLevelMtls"]
                .as_object()
                .is_some_and(|ports| !ports.is_empty())
        })
        .map(|g| (g.namespace.clone(), g.name.clone()))
        .collect();
    generated.extend(existing::resolve(
        out.resources,
        &existing::Stream {
            stack: &stack,
            objects,
            docs,
            compare: options.list_changes,
        },
        &mut report,
    ));
    if let (Some(mtls), Mesh::Istio { .. }) = (&config.spec.mtls, mesh) {
        existing::peer_conflicts(
            mtls.mode,
            &existing::Stream {
                stack: &stack,
                objects,
                docs,
                compare: options.list_changes,
            },
            options.namespace.as_deref(),
            &exceptions,
            &mut report,
        );
    }
    report.notes = resolved
        .note
        .iter()
        .cloned()
        .chain(stack.release.note.clone())
        .chain(said.notes)
        .chain(out.notes)
        .collect();
    report.warnings = said.warnings.into_iter().chain(out.warnings).collect();
    if options.namespace.is_none()
        && let Some(note) = release_namespace_note(&report, config)
    {
        report.notes.push(note);
    }
    Ok(Plan {
        report,
        patches,
        generated,
        traffic: Traffic {
            drawn,
            their_policies: objects
                .iter()
                .any(|o| o.kind == "NetworkPolicy" && !is_ours(o.node)),
            graph,
            flows,
            pods,
            stack: Some(stack),
            release: options.namespace.clone(),
            settings: Some(Settings {
                release_namespace: options.namespace.clone(),
                linkerd_probe_networks: config
                    .spec
                    .authorization
                    .as_ref()
                    .map_or_else(crate::config::all_networks, |a| a.probe_networks.clone()),
                api_server_networks: config
                    .spec
                    .authorization
                    .as_ref()
                    .map(|a| a.api_server_networks.clone()),
                trust_domain: config.spec.trust_domain.clone(),
                ..Settings::new(mesh.clone())
            }),
        },
    })
}

/// Without `--namespace`: what was assumed of the recognised objects that name no
/// namespace, when it matters (resources generated without a namespace, or a
/// `spec.namespaces` that cannot leave them out).
fn release_namespace_note(report: &Report, config: &ServiceMesh) -> Option<String> {
    let unplaced = report
        .entries
        .iter()
        .filter(|e| e.kind != "Namespace" && e.namespace.is_none())
        .count();
    let generated = report
        .generated
        .iter()
        .filter(|g| g.action != GeneratedAction::Conflict && g.namespace.is_none())
        .count();
    let filtered = !config.spec.namespaces.is_empty();
    if unplaced == 0 || (generated == 0 && !filtered) {
        return None;
    }
    let mut note = format!(
        "{unplaced} object(s) name no namespace and no --namespace was given: they are taken to be in the release namespace"
    );
    if generated > 0 {
        note.push_str(&format!(
            "; the {generated} resource(s) generated for them carry no namespace either, so that Helm (or `kubectl apply -n`) places both there"
        ));
    }
    if filtered {
        note.push_str(
            "; spec.namespaces cannot tell whether that namespace is one it lists, so they are acted on (pass --namespace to filter them)",
        );
    }
    Some(note)
}

/// A label or annotation map as the pairs [`decide::namespace`] reads.
fn pairs(map: &std::collections::BTreeMap<String, String>) -> Vec<(&str, Option<&str>)> {
    map.iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_str())))
        .collect()
}

/// The decision for a Namespace document, or `None` when it is out of scope.
fn namespace(
    object: &Object,
    config: &ServiceMesh,
    mesh: &Mesh,
) -> Result<Option<(Action, Patch)>, workload::ShapeError> {
    let read = |field: &str| {
        workload::string_map(
            object.node.at(&["metadata", field]),
            &format!("metadata.{field}"),
        )
    };
    let (labels, annotations) = (read("labels")?, read("annotations")?);
    Ok(decide::namespace(
        object.name(),
        &pairs(&labels),
        &pairs(&annotations),
        &config.spec,
        mesh,
    ))
}

/// The names of the Namespace documents put in the mesh namespace-wide. A Namespace whose
/// labels are malformed counts as not: deciding it fails the run anyway.
fn namespace_wide<'o>(
    objects: &'o [Object],
    config: &ServiceMesh,
    mesh: &Mesh,
) -> HashSet<&'o str> {
    if config.spec.namespaces.is_empty() {
        return HashSet::new();
    }
    objects
        .iter()
        .filter(|o| o.kind == "Namespace")
        .filter(|o| matches!(namespace(o, config, mesh), Ok(Some((Action::Inject(_), _)))))
        .map(Object::name)
        .collect()
}

/// The decision and patch for one object, or `None` when it is not ours to touch.
/// `namespace_wide` names the namespaces put in the mesh by their Namespace documents.
fn decide<'o, 'a>(
    index: usize,
    object: &'o Object<'a>,
    config: &ServiceMesh,
    mesh: &Mesh,
    options: &Options,
    doc: &Doc,
    namespace_wide: &HashSet<&str>,
) -> Result<Seen<'o, 'a>, Failure> {
    let node = object.node;
    let shape = |e: workload::ShapeError| {
        doc.fail(Some(e.at), format!("{} {}", e.field, e.problem))
            .hint(e.hint)
    };
    if object.kind == "Namespace" {
        let decided = namespace(object, config, mesh)
            .map_err(shape)?
            .map(|(action, patch)| Decided {
                object,
                subject: Subject {
                    kind: "Namespace".into(),
                    name: object.name().to_string(),
                    namespace: None,
                },
                recognised: None,
                action,
                patch,
                member: None,
                pod_annotations: None,
            });
        return Ok((decided, None));
    }
    let Some(w) =
        Workload::from_node(node, &object.kind, options.namespace.as_deref()).map_err(shape)?
    else {
        return Ok((None, None));
    };
    let namespace = w.namespace.clone().or_else(|| options.namespace.clone());
    let Some(m) = catalog::recognise(&w, node, &config.spec.components.custom) else {
        return Ok((
            None,
            Some(Pods::of(index, &w, namespace.as_deref(), None, false)),
        ));
    };
    let (mut action, mut patch) = decide::workload(
        &w,
        &m,
        &config.spec,
        mesh,
        options.namespace.as_deref(),
        namespace
            .as_deref()
            .is_some_and(|ns| namespace_wide.contains(ns)),
    );
    if let Action::Inject(how) = &mut action {
        let (extra, what) = telemetry::pod_patch(&w, &m.component, &config.spec, mesh);
        patch.merge(extra);
        for w in what {
            how.push_str(", ");
            how.push_str(w);
        }
    }
    let member = matches!(action, Action::Inject(_))
        .then(|| Member::of(&m.component, &w, namespace.as_deref()));
    let pods = Pods::of(
        index,
        &w,
        namespace.as_deref(),
        Some(&m.component),
        member.is_some(),
    );
    let decided = Decided {
        object,
        subject: Subject {
            kind: w.kind.clone(),
            name: w.name.clone(),
            namespace,
        },
        recognised: Some(m),
        action,
        patch,
        member,
        pod_annotations: Some(w.pod_annotations_path),
    };
    Ok((Some(decided), Some(pods)))
}

/// The components with a Service other clusters reach through Linkerd's multi-cluster
/// gateway.
fn exported(stack: &Stack, spec: &crate::config::Spec, mesh: &Mesh) -> Vec<String> {
    let Some(mc) = spec
        .multi_cluster
        .as_ref()
        .filter(|_| *mesh == Mesh::Linkerd)
    else {
        return Vec::new();
    };
    let mut components: Vec<String> = stack
        .services
        .iter()
        .filter(|s| s.exported(mc))
        .filter_map(|s| s.component.clone())
        .collect();
    components.sort();
    components.dedup();
    components
}
