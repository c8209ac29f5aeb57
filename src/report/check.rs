//! `gunj-mesh check`: the CI gate. The findings are objects the filter would change
//! (`GM001`), policies the config asks for that the stream lacks (`GM002`), flows the
//! traffic graph needs that the filter's output denies (`GM003`) and requests of the config
//! the output does not honour (`GM004`); the formats are a text list, JSON, SARIF 2.1.0 and
//! GitHub workflow annotations.

use super::flows::named_port;
use super::{Entry, EntryAction, GeneratedAction, GeneratedEntry, Report};
use crate::error::redact;
use crate::io::stream;
use crate::model::graph::{Edge, Graph, Party, Verdict};
use serde_json::{Value, json};

/// What `check` judges: the report of the filter's run, and the traffic graph with each
/// flow's verdict under the filter's output (`verdicts[i]` is `graph.edges[i]`'s).
pub struct Gate<'a> {
    pub report: &'a Report,
    pub graph: &'a Graph,
    pub verdicts: &'a [Verdict],
}

/// A flow the output denies, with the resource and rule that deny it.
pub struct Denied<'a> {
    pub edge: &'a Edge,
    pub resource: &'a str,
    pub rule: &'a str,
}

impl Denied<'_> {
    /// `flow from kube-apiserver to deployment monitoring/op, port 9443/tls (webhook), is
    /// denied by PeerAuthentication monitoring/default (ISTIO-PA-5: …)`.
    fn title(&self) -> String {
        format!(
            "flow from {} to {}, port {}, is denied by {} ({})",
            self.edge.from.label(),
            self.edge.to.label(),
            named_port(self.edge),
            self.resource,
            self.rule
        )
    }
}

