//! `gunj-mesh check`: the CI gate. Each finding has a rule, a level and a place in the
//! input (the field it is about, else its object): objects the filter would change
//! (`GM001`), policies the config asks for that the stream lacks (`GM002`, placed at the
//! workload that needs them), flows the traffic graph needs that the filter's output denies
//! (`GM003`), requests of the config the output does not honour (`GM004`), resources that
//! contradict the config (`GM005`) and gunj-mesh's own resources that are no longer what it
//! generates (`GM006`). The formats are a text list, JSON, SARIF 2.1.0 as GitHub code
//! scanning takes it, and GitHub workflow annotations; [`diff`] writes the fix as a patch.

use super::flows::named_port;
use super::{At, Entry, EntryAction, GeneratedAction, GeneratedEntry, Report};
use crate::error::redact;
use crate::io::stream;
use crate::model::graph::{Edge, Graph, Party, Verdict};
use crate::model::stack::qualified;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How much a finding matters; `--fail-on` names the least that fails the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    /// SARIF's name of the level, which the text and JSON formats use too.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    /// The GitHub workflow command that annotates at this level.
    fn command(self) -> &'static str {
        match self {
            Level::Note => "notice",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A rule of `check`: its id, name, what it finds, how to fix it, and its usual level.
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub short: &'static str,
    pub help: &'static str,
    pub level: Level,
}

/// The rules, in id order. The README has a section for each, named `GM001 NotInMesh`
/// ([`help_uri`]).
pub const RULES: [Rule; 6] = [
    Rule {
        id: "GM001",
        name: "NotInMesh",
        short: "An observability component is not in the service mesh as the ServiceMesh config asks.",
        help: "Run the manifests through gunj-mesh (as a Helm post-renderer or KRM function), or set what the result lists.",
        level: Level::Error,
    },
    Rule {
        id: "GM002",
        name: "MissingPolicy",
        short: "A mesh policy the ServiceMesh config asks for is not in the manifests.",
        help: "Run the manifests through gunj-mesh, which generates it.",
        level: Level::Error,
    },
    Rule {
        id: "GM003",
        name: "DeniedFlow",
        short: "A flow the stack needs is denied by the policies of the manifests as gunj-mesh outputs them.",
        help: "Change or remove the resource the result names, or allow the flow; `gunj-mesh flows` shows every flow with its verdict.",
        level: Level::Error,
    },
    Rule {
        id: "GM004",
        name: "UnhonouredRequest",
        short: "The ServiceMesh config asks for something the manifests do not let gunj-mesh do.",
        help: "Add what the result says is missing to the manifests, or set the config field it names.",
        level: Level::Warning,
    },
    Rule {
        id: "GM005",
        name: "Conflict",
        short: "A resource in the manifests contradicts the ServiceMesh config.",
        help: "Set the fields the result lists, or delete the resource so that gunj-mesh generates its own.",
        level: Level::Error,
    },
    Rule {
        id: "GM006",
        name: "Drift",
        short: "A resource gunj-mesh generated is no longer what the ServiceMesh config generates.",
        help: "Run the manifests through gunj-mesh again, or set the fields the result lists; delete a resource the config no longer generates.",
        level: Level::Error,
    },
];

/// Where the README explains `rule` (a heading `GM001 NotInMesh`), in the repository
/// `Cargo.toml` names.
pub fn help_uri(rule: &Rule) -> String {
    format!(
        "{}/blob/main/README.md#{}-{}",
        env!("CARGO_PKG_REPOSITORY"),
        rule.id.to_lowercase(),
        rule.name.to_lowercase()
    )
}

/// One finding: its rule and level, what it says (a title and lines under it), where it
/// is, and what identifies it from one run to the next (its object and field, not its
/// line).
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: usize,
    pub level: Level,
    pub title: String,
    pub details: Vec<String>,
    pub at: At,
    pub identity: String,
}

impl Finding {
    fn rule(&self) -> &'static Rule {
        &RULES[self.rule]
    }
}

