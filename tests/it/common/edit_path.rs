//! The edit path's property, over pod templates built from arbitrary bytes: flow and block
//! collections (trailing commas among them), anchors, aliases and merge keys, tags, YAML 1.1
//! scalars (octal modes, `yes`, `on`), block scalars, comments, existing mesh settings and
//! opt-outs. Whatever the template, the filter's output parses, means to a YAML 1.1 reader
//! what the input meant except for the fields the report says it sets (which hold the
//! values it lists), and a second run changes nothing. It may instead refuse, naming the
//! document and line, only a splice that would change what an alias stands for.
//!
//! Shared by `tests/it/edits.rs` (a proptest) and the fuzz target `edit`.

use gunj_mesh::internals::yaml::{Kind, Limits, Node, Style, parse};
use gunj_mesh::{Input, MeshType, Options, run};
use std::collections::BTreeMap;

/// Choices read from the front of the bytes, the first option once they run out.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn pick<'s>(&mut self, options: &[&'s str]) -> &'s str {
        options[self.index(options.len())]
    }

    fn index(&mut self, n: usize) -> usize {
        let Some((&first, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        usize::from(first) % n
    }

    fn flag(&mut self) -> bool {
        self.index(2) == 1
    }
}

/// Values a YAML 1.1 reader resolves differently from a YAML 1.2 one, or that only a tag,
/// a style or a trailing comma keeps what they are.
const ODD: [&str; 16] = [
    "0644",
    "0o644",
    "!!int \"3\"",
    "yes",
    "on",
    "~",
    "1e3",
    "2024-01-01",
    "!custom x",
    "\"0400\"",
    "'it''s'",
    "[--a, \"b\",]",
    "{a: b,}",
    "|-\n                two\n                lines",
    "0x1F",
    "!!str true",
];

/// Existing pod labels or annotations, at eight spaces (`inline` for a flow mapping).
fn entries(c: &mut Choices, inline: bool) -> String {
    let pool = [
        ("app.kubernetes.io/name", "grafana"),
        ("tier", "web"),
        ("sidecar.istio.io/inject", "\"true\""),
        ("sidecar.istio.io/inject", "\"False\""),
        ("linkerd.io/inject", "enabled"),
        ("linkerd.io/inject", "disabled"),
        (
            "proxy.istio.io/config",
            "|\n          holdApplicationUntilProxyStarts: true",
        ),
        ("config.linkerd.io/proxy-cpu-request", "10m"),
        ("note", "!!str yes"),
        ("octal", "\"0644\""),
    ];
    let mut out: Vec<(&str, &str)> = Vec::new();
    for _ in 0..c.index(4) {
        let (k, v) = pool[c.index(pool.len())];
        if out.iter().all(|(o, _)| *o != k) && !(inline && v.contains('\n')) {
            out.push((k, v));
        }
    }
    if inline {
        let items: Vec<String> = out.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let comma = if c.flag() && !items.is_empty() {
            ","
        } else {
            ""
        };
        format!("{{{}{comma}}}", items.join(", "))
    } else {
        out.iter()
            .map(|(k, v)| {
                let comment = if c.flag() { "  # kept" } else { "" };
                format!("        {k}: {v}{comment}\n")
            })
            .collect()
    }
}

/// A labels or annotations field of the pod metadata, at six spaces.
fn field(c: &mut Choices, name: &str, anchored: bool) -> String {
    match c.index(8) {
        0 => String::new(),
        1 => format!("      {name}:\n"),
        2 => format!("      {name}: {{}}\n"),
        3 => format!("      {name}: {}\n", entries(c, true)),
        4 if anchored => format!("      {name}: *labels\n"),
        5 if anchored => format!("      {name}:\n        <<: *labels\n{}", entries(c, false)),
        6 => format!("      {name}: ~\n"),
        _ => format!("      {name}:\n        # existing\n{}", entries(c, false)),
    }
}

/// A workload built from `bytes`, recognised as Grafana by its image.
pub fn workload(bytes: &[u8]) -> String {
    let c = &mut Choices(bytes);
    let kind = c.pick(&["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]);
    let anchored = c.flag();
    let labels = if anchored {
        "  labels: &labels\n    app.kubernetes.io/name: grafana\n"
    } else {
        "  labels:\n    app.kubernetes.io/name: grafana\n"
    };
    let selector = if anchored {
        "  selector:\n    matchLabels: *labels\n"
    } else {
        "  selector:\n    matchLabels:\n      app.kubernetes.io/name: grafana\n"
    };
    let metadata = match c.index(6) {
        0 => String::new(),
        1 => "    metadata:\n".to_string(),
        2 => format!("    metadata: {{labels: {}}}\n", entries(c, true)),
        3 if anchored => "    metadata:\n      <<: {labels: *labels}\n".to_string(),
        _ => format!(
            "    metadata:\n{}{}",
            field(c, "labels", anchored),
            field(c, "annotations", anchored)
        ),
    };
    let host = c.pick(&[
        "",
        "      hostNetwork: no\n",
        "      hostNetwork: !!bool false\n",
    ]);
    let containers = match c.index(3) {
        0 => "      containers:\n      - name: grafana\n        image: grafana/grafana:11.0.0\n"
            .to_string(),
        1 => "      containers: [{name: grafana, image: grafana/grafana:11.0.0},]\n".to_string(),
        _ => format!(
            "      containers:\n        - name: grafana\n          image: grafana/grafana:11.0.0\n          env:\n          - name: A\n            value: {}\n",
            c.pick(&ODD)
        ),
    };
    let volumes = format!(
        "      volumes:\n      - name: config\n        secret:\n          secretName: grafana\n          defaultMode: {}\n",
        c.pick(&["0644", "0o644", "420", "!!int 0644"])
    );
    let template = format!("  template:\n{metadata}    spec:\n{host}{containers}{volumes}");
    let extra = format!("  x-odd: {}\n", c.pick(&ODD));
    let spec = match kind {
        "CronJob" => format!(
            "spec:\n  schedule: \"@daily\"\n  jobTemplate:\n    spec:\n{}",
            template
                .lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        ),
        "Job" => format!("spec:\n{template}"),
        _ => format!("spec:\n  replicas: {}\n{selector}{template}", c.pick(&ODD)),
    };
    let api = if kind.ends_with("Job") {
        "batch/v1"
    } else {
        "apps/v1"
    };
    format!(
        "# Source: grafana/templates/{}.yaml\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: grafana\n  namespace: monitoring\n{labels}{extra}{spec}",
        kind.to_lowercase()
    )
}

/// A document as a YAML 1.1 reader sees it: merge keys applied, aliases followed, and each
/// scalar's text with its tag and whether it is plain (which decides how it resolves).
#[derive(Debug, Clone, PartialEq)]
enum Canon {
    Null,
    Scalar(String, bool, String),
    Map(BTreeMap<String, Canon>),
    Seq(Vec<Canon>),
    /// A field the filter says it sets.
    Set,
}

fn canon(node: &Node) -> Canon {
    if node.is_null() {
        return Canon::Null;
    }
    match &node.resolved().kind {
        Kind::Scalar { value, style, tag } => Canon::Scalar(
            value.to_string(),
            *style == Style::Plain,
            format!("{tag:?}"),
        ),
        Kind::Map { .. } => Canon::Map(
            node.merged_entries()
                .into_iter()
                .map(|(k, v)| (k.scalar().unwrap_or_default().to_string(), canon(v)))
                .collect(),
        ),
        Kind::Seq { items, .. } => Canon::Seq(items.iter().map(canon).collect()),
        Kind::Alias(_) => unreachable!("resolved"),
    }
}

enum Step {
    Key(String),
    Index(usize),
}

/// A report field (`spec.template.metadata.labels["sidecar.istio.io/inject"]`) as steps.
fn steps(field: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut rest = field;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("[\"") {
            let mut keys = serde_json::Deserializer::from_str(&rest[1..]).into_iter::<String>();
            out.push(Step::Key(keys.next().unwrap().unwrap()));
            rest = &r[keys.byte_offset()..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap();
            out.push(Step::Index(r[..end].parse().unwrap()));
            rest = &r[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            out.push(Step::Key(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    out
}

/// Marks the field at `steps` of `tree` as set, creating the mappings on the way, as the
/// filter does, when `create`.
fn mark(tree: &mut Canon, steps: &[Step], create: bool) {
    let Some((step, rest)) = steps.split_first() else {
        *tree = Canon::Set;
        return;
    };
    match step {
        Step::Key(key) => {
            if create && matches!(tree, Canon::Null) {
                *tree = Canon::Map(BTreeMap::new());
            }
            let Canon::Map(map) = tree else {
                panic!("{key}: not a mapping: {tree:?}")
            };
            if create {
                map.entry(key.clone()).or_insert(Canon::Null);
            }
            mark(map.get_mut(key).unwrap(), rest, create);
        }
        Step::Index(i) => {
            let Canon::Seq(items) = tree else {
                panic!("[{i}]: not a sequence: {tree:?}")
            };
            mark(&mut items[*i], rest, create);
        }
    }
}

fn at<'n, 'a>(node: &'n Node<'a>, steps: &[Step]) -> &'n Node<'a> {
    steps.iter().fold(node, |n, step| match step {
        Step::Key(k) => n.get(k).unwrap_or_else(|| panic!("no {k}")),
        Step::Index(i) => &n.items().unwrap()[*i],
    })
}

fn options(mesh: MeshType) -> Options {
    Options {
        mesh: Some(mesh),
        list_changes: true,
        ..Options::default()
    }
}

/// The property, for the workload `bytes` make, in both meshes; panics with what broke.
pub fn holds(bytes: &[u8]) {
    let text = workload(bytes);
    let Ok(Some(before)) = parse(&text, Limits::default()) else {
        return;
    };
    for mesh in [MeshType::Istio, MeshType::Linkerd] {
        let inputs = [Input::new("-", text.clone())];
        let outcome = match run(&inputs, &options(mesh)) {
            Ok(outcome) => outcome,
            // Only a splice that would change what an alias stands for may be refused.
            Err(f) => {
                assert!(
                    text.contains('*') && f.message.contains("cannot make its edit here"),
                    "{mesh:?}: {f}\n{text}"
                );
                assert!(
                    f.document == Some(1) && f.line.is_some() && f.column.is_some(),
                    "a failure without its place: {f}\n{text}"
                );
                continue;
            }
        };
        let output = outcome.output.text();
        let what = format!("{mesh:?}:\n{text}\n--- became:\n{output}");
        let first = output.split("\n---\n").next().unwrap();
        let after = parse(first, Limits::default())
            .unwrap_or_else(|e| panic!("the output does not parse ({e}): {what}"))
            .unwrap();
        let (mut expected, mut got) = (canon(&before), canon(&after));
        let changes = outcome
            .report
            .entries
            .iter()
            .filter(|e| e.document == 1)
            .flat_map(|e| &e.changes);
        for change in changes {
            let steps = steps(&change.field);
            let value = at(&after, &steps).to_json();
            assert_eq!(value, change.proposed, "{}: {what}", change.field);
            mark(&mut expected, &steps, true);
            mark(&mut got, &steps, false);
        }
        assert_eq!(got, expected, "the output means something else: {what}");
        let again = [Input::new("-", output.clone())];
        let second = run(&again, &options(mesh))
            .unwrap_or_else(|f| panic!("a second run fails ({f}): {what}"));
        assert_eq!(
            second.output.text(),
            output,
            "a second run changes it: {what}"
        );
    }
}