impl<'a> Gate<'a> {
    /// Objects that are not mesh-ready: the filter would change them.
    pub fn findings(&self) -> Vec<&'a Entry> {
        self.report.entries.iter().filter(|e| e.changed).collect()
    }

    /// Policies the config asks for that the stream lacks.
    pub fn missing(&self) -> Vec<&'a GeneratedEntry> {
        self.report
            .generated
            .iter()
            .filter(|g| g.action == GeneratedAction::Generate)
            .collect()
    }

    /// The flows of the traffic graph the filter's output denies, in graph order.
    pub fn denied(&self) -> Vec<Denied<'a>> {
        assert_eq!(
            self.graph.edges.len(),
            self.verdicts.len(),
            "one verdict per edge of the traffic graph"
        );
        self.graph
            .edges
            .iter()
            .zip(self.verdicts)
            .filter_map(|(edge, v)| match v {
                Verdict::Denied { resource, rule } => Some(Denied {
                    edge,
                    resource,
                    rule,
                }),
                _ => None,
            })
            .collect()
    }

    /// True when the stream is mesh-ready: nothing to change or add, no needed flow
    /// denied, and every request of the config honoured.
    pub fn passes(&self) -> bool {
        self.findings().is_empty()
            && self.missing().is_empty()
            && self.denied().is_empty()
            && self.report.warnings.is_empty()
    }

    /// Where the flow's target is in the input, when it is a recognised object.
    fn target(&self, d: &Denied) -> Option<&'a Entry> {
        let Party::Workload {
            kind,
            namespace,
            name,
        } = &d.edge.to
        else {
            return None;
        };
        self.report
            .entries
            .iter()
            .find(|e| &e.kind == kind && &e.namespace == namespace && &e.name == name)
    }

    /// One finding per line (its fields set on the lines under it), then the totals; each
    /// line escaped ([`redact::line`]).
    pub fn text(&self) -> String {
        let found = self.findings();
        let mut out = String::new();
        let mut push = |line: String| {
            out.push_str(&redact::line(&line));
            out.push('\n');
        };
        for e in &found {
            push(format!("{}: document {}: {}", at(e), e.document, title(e)));
            for p in proposals(e) {
                push(format!("  set {p}"));
            }
        }
        let missing = self.missing();
        for g in &missing {
            push(missing_title(g));
        }
        let denied = self.denied();
        for d in &denied {
            match self.target(d) {
                Some(e) => push(format!("{}: {}", at(e), d.title())),
                None => push(d.title()),
            }
            push(format!("  needed: {}", d.edge.evidence));
        }
        for w in &self.report.warnings {
            push(format!("warning: {w}"));
        }
        push(format!(
            "{} object(s) not mesh-ready, {} recognised, {} policy resource(s) missing, {} needed flow(s) denied, {} request(s) not honoured",
            found.len(),
            self.report.entries.len(),
            missing.len(),
            denied.len(),
            self.report.warnings.len()
        ));
        out
    }

    /// `{"mesh", "findings", "missing", "denied", "warnings"}`: each denied flow as the
    /// traffic graph serializes it, with its `verdict`.
    pub fn json(&self) -> String {
        let denied: Vec<Value> = self
            .denied()
            .iter()
            .map(|d| {
                let mut flow = json!(d.edge);
                flow["verdict"] =
                    json!({"verdict": "denied", "resource": d.resource, "rule": d.rule});
                flow
            })
            .collect();
        format!(
            "{:#}\n",
            json!({
                "mesh": self.report.mesh,
                "findings": self.findings(),
                "missing": self.missing(),
                "denied": denied,
                "warnings": self.report.warnings,
            })
        )
    }

    /// GitHub Actions workflow commands (`::error file=…,line=…::message`). Each line of
    /// a message is escaped ([`redact::line`]), then the whole as the commands require.
    pub fn github(&self) -> String {
        let escape = |s: &str| {
            let lines: Vec<_> = s.split('\n').map(redact::line).collect();
            lines
                .join("\n")
                .replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let prop = |s: &str| {
            escape(&redact::line(s))
                .replace(':', "%3A")
                .replace(',', "%2C")
        };
        let annotation = |entry: Option<&Entry>, message: String| {
            let place = entry
                .map(|e| {
                    let (file, line) = location(e);
                    let line = line.map(|l| format!(",line={l}")).unwrap_or_default();
                    format!("file={}{line},", prop(&file))
                })
                .unwrap_or_default();
            format!("::error {place}title=gunj-mesh::{}\n", escape(&message))
        };
        let mut out = String::new();
        for e in self.findings() {
            let message = std::iter::once(title(e))
                .chain(proposals(e).into_iter().map(|p| format!("set {p}")))
                .collect::<Vec<_>>()
                .join("\n");
            out.push_str(&annotation(Some(e), message));
        }
        for g in self.missing() {
            out.push_str(&annotation(None, missing_title(g)));
        }
        for d in self.denied() {
            let message = format!("{}\nneeded: {}", d.title(), d.edge.evidence);
            out.push_str(&annotation(self.target(&d), message));
        }
        for w in &self.report.warnings {
            out.push_str(&annotation(None, format!("warning: {w}")));
        }
        out
    }

    /// A SARIF 2.1.0 log with one result per finding.
    pub fn sarif(&self) -> String {
        let physical = |e: &Entry| {
            let (file, line) = location(e);
            let mut physical = json!({"artifactLocation": {"uri": file}});
            if let Some(line) = line {
                physical["region"] = json!({"startLine": line});
            }
            json!([{"physicalLocation": physical}])
        };
        let mut results: Vec<Value> = Vec::new();
        for e in self.findings() {
            let text = std::iter::once(title(e))
                .chain(proposals(e).into_iter().map(|p| format!("set {p}")))
                .collect::<Vec<_>>()
                .join("; ");
            results.push(json!({
                "ruleId": "GM001",
                "level": "error",
                "message": {"text": text},
                "locations": physical(e),
            }));
        }
        for g in self.missing() {
            results.push(json!({
                "ruleId": "GM002",
                "level": "error",
                "message": {"text": missing_title(g)},
            }));
        }
        for d in self.denied() {
            let mut result = json!({
                "ruleId": "GM003",
                "level": "error",
                "message": {"text": format!("{}; needed: {}", d.title(), d.edge.evidence)},
            });
            if let Some(e) = self.target(&d) {
                result["locations"] = physical(e);
            }
            results.push(result);
        }
        for w in &self.report.warnings {
            results.push(json!({
                "ruleId": "GM004",
                "level": "error",
                "message": {"text": w},
            }));
        }
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
                    }, {
                        "id": "GM003",
                        "name": "DeniedFlow",
                        "shortDescription": {"text": "A flow the stack needs is denied by the policies of the manifests as gunj-mesh outputs them."},
                        "help": {"text": "Change or remove the resource the result names, or allow the flow; `gunj-mesh flows` shows every flow with its verdict."},
                    }, {
                        "id": "GM004",
                        "name": "UnhonouredRequest",
                        "shortDescription": {"text": "The ServiceMesh config asks for something the manifests do not let gunj-mesh do."},
                        "help": {"text": "Add what the result says is missing to the manifests, or set the config field it names."},
                    }],
                }},
                "results": results,
            }],
        });
        format!("{log:#}\n")
    }
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

/// `file:line`, or the chart path.
fn at(e: &Entry) -> String {
    let (file, line) = location(e);
    line.map(|l| format!("{file}:{l}")).unwrap_or(file)
}

/// A unified diff of what the filter would change, between the input and the output with
/// their Secrets masked line for line ([`redact::document`]), each line escaped.
pub fn diff(input: &str, output: &str) -> String {
    let (input, output) = (masked(input), masked(output));
    let diff = similar::TextDiff::from_lines(&input, &output)
        .unified_diff()
        .context_radius(3)
        .header("input", "gunj-mesh")
        .to_string();
    diff.split_inclusive('\n')
        .map(|l| {
            let body = l.trim_end_matches(['\n', '\r']);
            format!("{}{}", redact::line(body), &l[body.len()..])
        })
        .collect()
}

/// A stream's text with every document's Secrets masked.
fn masked(text: &str) -> String {
    stream::split(0, text)
        .iter()
        .map(|doc| {
            let head = &doc.text[..doc.parse_from];
            format!("{head}{}", redact::document(doc.body()))
        })
        .collect()
}