/// What `check` judges: the report of the filter's run, and the traffic graph with each
/// flow's verdict under the filter's output (`verdicts[i]` is `graph.edges[i]`'s).
pub struct Gate<'a> {
    pub report: &'a Report,
    pub graph: &'a Graph,
    pub verdicts: &'a [Verdict],
    /// The least level that fails the check.
    pub fail_on: Level,
    /// The manifests come from Helm 3, which never passes hooks to a post-renderer: a hook
    /// the filter would change is a note, not a failure.
    pub helm3: bool,
    /// How findings name each input file (relative to the repository's root, where CI
    /// runs); a file not in it is named as given.
    pub paths: &'a BTreeMap<String, String>,
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

    /// The report's resources that have `action`.
    fn generated(&self, action: GeneratedAction) -> Vec<&'a GeneratedEntry> {
        self.report
            .generated
            .iter()
            .filter(|g| g.action == action)
            .collect()
    }

    /// Policies the config asks for that the stream lacks.
    pub fn missing(&self) -> Vec<&'a GeneratedEntry> {
        self.generated(GeneratedAction::Generate)
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

    /// Every finding, rule by rule.
    pub fn results(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for e in self.findings() {
            let hook = self.helm3 && e.hook;
            let level = match e.action {
                _ if hook => Level::Note,
                EntryAction::Inject => Level::Error,
                _ => Level::Warning,
            };
            let mut details: Vec<String> = proposals(e)
                .into_iter()
                .map(|p| format!("set {p}"))
                .collect();
            if hook {
                details.push("a Helm hook: Helm 3 never passes hooks to a post-renderer, so it stays as it is (--helm3)".into());
            }
            let fields: Vec<&str> = e.changes.iter().map(|c| c.field.as_str()).collect();
            out.push(Finding {
                rule: 0,
                level,
                title: title(e),
                details,
                at: e.at(),
                identity: format!("{}|{}", object_key(e), fields.join(",")),
            });
        }
        for g in self.missing() {
            out.push(Finding {
                rule: 1,
                level: Level::Error,
                title: missing_title(g),
                details: Vec::new(),
                at: self.workload_of(g),
                identity: generated_key(g),
            });
        }
        for d in self.denied() {
            let at = self
                .entry_of(&d.edge.to)
                .or_else(|| self.entry_of(&d.edge.from))
                .map_or_else(|| self.anchor(), object_at);
            out.push(Finding {
                rule: 2,
                level: Level::Error,
                title: d.title(),
                details: vec![format!("needed: {}", d.edge.evidence)],
                at,
                identity: format!(
                    "{}|{}|{}",
                    d.edge.from.label(),
                    d.edge.to.label(),
                    d.edge.port
                ),
            });
        }
        for w in &self.report.warnings {
            let at = self
                .report
                .entries
                .iter()
                .find(|e| w.contains(&qualified(e.namespace.as_deref(), &e.name)))
                .map_or_else(|| self.anchor(), object_at);
            out.push(Finding {
                rule: 3,
                level: Level::Warning,
                title: w.clone(),
                details: Vec::new(),
                at,
                identity: w.clone(),
            });
        }
        for (rule, action, what) in [
            (4, GeneratedAction::Conflict, "conflict"),
            (5, GeneratedAction::Drift, "drift"),
        ] {
            for g in self.generated(action) {
                let level = if action == GeneratedAction::Conflict && g.changes.is_empty() {
                    // In the way of a generated resource, but asking for the same.
                    Level::Warning
                } else {
                    Level::Error
                };
                out.push(Finding {
                    rule,
                    level,
                    title: format!("{what}: {}", g.detail),
                    details: proposals_of(&g.changes),
                    at: g.at.clone().map_or_else(
                        || self.workload_of(g),
                        |mut at| {
                            if let Some(c) = g.changes.first() {
                                (at.line, at.column) = (c.line, c.column);
                            }
                            at
                        },
                    ),
                    identity: generated_key(g),
                });
            }
        }
        out
    }

    /// True when no finding is at `fail_on` or above.
    pub fn passes(&self) -> bool {
        self.results().iter().all(|f| f.level < self.fail_on)
    }

    /// The recognised object behind a party of the traffic graph.
    fn entry_of(&self, party: &Party) -> Option<&'a Entry> {
        let Party::Workload {
            kind,
            namespace,
            name,
        } = party
        else {
            return None;
        };
        self.report
            .entries
            .iter()
            .find(|e| &e.kind == kind && &e.namespace == namespace && &e.name == name)
    }

    /// Where a resource the stream lacks is needed: the first workload of its component in
    /// its namespace (of the namespace, for the stack's resources), else of its component.
    fn workload_of(&self, g: &GeneratedEntry) -> At {
        let entries = &self.report.entries;
        let workload = |e: &&Entry| !matches!(e.kind.as_str(), "Service" | "Namespace");
        let of = |e: &&Entry| e.component.as_deref() == Some(g.component.as_str());
        entries
            .iter()
            .filter(workload)
            .find(|e| (of(e) || g.component == "stack") && e.namespace == g.namespace)
            .or_else(|| entries.iter().filter(workload).find(of))
            .or_else(|| entries.iter().find(|e| e.namespace == g.namespace))
            .map_or_else(|| self.anchor(), object_at)
    }

    /// Where a finding about the stream as a whole points: its first recognised object,
    /// else the start of an input.
    fn anchor(&self) -> At {
        self.report
            .entries
            .first()
            .map(object_at)
            .or_else(|| self.report.generated.iter().find_map(|g| g.at.clone()))
            .unwrap_or_else(|| At {
                file: self.paths.keys().next().cloned().unwrap_or("-".into()),
                source: String::new(),
                document: 1,
                first: 1,
                indent: 0,
                line: 1,
                column: 1,
            })
    }

    /// `file:line:column` ([`Gate::path`], [`Gate::line`]).
    fn place(&self, at: &At) -> String {
        let (line, column) = self.line(at);
        format!("{}:{line}:{column}", self.path(at))
    }

    /// The line and column of `at` in the file [`Gate::path`] names: on stdin, counted from
    /// where the text of the document's origin starts (its document, or its KRM item).
    fn line(&self, at: &At) -> (usize, usize) {
        if at.file == "-" && !matches!(at.source.as_str(), "" | "-" | "<stdin>") {
            (
                at.line + 1 - at.first.min(at.line),
                at.column - at.indent.min(at.column - 1),
            )
        } else {
            (at.line, at.column)
        }
    }

    /// The file of `at` as the findings name it ([`Gate::paths`]); for stdin, the origin
    /// the document names, else `stdin`.
    fn path(&self, at: &At) -> String {
        match at.file.as_str() {
            "-" if !matches!(at.source.as_str(), "" | "-" | "<stdin>") => at.source.clone(),
            "-" => "stdin".into(),
            file => self.paths.get(file).cloned().unwrap_or_else(|| file.into()),
        }
    }

    /// One finding per line (`file:line:column: level[rule]: document N: title`, its
    /// details on the lines under it), then the totals; each line escaped
    /// ([`redact::line`]).
    pub fn text(&self) -> String {
        let results = self.results();
        let mut out = String::new();
        let mut push = |line: String| {
            out.push_str(&redact::line(&line));
            out.push('\n');
        };
        for f in &results {
            push(format!(
                "{}: {}[{}]: document {}: {}",
                self.place(&f.at),
                f.level.as_str(),
                f.rule().id,
                f.at.document,
                f.title
            ));
            for d in &f.details {
                push(format!("  {d}"));
            }
        }
        let count = |rule: usize| results.iter().filter(|f| f.rule == rule).count();
        let level = |l: Level| results.iter().filter(|f| f.level == l).count();
        push(format!(
            "{} object(s) not mesh-ready, {} recognised, {} policy resource(s) missing, {} needed flow(s) denied, {} request(s) not honoured, {} conflict(s), {} drifted resource(s)",
            count(0),
            self.report.entries.len(),
            count(1),
            count(2),
            count(3),
            count(4),
            count(5),
        ));
        push(format!(
            "{} error(s), {} warning(s), {} note(s); --fail-on {}: {}",
            level(Level::Error),
            level(Level::Warning),
            level(Level::Note),
            self.fail_on.as_str(),
            if self.passes() { "passed" } else { "failed" }
        ));
        out
    }

    /// `{"mesh", "passed", "results", "findings", "missing", "denied", "warnings",
    /// "conflicts", "drift"}`: `results` every finding with its rule, level and place; the
    /// rest the report's parts, each denied flow as the traffic graph serializes it, with
    /// its `verdict`.
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
        let results: Vec<Value> = self
            .results()
            .iter()
            .map(|f| {
                json!({
                    "rule": f.rule().id,
                    "level": f.level,
                    "message": f.title,
                    "details": f.details,
                    "file": self.path(&f.at),
                    "document": f.at.document,
                    "line": self.line(&f.at).0,
                    "column": self.line(&f.at).1,
                })
            })
            .collect();
        format!(
            "{:#}\n",
            json!({
                "mesh": self.report.mesh,
                "failOn": self.fail_on,
                "passed": self.passes(),
                "results": results,
                "findings": self.findings(),
                "missing": self.missing(),
                "denied": denied,
                "warnings": self.report.warnings,
                "conflicts": self.generated(GeneratedAction::Conflict),
                "drift": self.generated(GeneratedAction::Drift),
            })
        )
    }

    /// GitHub Actions workflow commands (`::error file=…,line=…,col=…::message`, `::warning`,
    /// `::notice`). Each line of a message is escaped ([`redact::line`]), then the whole as
    /// the commands require.
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
        let mut out = String::new();
        for f in self.results() {
            let message = std::iter::once(f.title.clone())
                .chain(f.details.iter().cloned())
                .collect::<Vec<_>>()
                .join("\n");
            out.push_str(&format!(
                "::{} file={},line={},col={},title={}::{}\n",
                f.level.command(),
                prop(&self.path(&f.at)),
                self.line(&f.at).0,
                self.line(&f.at).1,
                prop(&format!("gunj-mesh {} {}", f.rule().id, f.rule().name)),
                escape(&message)
            ));
        }
        out
    }

    /// A SARIF 2.1.0 log as GitHub code scanning takes it: every result has a physical
    /// location, a repository-relative URI (under `%SRCROOT%`) when the file is under the
    /// root, and a partial fingerprint; every rule a `helpUri` into the README.
    pub fn sarif(&self) -> String {
        // Objects of the same identity in one file (examples of a kind, unnamespaced) are
        // told apart by their order.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let results: Vec<Value> = self
            .results()
            .iter()
            .map(|f| {
                let path = self.path(&f.at);
                let artifact = if path.starts_with('/') {
                    json!({"uri": format!("file://{}", uri_escape(&path))})
                } else {
                    json!({"uri": uri_escape(&path), "uriBaseId": "%SRCROOT%"})
                };
                let text = std::iter::once(f.title.clone())
                    .chain(f.details.iter().cloned())
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut key = format!("{}|{path}|{}", f.rule().id, f.identity);
                let n = seen.entry(key.clone()).or_default();
                if *n > 0 {
                    key.push_str(&format!("|{n}"));
                }
                *n += 1;
                json!({
                    "ruleId": f.rule().id,
                    "ruleIndex": f.rule,
                    "level": f.level.as_str(),
                    "message": {"text": redact::line(&text)},
                    "locations": [{"physicalLocation": {
                        "artifactLocation": artifact,
                        "region": {"startLine": self.line(&f.at).0.max(1), "startColumn": self.line(&f.at).1.max(1)},
                    }}],
                    "partialFingerprints": {
                        "gunjMeshFinding/v1": fingerprint(&key),
                    },
                    "properties": {"document": f.at.document},
                })
            })
            .collect();
        let rules: Vec<Value> = RULES
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "name": r.name,
                    "shortDescription": {"text": r.short},
                    "fullDescription": {"text": r.short},
                    "help": {"text": r.help},
                    "helpUri": help_uri(r),
                    "defaultConfiguration": {"level": r.level.as_str()},
                    "properties": {"tags": ["kubernetes", "service-mesh"]},
                })
            })
            .collect();
        let log = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "gunj-mesh",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }},
                "results": results,
            }],
        });
        format!("{log:#}\n")
    }
}

