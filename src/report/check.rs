//! `gunj-mesh check`: the CI gate. A finding is an object the filter would change; the
//! formats are a text list, JSON, SARIF 2.1.0 and GitHub workflow annotations.

use super::{Entry, EntryAction, GeneratedAction, GeneratedEntry, Report};
use serde_json::{Value, json};

/// Objects that are not mesh-ready: the filter would change them.
pub fn findings(report: &Report) -> Vec<&Entry> {
    report.entries.iter().filter(|e| e.changed).collect()
}

/// Policies the config asks for that the stream lacks.
pub fn missing(report: &Report) -> Vec<&GeneratedEntry> {
    report
        .generated
        .iter()
        .filter(|g| g.action == GeneratedAction::Generate)
        .collect()
}

/// True when the stream is mesh-ready.
pub fn passes(report: &Report) -> bool {
    findings(report).is_empty() && missing(report).is_empty()
}

fn missing_title(g: &GeneratedEntry) -> String {
    format!("missing {} for {} ({})", g.object(), g.component, g.detail)
}

/// What to set, one line per field: `metadata.labels["x"] = "true" (now "false")`.
fn proposals(e: &Entry) -> Vec<String> {
    e.changes
        .iter()
        .map(|c| match &c.current {
            Some(now) => format!("{} = {} (now {now})", c.field, c.proposed),
            None => format!("{} = {}", c.field, c.proposed),
        })
        .collect()
}

fn title(e: &Entry) -> String {
    let component = e
        .component
        .as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    if e.action == EntryAction::Edit {
        format!(
            "{}{component} needs mesh settings ({})",
            e.object(),
            e.detail
        )
    } else if e.action == EntryAction::Skip {
        format!(
            "{}{component} needs an explicit opt-out ({})",
            e.object(),
            e.detail
        )
    } else {
        format!(
            "{}{component} is not in the mesh ({})",
            e.object(),
            e.detail
        )
    }
}

/// The input location: the file and line when the input was a file, else the chart path.
fn location(e: &Entry) -> (String, Option<usize>) {
    if e.file == "-" {
        (e.source.clone(), None)
    } else {
        (e.file.clone(), Some(e.line))
    }
}

pub fn text(report: &Report) -> String {
    let found = findings(report);
    let mut out = String::new();
    for e in &found {
        let (file, line) = location(e);
        let at = line.map(|l| format!("{file}:{l}")).unwrap_or(file);
        out.push_str(&format!("{at}: document {}: {}\n", e.document, title(e)));
        for p in proposals(e) {
            out.push_str(&format!("  set {p}\n"));
        }
    }
    let missing = missing(report);
    for g in &missing {
        out.push_str(&format!("{}\n", missing_title(g)));
    }
    out.push_str(&format!(
        "{} object(s) not mesh-ready, {} recognised, {} policy resource(s) missing\n",
        found.len(),
        report.entries.len(),
        missing.len()
    ));
    out
}

pub fn json(report: &Report) -> String {
    let found: Vec<&Entry> = findings(report);
    format!(
        "{:#}\n",
        json!({"mesh": report.mesh, "findings": found, "missing": missing(report)})
    )
}

/// GitHub Actions workflow commands (`::error file=…,line=…::message`).
pub fn github(report: &Report) -> String {
    let escape = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let prop = |s: &str| escape(s).replace(':', "%3A").replace(',', "%2C");
    findings(report)
        .iter()
        .map(|e| {
            let (file, line) = location(e);
            let line = line.map(|l| format!(",line={l}")).unwrap_or_default();
            let message = std::iter::once(title(e))
                .chain(proposals(e).into_iter().map(|p| format!("set {p}")))
                .collect::<Vec<_>>()
                .join("\n");
            format!(
                "::error file={}{line},title=gunj-mesh::{}\n",
                prop(&file),
                escape(&message)
            )
        })
        .chain(
            missing(report)
                .iter()
                .map(|g| format!("::error title=gunj-mesh::{}\n", escape(&missing_title(g)))),
        )
        .collect()
}

/// A SARIF 2.1.0 log with one result per finding.
pub fn sarif(report: &Report) -> String {
    let results: Vec<Value> = findings(report)
        .iter()
        .map(|e| {
            let (file, line) = location(e);
            let mut physical = json!({"artifactLocation": {"uri": file}});
            if let Some(line) = line {
                physical["region"] = json!({"startLine": line});
            }
            let text = std::iter::once(title(e))
                .chain(proposals(e).into_iter().map(|p| format!("set {p}")))
                .collect::<Vec<_>>()
                .join("; ");
            json!({
                "ruleId": "GM001",
                "level": "error",
                "message": {"text": text},
                "locations": [{"physicalLocation": physical}],
            })
        })
        .chain(missing(report).iter().map(|g| {
            json!({
                "ruleId": "GM002",
                "level": "error",
                "message": {"text": missing_title(g)},
            })
        }))
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gunj-mesh",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": [{
                    "id": "GM001",
                    "name": "NotInMesh",
                    "shortDescription": {"text": "An observability component is not in the service mesh as the ServiceMesh config asks."},
                    "help": {"text": "Run the manifests through gunj-mesh (as a Helm post-renderer or KRM function), or set what the result lists."},
                }, {
                    "id": "GM002",
                    "name": "MissingPolicy",
                    "shortDescription": {"text": "A mesh policy the ServiceMesh config asks for is not in the manifests."},
                    "help": {"text": "Run the manifests through gunj-mesh, which generates it."},
                }],
            }},
            "results": results,
        }],
    });
    format!("{log:#}\n")
}

/// A unified diff of what the filter would change.
pub fn diff(input: &str, output: &str) -> String {
    similar::TextDiff::from_lines(input, output)
        .unified_diff()
        .context_radius(3)
        .header("input", "gunj-mesh")
        .to_string()
}
