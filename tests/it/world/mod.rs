//! Issue #21: what real stacks need, each on a small stream written in the style of the
//! upstream manifest it comes from (named in each test), run through the library.

mod ab;
mod edits;
mod ports;
mod recognition;
mod traffic;

use gunj_mesh::{Entry, EntryAction, Flows, Input, MeshType, Options, Outcome, Verdict};

/// Runs the filter over `stream` with the config `config` (a ServiceMesh document's text)
/// and `mesh` forcing the mesh type, drawing the traffic graph.
pub fn run<'a>(inputs: &'a [Input], config: &str, mesh: MeshType) -> Outcome<'a> {
    let options = Options {
        config: Some(Input::new("config.yaml", config)),
        mesh: Some(mesh),
        traffic_graph: true,
        ..Options::default()
    };
    gunj_mesh::run(inputs, &options).unwrap_or_else(|f| panic!("the filter failed: {f}"))
}

/// A config with `spec` below `spec:`, indented by two spaces.
pub fn config(spec: &str) -> String {
    format!("apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n{spec}")
}

/// The report entry of `kind` `name`, if any.
pub fn entry<'r>(outcome: &'r Outcome, kind: &str, name: &str) -> Option<&'r Entry> {
    outcome
        .report
        .entries
        .iter()
        .find(|e| e.kind == kind && e.name == name)
}

/// The component an object is recognised as and the entry's action.
pub fn recognised(outcome: &Outcome, kind: &str, name: &str) -> Option<(String, EntryAction)> {
    entry(outcome, kind, name).map(|e| (e.component.clone().unwrap_or_default(), e.action))
}

/// Every flow the output denies, or whose verdict the evaluator cannot give: `from → to
/// port`, and why.
pub fn denied(flows: &Flows) -> Vec<String> {
    flows
        .graph
        .edges
        .iter()
        .zip(&flows.verdicts)
        .filter_map(|(e, v)| {
            let why = match v {
                Verdict::Denied { resource, rule } => format!("{resource} ({rule})"),
                Verdict::Unknown { why } => format!("unknown: {why}"),
                Verdict::Allowed { .. } => return None,
            };
            Some(format!(
                "{} → {} port {}: {why}",
                e.from.label(),
                e.to.label(),
                e.port
            ))
        })
        .collect()
}

/// Every flow of the graph as `from → to port`.
pub fn edges(flows: &Flows) -> Vec<String> {
    flows
        .graph
        .edges
        .iter()
        .map(|e| format!("{} → {} port {}", e.from.label(), e.to.label(), e.port))
        .collect()
}

/// The documents of a YAML stream, as JSON (empty documents left out).
pub fn documents(text: &str) -> Vec<serde_json::Value> {
    gunj_mesh::internals::stream::split(0, text)
        .iter()
        .filter(|d| !d.header.empty)
        .map(|d| gunj_mesh::internals::yaml::from_str::<serde_json::Value>(d.text).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// The document of `kind` `name` in an output.
pub fn find<'d>(
    docs: &'d [serde_json::Value],
    kind: &str,
    name: &str,
) -> Option<&'d serde_json::Value> {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

/// The first document of `kind` whose name is `<release scope>-<name>`: the names of
/// resources that serve no one workload start with the release ([`--release`]).
pub fn find_scoped<'d>(
    docs: &'d [serde_json::Value],
    kind: &str,
    name: &str,
) -> Option<&'d serde_json::Value> {
    docs.iter().find(|d| {
        d["kind"] == kind
            && d["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with(&format!("-{name}")))
    })
}

/// Checks the output with `../shared/tools/validate-crs.py --require-known` (skipped,
/// saying so, when `../shared` is missing).
pub fn validates(output: &str, label: &str) {
    let Some(corpus) = crate::common::corpus() else {
        return;
    };
    let tool = corpus.join("../tools/validate-crs.py");
    let dir = crate::common::TempDir::new("validate");
    let file = dir.write("out.yaml", output);
    let run = std::process::Command::new("python3")
        .arg(&tool)
        .arg("--require-known")
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "{label}: validate-crs.py failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}