/// `kind|namespace|name`: an object's identity in a fingerprint.
fn identity(kind: &str, namespace: Option<&str>, name: &str) -> String {
    format!("{kind}|{}|{name}", namespace.unwrap_or(""))
}

/// The identity of an entry's object.
fn object_key(e: &Entry) -> String {
    identity(&e.kind, e.namespace.as_deref(), &e.name)
}

/// The identity of a generated resource.
fn generated_key(g: &GeneratedEntry) -> String {
    identity(&g.kind, g.namespace.as_deref(), &g.name)
}

/// Where an entry's object starts.
fn object_at(e: &Entry) -> At {
    At {
        file: e.file.clone(),
        source: e.source.clone(),
        document: e.document,
        first: e.first,
        indent: e.indent,
        line: e.line,
        column: e.column,
    }
}

/// A stable hex digest of `key` (64-bit FNV-1a), for SARIF `partialFingerprints`: the
/// same finding keeps it across runs and line moves.
fn fingerprint(key: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for byte in key.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    format!("{hash:016x}")
}

/// A path as a URI reference: every byte but unreserved characters and `/` percent-encoded
/// (RFC 3986, 2.3).
fn uri_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

/// What to set or delete, one line per field, with the line it is on:
/// `set spec.mtls.mode = "STRICT" (now "PERMISSIVE", line 9)`, `delete spec.foo (line 12)`.
/// A value longer than [`SHOWN`] characters (a dashboard's JSON) is cut.
fn proposals_of(changes: &[super::Change]) -> Vec<String> {
    /// The most characters of a value shown.
    const SHOWN: usize = 80;
    let short = |v: &Value| {
        let text = v.to_string();
        match text.char_indices().nth(SHOWN) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text,
        }
    };
    changes
        .iter()
        .map(|c| match (&c.current, &c.proposed) {
            (_, Value::Null) => format!("delete {} (line {})", c.field, c.line),
            (Some(now), to) => format!(
                "set {} = {} (now {}, line {})",
                c.field,
                short(to),
                short(now),
                c.line
            ),
            (None, to) => format!("set {} = {} (line {})", c.field, short(to), c.line),
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

/// One input file as it is and as the filter would write it.
pub struct FileFix<'t> {
    /// The path the patch names (relative to the repository's root).
    pub path: String,
    pub old: &'t str,
    pub new: &'t str,
    /// The file does not exist yet (`old` is empty).
    pub created: bool,
}

/// The fix as a patch `git apply` and `patch -p1` take: a unified diff per file that
/// changes, under a `diff --git a/… b/…` header (a new file from `/dev/null`), between the
/// texts with their Secrets masked line for line ([`redact::document`]). Each line is
/// escaped ([`redact::line`]) but for its tabs, which YAML values may hold.
pub fn diff(files: &[FileFix]) -> String {
    let mut out = String::new();
    for f in files {
        let (old, new) = (masked(f.old), masked(f.new));
        if old == new {
            continue;
        }
        let path = &f.path;
        out.push_str(&format!("diff --git a/{path} b/{path}\n"));
        let from = if f.created {
            out.push_str("new file mode 100644\n");
            "/dev/null".to_string()
        } else {
            format!("a/{path}")
        };
        let diff = similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(&from, &format!("b/{path}"))
            .to_string();
        for l in diff.split_inclusive('\n') {
            let body = l.trim_end_matches(['\n', '\r']);
            let escaped: Vec<_> = body.split('\t').map(redact::line).collect();
            out.push_str(&escaped.join("\t"));
            out.push_str(&l[body.len()..]);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A drifted dashboard's JSON is cut in the finding, the field and line kept.
    #[test]
    fn long_values_are_cut_in_proposals() {
        let change = super::super::Change {
            field: "data[\"x.json\"]".into(),
            current: Some(Value::from("a".repeat(500))),
            proposed: Value::from("b".repeat(500)),
            line: 7,
            column: 3,
            at: 0,
        };
        let [line] = &proposals_of(&[change])[..] else {
            panic!("one line");
        };
        assert_eq!(
            line,
            &format!(
                "set data[\"x.json\"] = \"{}… (now \"{}…, line 7)",
                "b".repeat(79),
                "a".repeat(79)
            )
        );
    }
}
