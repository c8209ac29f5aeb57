//! The traffic graph and its verdicts for people and tools: an aligned table, JSON, Graphviz
//! DOT, and an SVG picture drawn here (no Graphviz at run time).
//!
//! Every function takes the graph and one verdict per edge, in edge order (`verdicts[i]` is
//! `graph.edges[i]`'s), and panics when the two lengths differ. Output follows the order of
//! the input: the same graph gives the same bytes.

use crate::error::redact;
use crate::model::graph::{Edge, Found, Graph, Node, Party, Protocol, Verdict};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How many flows have each verdict, and how many were read or inferred.
#[derive(Debug, Default, Serialize)]
struct Totals {
    flows: usize,
    allowed: usize,
    denied: usize,
    unknown: usize,
    read: usize,
    configured: usize,
    inferred: usize,
}

impl Totals {
    fn of(flows: &[(&Edge, &Verdict)]) -> Totals {
        let mut t = Totals {
            flows: flows.len(),
            ..Totals::default()
        };
        for (e, v) in flows {
            match v {
                Verdict::Allowed { .. } => t.allowed += 1,
                Verdict::Denied { .. } => t.denied += 1,
                Verdict::Unknown { .. } => t.unknown += 1,
            }
            match e.found {
                Found::Read => t.read += 1,
                Found::Configured => t.configured += 1,
                Found::Inferred => t.inferred += 1,
            }
        }
        t
    }

    /// `9 flows: 6 allowed, 1 denied, 2 unknown (7 read from the stream, 2 inferred)`; the
    /// configured ones are counted when there are some.
    fn line(&self) -> String {
        let configured = if self.configured > 0 {
            format!(", {} configured", self.configured)
        } else {
            String::new()
        };
        format!(
            "{} flow{}: {} allowed, {} denied, {} unknown ({} read from the stream{configured}, {} inferred)",
            self.flows,
            if self.flows == 1 { "" } else { "s" },
            self.allowed,
            self.denied,
            self.unknown,
            self.read,
            self.inferred
        )
    }
}

/// `traffic graph: 9 flows (7 read, 2 inferred, 0 configured)`: the stderr summary's line.
pub fn counts(graph: &Graph) -> String {
    let count = |found: Found| graph.edges.iter().filter(|e| e.found == found).count();
    let n = graph.edges.len();
    format!(
        "traffic graph: {n} flow{} ({} read, {} inferred, {} configured)",
        if n == 1 { "" } else { "s" },
        count(Found::Read),
        count(Found::Inferred),
        count(Found::Configured)
    )
}

/// The edges paired with their verdicts.
fn flows<'a>(graph: &'a Graph, verdicts: &'a [Verdict]) -> Vec<(&'a Edge, &'a Verdict)> {
    assert_eq!(
        graph.edges.len(),
        verdicts.len(),
        "one verdict per edge of the traffic graph"
    );
    graph.edges.iter().zip(verdicts).collect()
}

fn protocol(p: Protocol) -> &'static str {
    match p {
        Protocol::Http => "http",
        Protocol::Grpc => "grpc",
        Protocol::Tls => "tls",
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

fn found(f: Found) -> &'static str {
    match f {
        Found::Read => "read",
        Found::Configured => "configured",
        Found::Inferred => "inferred",
    }
}

/// `9443/tls`.
fn port(e: &Edge) -> String {
    format!("{}/{}", e.port, protocol(e.protocol))
}

/// `9443/tls (webhook)`: the port and its name, when it has one.
pub(super) fn named_port(e: &Edge) -> String {
    match &e.port_name {
        Some(name) => format!("{} ({name})", port(e)),
        None => port(e),
    }
}

/// `allowed` (with `by`: `allowed by NetworkPolicy a/b; no AuthorizationPolicy applies`),
/// `denied by RESOURCE (RULE)`, `unknown: WHY`.
fn verdict_text(v: &Verdict, by: bool) -> String {
    match v {
        Verdict::Allowed { by: what } if by && !what.is_empty() => {
            format!("allowed by {}", what.join("; "))
        }
        Verdict::Allowed { .. } => "allowed".into(),
        Verdict::Denied { resource, rule } => format!("denied by {resource} ({rule})"),
        Verdict::Unknown { why } => format!("unknown: {why}"),
    }
}

/// One line per flow, in edge order: FROM, TO, PORT, with `wide` FOUND and EVIDENCE, and
/// VERDICT last (with `wide`, what allows an allowed flow); then the totals line. Each
/// cell is escaped ([`redact::line`]).
pub fn table(graph: &Graph, verdicts: &[Verdict], wide: bool) -> String {
    let flows = flows(graph, verdicts);
    let mut header = vec!["FROM", "TO", "PORT"];
    if wide {
        header.extend(["FOUND", "EVIDENCE"]);
    }
    header.push("VERDICT");
    let mut rows: Vec<Vec<String>> = vec![header.into_iter().map(String::from).collect()];
    for (e, v) in &flows {
        let mut row = vec![e.from.label(), e.to.label(), named_port(e)];
        if wide {
            row.extend([found(e.found).to_string(), e.evidence.clone()]);
        }
        row.push(verdict_text(v, wide));
        rows.push(row.iter().map(|c| redact::line(c).into_owned()).collect());
    }
    let last = rows[0].len() - 1;
    let widths: Vec<usize> = (0..last)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, w) in widths.iter().enumerate() {
            out.push_str(&format!("{:w$}  ", r[c], w = w));
        }
        out.push_str(&r[last]);
        out.push('\n');
    }
    out.push_str(&Totals::of(&flows).line());
    out.push('\n');
    out
}

/// `{"nodes": [...], "flows": [...], "totals": {...}}`: the nodes and edges as they
/// serialize, each flow with its verdict under `verdict`, and the counts of the totals line.
pub fn json(graph: &Graph, verdicts: &[Verdict]) -> Value {
    let flows = flows(graph, verdicts);
    let list: Vec<Value> = flows
        .iter()
        .map(|(e, v)| {
            let mut flow = json!(e);
            flow["verdict"] = json!(v);
            flow
        })
        .collect();
    json!({"nodes": graph.nodes, "flows": list, "totals": Totals::of(&flows)})
}

/// Where a party is drawn: with the callers outside the mesh, in its namespace, or in the
/// release namespace (a workload without one). Ordered as drawn.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Outside,
    Namespace(String),
    Release,
}

impl Group {
    fn of(party: &Party) -> Group {
        match party {
            Party::Workload {
                namespace: Some(ns),
                ..
            } => Group::Namespace(ns.clone()),
            Party::Workload {
                namespace: None, ..
            } => Group::Release,
            _ => Group::Outside,
        }
    }

    fn label(&self) -> &str {
        match self {
            Group::Outside => "outside the mesh",
            Group::Namespace(ns) => ns,
            Group::Release => "(release namespace)",
        }
    }

    /// The DOT cluster's name. A namespace's name is prefixed so that no namespace (such as
    /// one named `outside`) shares a cluster with another group.
    fn cluster(&self) -> String {
        match self {
            Group::Outside => "cluster_outside".into(),
            Group::Namespace(ns) => format!("cluster_ns_{ns}"),
            Group::Release => "cluster_release".into(),
        }
    }
}

/// The graph's nodes, each party once, then the parties only edges name (as nodes not in
/// the mesh); and each party's index in that list.
fn nodes(graph: &Graph) -> (Vec<Node>, BTreeMap<&Party, usize>) {
    let mut list = Vec::new();
    let mut index = BTreeMap::new();
    let known = graph
        .nodes
        .iter()
        .map(|n| (&n.party, n.component.clone(), n.in_mesh));
    let named = graph
        .edges
        .iter()
        .flat_map(|e| [&e.from, &e.to])
        .map(|p| (p, None, false));
    for (party, component, in_mesh) in known.chain(named) {
        index.entry(party).or_insert_with(|| {
            list.push(Node {
                party: party.clone(),
                component,
                in_mesh,
            });
            list.len() - 1
        });
    }
    (list, index)
}

/// The nodes of each group, in node order.
fn groups(nodes: &[Node]) -> BTreeMap<Group, Vec<usize>> {
    let mut groups: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        groups.entry(Group::of(&n.party)).or_default().push(i);
    }
    groups
}

/// What a node's box shows: the workload's name, component and kind, or the caller.
fn node_lines(node: &Node) -> Vec<String> {
    match &node.party {
        Party::Workload { kind, name, .. } => {
            let mut lines = vec![name.clone()];
            lines.extend(node.component.clone());
            lines.push(kind.to_lowercase());
            lines
        }
        Party::Ingress {
            namespace,
            service_account,
        } => vec!["ingress".into(), format!("{namespace}/{service_account}")],
        party => vec![party.label()],
    }
}

/// A node's tooltip.
fn node_title(node: &Node) -> String {
    let mut title = node.party.label();
    if let Some(c) = &node.component {
        title.push_str(&format!("\ncomponent: {c}"));
    }
    title.push_str(if node.in_mesh {
        "\nin the mesh"
    } else {
        "\nnot in the mesh"
    });
    title
}

/// A flow's tooltip: the parties, the port, the full verdict and the evidence.
fn flow_title(e: &Edge, v: &Verdict) -> String {
    let mut title = format!(
        "{} → {} on {}: {}\n{}: {}",
        e.from.label(),
        e.to.label(),
        named_port(e),
        verdict_text(v, true),
        match e.found {
            Found::Read => "read from the stream",
            Found::Configured => "configured",
            Found::Inferred => "inferred",
        },
        e.evidence
    );
    if let Some(path) = &e.probe_path {
        title.push_str(&format!("\nprobe: GET {path}"));
    }
    title
}

/// How bad a verdict is: a path that stands for several flows shows the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    Allowed,
    Unknown,
    Denied,
}

impl Severity {
    fn of(v: &Verdict) -> Severity {
        match v {
            Verdict::Allowed { .. } => Severity::Allowed,
            Verdict::Unknown { .. } => Severity::Unknown,
            Verdict::Denied { .. } => Severity::Denied,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Severity::Allowed => "allowed",
            Severity::Unknown => "unknown",
            Severity::Denied => "denied",
        }
    }

    fn color(self) -> &'static str {
        match self {
            Severity::Allowed => "#16a34a",
            Severity::Unknown => "#d97706",
            Severity::Denied => "#dc2626",
        }
    }
}

/// `"…"` with `"` and `\` escaped and line breaks as DOT's `\n`.
fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Graphviz DOT, left to right: a cluster per namespace (`cluster_ns_<namespace>`, and
/// `cluster_release` for workloads without one), the callers outside the mesh in
/// `cluster_outside`; in-mesh nodes bold and filled, the others dashed; one edge per flow
/// labelled `port/protocol`, colored by verdict (a denied one names the resource and is
/// thicker), dashed when unknown or inferred.
pub fn dot(graph: &Graph, verdicts: &[Verdict]) -> String {
    let flows = flows(graph, verdicts);
    let (nodes, index) = nodes(graph);
    let mut out = String::from(
        "digraph flows {\n  rankdir=LR;\n  \
         graph [fontname=\"Helvetica\", fontsize=11, labeljust=l];\n  \
         node [shape=box, fontname=\"Helvetica\", fontsize=10];\n  \
         edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    for (group, members) in groups(&nodes) {
        let fill = if group == Group::Outside {
            "#f3f4f6"
        } else {
            "#f8fafc"
        };
        out.push_str(&format!(
            "  subgraph {} {{\n    label={};\n    style=\"rounded,filled\";\n    \
             fillcolor=\"{fill}\";\n    color=\"#cbd5e1\";\n",
            quote(&group.cluster()),
            quote(group.label())
        ));
        for i in members {
            let n = &nodes[i];
            let style = if n.in_mesh {
                "style=\"rounded,filled,bold\", fillcolor=\"#eff6ff\", color=\"#2563eb\""
            } else {
                "style=\"rounded,filled,dashed\", fillcolor=\"#ffffff\", color=\"#6b7280\""
            };
            out.push_str(&format!(
                "    n{i} [label={}, tooltip={}, {style}];\n",
                quote(&node_lines(n).join("\n")),
                quote(&node_title(n))
            ));
        }
        out.push_str("  }\n");
    }
    for (e, v) in &flows {
        let severity = Severity::of(v);
        let mut label = port(e);
        if let Verdict::Denied { resource, .. } = v {
            label.push_str(&format!("\ndenied by {resource}"));
        }
        let mut attrs = format!(
            "label={}, tooltip={}, color=\"{c}\", fontcolor=\"{c}\"",
            quote(&label),
            quote(&flow_title(e, v)),
            c = severity.color()
        );
        if severity == Severity::Denied {
            attrs.push_str(", penwidth=2");
        }
        if severity == Severity::Unknown || e.found == Found::Inferred {
            attrs.push_str(", style=dashed");
        }
        out.push_str(&format!(
            "  n{} -> n{} [{attrs}];\n",
            index[&e.from], index[&e.to]
        ));
    }
    out.push_str("}\n");
    out
}

/// The flows between two nodes, drawn as one path.
struct Link<'a> {
    from: usize,
    to: usize,
    flows: Vec<(&'a Edge, &'a Verdict)>,
}

impl Link<'_> {
    fn severity(&self) -> Severity {
        let worst = self.flows.iter().map(|(_, v)| Severity::of(v)).max();
        worst.unwrap_or(Severity::Allowed)
    }

    /// Drawn dashed and thin: every flow of the link was inferred.
    fn inferred(&self) -> bool {
        self.flows.iter().all(|(e, _)| e.found == Found::Inferred)
    }

    /// The label: `9090/http, 8080/http`, then `denied by R1, R2` naming every denying
    /// resource once.
    fn label(&self) -> Vec<String> {
        let mut ports: Vec<String> = Vec::new();
        let mut deniers: Vec<&str> = Vec::new();
        for (e, v) in &self.flows {
            let p = port(e);
            if !ports.contains(&p) {
                ports.push(p);
            }
            if let Verdict::Denied { resource, .. } = v
                && !deniers.contains(&resource.as_str())
            {
                deniers.push(resource);
            }
        }
        let mut lines = vec![ports.join(", ")];
        if !deniers.is_empty() {
            lines.push(format!("denied by {}", deniers.join(", ")));
        }
        lines
    }
}

/// The flows grouped by (caller, target), in order of first appearance.
fn links<'a>(flows: &[(&'a Edge, &'a Verdict)], index: &BTreeMap<&Party, usize>) -> Vec<Link<'a>> {
    let mut out: Vec<Link> = Vec::new();
    let mut at: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for &(e, v) in flows {
        let (from, to) = (index[&e.from], index[&e.to]);
        let k = *at.entry((from, to)).or_insert_with(|| {
            out.push(Link {
                from,
                to,
                flows: Vec::new(),
            });
            out.len() - 1
        });
        out[k].flows.push((e, v));
    }
    out
}

/// Each node's column: -1 for the callers outside the mesh; for a workload, the longest
/// path to it over the links between workloads, where a link that would close a cycle with
/// the links before it (or a self-loop) does not count.
fn columns(nodes: &[Node], links: &[Link]) -> Vec<isize> {
    let outside: Vec<bool> = nodes
        .iter()
        .map(|n| Group::of(&n.party) == Group::Outside)
        .collect();
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut kept = Vec::new();
    for l in links {
        if l.from != l.to && !outside[l.from] && !outside[l.to] && !reaches(&next, l.to, l.from) {
            next[l.from].push(l.to);
            kept.push((l.from, l.to));
        }
    }
    let mut column = vec![0isize; nodes.len()];
    // The kept links form a DAG, so the longest paths settle within `nodes.len()` rounds.
    let mut changed = true;
    while changed {
        changed = false;
        for &(u, v) in &kept {
            if column[v] <= column[u] {
                column[v] = column[u] + 1;
                changed = true;
            }
        }
    }
    for (c, out) in column.iter_mut().zip(outside) {
        if out {
            *c = -1;
        }
    }
    column
}

/// True when `to` can be reached from `from` over `next`.
fn reaches(next: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; next.len()];
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if !std::mem::replace(&mut seen[n], true) {
            stack.extend(&next[n]);
        }
    }
    false
}

const MARGIN: f64 = 20.0;
/// The title line's band.
const TITLE_H: f64 = 36.0;
/// Inside a panel, around its boxes.
const PAD: f64 = 16.0;
/// A panel's label band, which also holds the self-loops of its first row.
const LABEL_H: f64 = 40.0;
const BOX_H: f64 = 56.0;
/// Between two boxes of a column: room for a self-loop above a box.
const ROW_GAP: f64 = 34.0;
const LANE_GAP: f64 = 16.0;
/// An edge label's line height (11 px text).
const LINE_H: f64 = 14.0;
/// How much wider bold text is than regular.
const BOLD: f64 = 1.15;
const FONT: &str = "Helvetica, Arial, sans-serif";
const MESH: &str = "#2563eb";

/// The width of `s` at `size` px, estimated at 7 px per character at 12 px.
fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 7.0 / 12.0
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn right(&self) -> f64 {
        self.x + self.w
    }

    fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// `x="…" y="…" width="…" height="…"`.
    fn attrs(&self) -> String {
        format!(
            "x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            num(self.x),
            num(self.y),
            num(self.w),
            num(self.h)
        )
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }
}

/// A coordinate with at most one decimal and no trailing `.0`.
fn num(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// `s` escaped for XML text and attribute values; control characters XML forbids become
/// U+FFFD.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A box's width: its widest line (the name in 13 px bold beside the mesh badge, the rest
/// in 11 px) and padding.
fn box_width(node: &Node) -> f64 {
    let lines = node_lines(node);
    let badge = if node.in_mesh { 44.0 } else { 0.0 };
    let name = text_width(&lines[0], 13.5) * BOLD + badge;
    let rest = lines[1..].iter().map(|l| text_width(l, 11.0));
    rest.fold(name, f64::max).max(90.0) + 20.0
}

/// An edge label's size.
fn label_size(lines: &[String]) -> (f64, f64) {
    let w = lines
        .iter()
        .map(|l| text_width(l, 11.0))
        .fold(0.0, f64::max);
    (w + 10.0, LINE_H * lines.len() as f64 + 4.0)
}

/// Where the panels and boxes go. Panels: "outside the mesh" as a column on the left, then
/// one lane per namespace, stacked; inside the lanes, workloads sit in their [`columns`],
/// which line up across lanes, stacked in node order. The gap after a column is as wide as
/// the labels of the arrows that leave it (within bounds), `sizes` being the labels' sizes.
struct Layout {
    boxes: Vec<Rect>,
    columns: Vec<isize>,
    panels: Vec<(Group, Rect)>,
}

fn layout(nodes: &[Node], links: &[Link], sizes: &[(f64, f64)]) -> Layout {
    let columns = columns(nodes, links);
    let widths: Vec<f64> = nodes.iter().map(box_width).collect();
    let count = columns.iter().map(|&c| c + 1).max().unwrap_or(0).max(0) as usize;
    let mut column_w = vec![0.0f64; count];
    for (&c, &w) in columns.iter().zip(&widths) {
        if let Ok(c) = usize::try_from(c) {
            column_w[c] = column_w[c].max(w);
        }
    }
    // gaps[0] follows the outside column, gaps[c + 1] column c (the last one: the lanes'
    // right padding).
    let mut gaps = vec![90.0f64; count + 1];
    gaps[count] = PAD;
    for (l, &(w, _)) in links.iter().zip(sizes) {
        let gap = (columns[l.from] + 1) as usize;
        if l.from == l.to {
            gaps[gap] = gaps[gap].max((w + 30.0).min(320.0));
        } else if columns[l.from] < columns[l.to] {
            gaps[gap] = gaps[gap].max((w + 40.0).min(320.0));
        }
    }
    let groups = groups(nodes);
    let outside = groups.get(&Group::Outside);
    let outside_w = outside.map(|m| m.iter().map(|&i| widths[i]).fold(0.0, f64::max) + 2.0 * PAD);
    let x = outside_w.map_or(MARGIN, |w| MARGIN + w + gaps[0]);
    let mut column_x = Vec::with_capacity(count);
    let mut cx = x + PAD;
    for (w, gap) in column_w.iter().zip(&gaps[1..]) {
        column_x.push(cx);
        cx += w + gap;
    }
    let mut boxes = vec![Rect::default(); nodes.len()];
    let mut panels = Vec::new();
    let top = MARGIN + TITLE_H;
    let panel_h = |rows: usize| LABEL_H + rows as f64 * (BOX_H + ROW_GAP) - ROW_GAP + PAD;
    let mut y = top;
    for (group, members) in groups.iter().filter(|(g, _)| **g != Group::Outside) {
        let mut rows = vec![0usize; count];
        for &i in members {
            let c = columns[i] as usize;
            boxes[i] = Rect {
                x: column_x[c] + (column_w[c] - widths[i]) / 2.0,
                y: y + LABEL_H + rows[c] as f64 * (BOX_H + ROW_GAP),
                w: widths[i],
                h: BOX_H,
            };
            rows[c] += 1;
        }
        let h = panel_h(rows.into_iter().max().unwrap_or(0));
        let w = cx - x;
        panels.push((group.clone(), Rect { x, y, w, h }));
        y += h + LANE_GAP;
    }
    if let (Some(members), Some(w)) = (outside, outside_w) {
        // Callers in the order of their targets' mean height, so that fewer arrows cross;
        // callers of nothing last.
        let mean = |i: usize| {
            let ys: Vec<f64> = links
                .iter()
                .filter(|l| l.from == i && l.to != i)
                .map(|l| boxes[l.to].y)
                .collect();
            if ys.is_empty() {
                f64::INFINITY
            } else {
                ys.iter().sum::<f64>() / ys.len() as f64
            }
        };
        let mut order: Vec<(f64, usize)> = members.iter().map(|&i| (mean(i), i)).collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (row, &(_, i)) in order.iter().enumerate() {
            let y = top + LABEL_H + row as f64 * (BOX_H + ROW_GAP);
            let (x, w, h) = (MARGIN + PAD, widths[i], BOX_H);
            boxes[i] = Rect { x, y, w, h };
        }
        // As tall as the lanes beside it.
        let h = panel_h(members.len()).max(y - LANE_GAP - top);
        let rect = Rect {
            x: MARGIN,
            y: top,
            w,
            h,
        };
        panels.insert(0, (Group::Outside, rect));
    }
    Layout {
        boxes,
        columns,
        panels,
    }
}

/// A link's path data and its label's box.
struct Route {
    d: String,
    label: Rect,
}

/// The cubic Bézier through `p`, and the label of `size` centred on its midpoint.
fn bezier(p: [(f64, f64); 4], size: (f64, f64)) -> Route {
    let at =
        |f: fn(&(f64, f64)) -> f64| (f(&p[0]) + 3.0 * f(&p[1]) + 3.0 * f(&p[2]) + f(&p[3])) / 8.0;
    let (mx, my) = (at(|p| p.0), at(|p| p.1));
    let d = p.iter().enumerate().map(|(i, (x, y))| {
        let cmd = ["M", " C", " ", " "][i];
        format!("{cmd}{},{}", num(*x), num(*y))
    });
    Route {
        d: d.collect(),
        label: Rect {
            x: mx - size.0 / 2.0,
            y: my - size.1 / 2.0,
            w: size.0,
            h: size.1,
        },
    }
}

/// Each link's path. A link to a later column leaves its caller's right side and enters
/// the target's left side; one to an earlier or the same column leaves the left side and
/// enters the right side, sagging below; the ends on one side of a box are spread along it
/// in the order of the other ends' heights. A self-loop rises from the box's top right
/// corner and comes back into its right side, its label beside it.
fn routes(layout: &Layout, links: &[Link], sizes: &[(f64, f64)]) -> Vec<Route> {
    let (b, col) = (&layout.boxes, &layout.columns);
    let forward = |l: &Link| col[l.from] < col[l.to];
    let center = |i: usize| b[i].y + b[i].h / 2.0;
    // ends[node][side]: (the other end's height, link), side 0 left and 1 right.
    let mut ends: Vec<[Vec<(f64, usize)>; 2]> = vec![Default::default(); b.len()];
    for (k, l) in links.iter().enumerate().filter(|(_, l)| l.from != l.to) {
        let f = forward(l);
        ends[l.from][usize::from(f)].push((center(l.to), k));
        ends[l.to][usize::from(!f)].push((center(l.from), k));
    }
    let mut at: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for (i, sides) in ends.iter_mut().enumerate() {
        for side in sides {
            side.sort_by(|a, c| a.0.total_cmp(&c.0).then(a.1.cmp(&c.1)));
            let n = side.len() as f64;
            for (j, &(_, k)) in side.iter().enumerate() {
                at.insert((k, i), b[i].y + b[i].h * (j as f64 + 1.0) / (n + 1.0));
            }
        }
    }
    links
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(k, (l, &size))| {
            let (s, t) = (b[l.from], b[l.to]);
            if l.from == l.to {
                let (r, y) = (s.right(), s.y);
                let mut route = bezier(
                    [
                        (r - 26.0, y),
                        (r - 26.0, y - 32.0),
                        (r + 32.0, y + 14.0),
                        (r, y + 14.0),
                    ],
                    size,
                );
                route.label.x = r + 10.0;
                route.label.y = y - 18.0 - size.1 / 2.0;
                return route;
            }
            let (y1, y2) = (at[&(k, l.from)], at[&(k, l.to)]);
            if forward(l) {
                let (x1, x2) = (s.right(), t.x);
                let dx = ((x2 - x1) / 2.0).max(30.0);
                bezier([(x1, y1), (x1 + dx, y1), (x2 - dx, y2), (x2, y2)], size)
            } else {
                let (x1, x2) = (s.x, t.right());
                let dx = ((x1 - x2).abs() / 2.0).max(30.0);
                bezier(
                    [
                        (x1, y1),
                        (x1 - dx, y1 + 40.0),
                        (x2 + dx, y2 + 40.0),
                        (x2, y2),
                    ],
                    size,
                )
            }
        })
        .collect()
}

/// Moves each label up or down, a step at a time, off the boxes, the panels' names and the
/// labels placed before it; a label with no free place within four steps stays where it was.
fn place_labels(routes: &mut [Route], layout: &Layout) {
    let names = layout.panels.iter().map(|(group, r)| Rect {
        x: r.x + 8.0,
        y: r.y + 6.0,
        w: text_width(group.label(), 13.0) * BOLD + 8.0,
        h: 22.0,
    });
    let mut taken: Vec<Rect> = layout.boxes.iter().copied().chain(names).collect();
    for route in routes {
        let base = route.label;
        let free = (0..9)
            .map(|j| if j % 2 == 1 { (j + 1) / 2 } else { -(j / 2) })
            .map(|step| Rect {
                y: base.y + f64::from(step) * (base.h + 3.0),
                ..base
            })
            .find(|r| !taken.iter().any(|t| t.overlaps(r)));
        route.label = free.unwrap_or(base);
        taken.push(route.label);
    }
}

/// The stroke of a path: colored by severity, thicker when denied, dashed when unknown,
/// thin and short-dashed when inferred.
fn stroke(severity: Severity, inferred: bool) -> String {
    let width = match (severity, inferred) {
        (Severity::Denied, _) => 2.5,
        (_, true) => 1.2,
        _ => 1.6,
    };
    let dash = match (severity, inferred) {
        (_, true) => " stroke-dasharray=\"3 3\"",
        (Severity::Unknown, false) => " stroke-dasharray=\"7 4\"",
        _ => "",
    };
    format!(
        "fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\"{dash}",
        severity.color()
    )
}

/// A node's box: in the mesh solid blue on pale blue, otherwise dashed grey on white.
fn box_style(in_mesh: bool) -> String {
    if in_mesh {
        format!("fill=\"#eff6ff\" stroke=\"{MESH}\" stroke-width=\"1.5\"")
    } else {
        "fill=\"#ffffff\" stroke=\"#6b7280\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\"".into()
    }
}

/// The `mesh` badge whose right edge is at `right`.
fn badge(right: f64, y: f64) -> String {
    format!(
        "<rect x=\"{}\" y=\"{}\" width=\"34\" height=\"14\" rx=\"7\" fill=\"{MESH}\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"9\" fill=\"#ffffff\" \
         text-anchor=\"middle\">mesh</text>",
        num(right - 34.0),
        num(y),
        num(right - 17.0),
        num(y + 10.5)
    )
}

/// A self-contained SVG picture of the flows. The callers outside the mesh stand in a grey
/// column on the left; each namespace is a lane to the right with its workloads as boxes
/// (name, component, kind; in the mesh: solid border and a `mesh` badge; otherwise dashed),
/// callers in columns left of their targets ([`columns`]). The flows between two nodes are
/// one arrow labelled with their ports, colored by the worst verdict: allowed green, denied
/// red and thicker, naming every denying resource, unknown amber and dashed; inferred ones
/// thin and short-dashed. Nodes and arrows carry `<title>` tooltips with the full verdicts
/// and evidence; a legend sits below, the totals on top.
pub fn svg(graph: &Graph, verdicts: &[Verdict]) -> String {
    let flows = flows(graph, verdicts);
    let (nodes, index) = nodes(graph);
    let links = links(&flows, &index);
    let labels: Vec<Vec<String>> = links.iter().map(Link::label).collect();
    let sizes: Vec<(f64, f64)> = labels.iter().map(|l| label_size(l)).collect();
    let layout = layout(&nodes, &links, &sizes);
    let mut routes = routes(&layout, &links, &sizes);
    place_labels(&mut routes, &layout);

    let title = Totals::of(&flows).line();
    let panels_bottom = layout
        .panels
        .iter()
        .map(|(_, r)| r.bottom())
        .fold(MARGIN + TITLE_H, f64::max);
    let (legend, legend_rect) = legend(MARGIN, panels_bottom + 20.0);
    let rects = layout
        .panels
        .iter()
        .map(|(_, r)| *r)
        .chain(routes.iter().map(|r| r.label));
    let (right, bottom) = rects.chain([legend_rect]).fold(
        (MARGIN + text_width(&title, 15.0) * BOLD, 0.0f64),
        |(w, h), r| (w.max(r.right()), h.max(r.bottom())),
    );
    let (w, h) = (num(right + MARGIN), num(bottom + MARGIN));

    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"{FONT}\" font-size=\"12\">\n\
         <title>{}</title>\n<defs>\n",
        xml(&title)
    );
    for s in [Severity::Allowed, Severity::Unknown, Severity::Denied] {
        out.push_str(&format!(
            "<marker id=\"arrow-{}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
             markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" \
             orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>\n",
            s.name(),
            s.color()
        ));
    }
    out.push_str("</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    out.push_str(&format!(
        "<text id=\"title\" x=\"{}\" y=\"{}\" font-size=\"15\" font-weight=\"bold\" \
         fill=\"#111827\">{}</text>\n",
        num(MARGIN),
        num(MARGIN + 18.0),
        xml(&title)
    ));

    out.push_str("<g id=\"panels\">\n");
    for (k, (group, r)) in layout.panels.iter().enumerate() {
        let (fill, stroke) = match group {
            Group::Outside => ("#f3f4f6", "#d1d5db"),
            _ => ("#f8fafc", "#cbd5e1"),
        };
        out.push_str(&format!(
            "<g id=\"panel-{k}\" class=\"panel\"><rect {} rx=\"10\" fill=\"{fill}\" \
             stroke=\"{stroke}\"/><text x=\"{}\" y=\"{}\" font-size=\"13\" \
             font-weight=\"bold\" fill=\"#334155\">{}</text></g>\n",
            r.attrs(),
            num(r.x + 12.0),
            num(r.y + 22.0),
            xml(group.label())
        ));
    }
    out.push_str("</g>\n<g id=\"edges\">\n");
    for (k, ((link, route), lines)) in links.iter().zip(&routes).zip(&labels).enumerate() {
        let severity = link.severity();
        let inferred = link.inferred();
        let tooltip: Vec<String> = link.flows.iter().map(|(e, v)| flow_title(e, v)).collect();
        let r = route.label;
        let text_fill = match severity {
            Severity::Allowed => "#374151",
            s => s.color(),
        };
        out.push_str(&format!(
            "<g id=\"edge-{k}\" class=\"edge {}{}\"><title>{}</title>\
             <path d=\"{}\" {} marker-end=\"url(#arrow-{})\"/>\
             <rect {} rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.9\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" \
             fill=\"{text_fill}\">",
            severity.name(),
            if inferred { " inferred" } else { "" },
            xml(&tooltip.join("\n\n")),
            route.d,
            stroke(severity, inferred),
            severity.name(),
            r.attrs(),
            num(r.x + r.w / 2.0),
            num(r.y + 13.0)
        ));
        for (i, line) in lines.iter().enumerate() {
            let dy = if i == 0 {
                String::new()
            } else {
                format!(" x=\"{}\" dy=\"{LINE_H}\"", num(r.x + r.w / 2.0))
            };
            out.push_str(&format!("<tspan{dy}>{}</tspan>", xml(line)));
        }
        out.push_str("</text></g>\n");
    }
    out.push_str("</g>\n<g id=\"nodes\">\n");
    for (i, (node, r)) in nodes.iter().zip(&layout.boxes).enumerate() {
        out.push_str(&format!(
            "<g id=\"node-{i}\" class=\"node {}\"><title>{}</title><rect {} rx=\"8\" {}/>",
            if node.in_mesh {
                "in-mesh"
            } else {
                "not-in-mesh"
            },
            xml(&node_title(node)),
            r.attrs(),
            box_style(node.in_mesh)
        ));
        if node.in_mesh {
            out.push_str(&badge(r.right() - 6.0, r.y + 6.0));
        }
        let lines = node_lines(node);
        // Baselines 15 px apart, the block centred.
        let mut y = r.y + (BOX_H - 15.0 * (lines.len() - 1) as f64) / 2.0 + 4.5;
        for (j, line) in lines.iter().enumerate() {
            let style = if j == 0 {
                "font-size=\"13.5\" font-weight=\"bold\" fill=\"#111827\""
            } else {
                "font-size=\"11\" fill=\"#4b5563\""
            };
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" {style}>{}</text>",
                num(r.x + 10.0),
                num(y),
                xml(line)
            ));
            y += 15.0;
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
    out.push_str(&legend);
    out.push_str("</svg>\n");
    out
}

/// The legend whose top left corner is at (`x`, `y`): the four kinds of arrow and the two
/// kinds of box, in a row; and its box.
fn legend(x: f64, y: f64) -> (String, Rect) {
    let arrows = [
        ("allowed", Severity::Allowed, false),
        ("denied", Severity::Denied, false),
        ("unknown", Severity::Unknown, false),
        (
            "inferred (not read from the stream)",
            Severity::Allowed,
            true,
        ),
    ];
    let mut items = String::new();
    let mid = y + 16.0;
    let mut cx = x + 70.0;
    for (name, severity, inferred) in arrows {
        items.push_str(&format!(
            "<path d=\"M{},{} L{},{}\" {} marker-end=\"url(#arrow-{})\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"#374151\">{name}</text>",
            num(cx),
            num(mid),
            num(cx + 30.0),
            num(mid),
            stroke(severity, inferred),
            severity.name(),
            num(cx + 36.0),
            num(mid + 4.0)
        ));
        cx += 36.0 + text_width(name, 12.0) + 20.0;
    }
    for (name, in_mesh) in [("in the mesh", true), ("not in the mesh", false)] {
        items.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"44\" height=\"20\" rx=\"5\" {}/>",
            num(cx),
            num(mid - 10.0),
            box_style(in_mesh)
        ));
        if in_mesh {
            items.push_str(&badge(cx + 42.0, mid - 7.0));
        }
        items.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"#374151\">{name}</text>",
            num(cx + 50.0),
            num(mid + 4.0)
        ));
        cx += 50.0 + text_width(name, 12.0) + 20.0;
    }
    let rect = Rect {
        x,
        y,
        w: cx - x,
        h: 32.0,
    };
    let out = format!(
        "<g id=\"legend\" class=\"legend\"><rect {} rx=\"6\" fill=\"#ffffff\" \
         stroke=\"#e5e7eb\"/><text x=\"{}\" y=\"{}\" font-weight=\"bold\" \
         fill=\"#334155\">Legend</text>{items}</g>\n",
        rect.attrs(),
        num(x + 12.0),
        num(y + 20.0)
    );
    (out, rect)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(kind: &str, namespace: Option<&str>, name: &str) -> Party {
        Party::Workload {
            kind: kind.into(),
            namespace: namespace.map(String::from),
            name: name.into(),
        }
    }

    fn node(party: &Party, component: Option<&str>, in_mesh: bool) -> Node {
        Node {
            party: party.clone(),
            component: component.map(String::from),
            in_mesh,
        }
    }

    fn edge(from: &Party, to: &Party, port: u16, protocol: Protocol, found: Found) -> Edge {
        Edge {
            from: from.clone(),
            to: to.clone(),
            port,
            port_name: None,
            protocol,
            found,
            evidence: format!("{} calls {}", from.label(), to.label()),
            via: None,
            via_object: None,
            probe_path: None,
        }
    }

    fn allowed() -> Verdict {
        Verdict::Allowed {
            by: vec!["no AuthorizationPolicy applies".into()],
        }
    }

    fn unknown(why: &str) -> Verdict {
        Verdict::Unknown { why: why.into() }
    }

    /// 8 nodes over the outside column, two namespaces and the release namespace; 9 flows,
    /// two of them between the same pair (8 arrows), a self-loop, inferred flows and a
    /// cycle (prometheus → tempo → prometheus).
    fn sample() -> (Graph, Vec<Verdict>) {
        let operator = workload("Deployment", Some("monitoring"), "prometheus-operator");
        let grafana = workload("Deployment", Some("grafana"), "grafana");
        let prometheus = workload("StatefulSet", Some("monitoring"), "prometheus");
        let alertmanager = workload("StatefulSet", Some("monitoring"), "alertmanager");
        let tempo = workload("Deployment", None, "tempo");
        let nodes = vec![
            node(&Party::ApiServer, None, false),
            node(&Party::Kubelet, None, false),
            node(&Party::AnyWorkload, None, false),
            node(&operator, Some("prometheus-operator"), true),
            node(&grafana, Some("grafana"), true),
            node(&prometheus, Some("prometheus"), true),
            node(&alertmanager, Some("alertmanager"), true),
            node(&tempo, Some("tempo"), false),
        ];
        let mut webhook = edge(
            &Party::ApiServer,
            &operator,
            10250,
            Protocol::Tls,
            Found::Read,
        );
        webhook.port_name = Some("https".into());
        let mut probe = edge(&Party::Kubelet, &grafana, 3000, Protocol::Http, Found::Read);
        probe.probe_path = Some("/api/health".into());
        let edges = vec![
            webhook,
            probe,
            edge(&grafana, &prometheus, 9090, Protocol::Http, Found::Read),
            edge(
                &grafana,
                &prometheus,
                10902,
                Protocol::Grpc,
                Found::Inferred,
            ),
            edge(
                &alertmanager,
                &alertmanager,
                9094,
                Protocol::Tcp,
                Found::Read,
            ),
            edge(
                &prometheus,
                &alertmanager,
                9093,
                Protocol::Http,
                Found::Inferred,
            ),
            edge(
                &Party::AnyWorkload,
                &tempo,
                4317,
                Protocol::Grpc,
                Found::Read,
            ),
            edge(&prometheus, &tempo, 3200, Protocol::Http, Found::Read),
            edge(&tempo, &prometheus, 9090, Protocol::Http, Found::Read),
        ];
        let verdicts = vec![
            Verdict::Denied {
                resource: "PeerAuthentication monitoring/default".into(),
                rule: "ISTIO-PA-5: STRICT rejects plaintext".into(),
            },
            allowed(),
            allowed(),
            unknown("no Service names port 10902"),
            allowed(),
            allowed(),
            unknown("depends on the CNI"),
            allowed(),
            allowed(),
        ];
        (
            Graph {
                nodes,
                edges,
                ..Graph::default()
            },
            verdicts,
        )
    }

    const TOTALS: &str =
        "9 flows: 6 allowed, 1 denied, 2 unknown (7 read from the stream, 2 inferred)";

    #[test]
    fn table_has_a_row_per_flow_aligned_and_the_totals_last() {
        let (g, v) = sample();
        let text = table(&g, &v, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 9 + 1);
        assert_eq!(lines[10], TOTALS);
        assert!(lines[0].starts_with("FROM "), "{text}");
        assert!(lines[1].starts_with("kube-apiserver "), "{text}");
        assert!(lines[1].contains("10250/tls (https)"), "{text}");
        assert!(
            lines[1].ends_with(
                "denied by PeerAuthentication monitoring/default \
                 (ISTIO-PA-5: STRICT rejects plaintext)"
            ),
            "{text}"
        );
        assert!(
            lines[4].ends_with("unknown: no Service names port 10902"),
            "{text}"
        );
        assert!(lines[2].ends_with(" allowed"), "{text}");
        for column in ["TO", "PORT", "VERDICT"] {
            let at = lines[0].find(column).unwrap();
            for line in &lines[1..10] {
                assert_eq!(&line[at - 2..at], "  ", "{column} in {line:?}");
                assert_ne!(&line[at..=at], " ", "{column} in {line:?}");
            }
        }

        let wide = table(&g, &v, true);
        let lines: Vec<&str> = wide.lines().collect();
        assert!(
            lines[0].contains(" FOUND ") && lines[0].contains(" EVIDENCE "),
            "{wide}"
        );
        assert!(lines[4].contains(" inferred "), "{wide}");
        assert!(
            lines[3].contains("deployment grafana/grafana calls statefulset monitoring/prometheus")
        );
        assert!(
            lines[3].ends_with("allowed by no AuthorizationPolicy applies"),
            "{wide}"
        );
        assert_eq!(lines.last(), Some(&TOTALS));
    }

    #[test]
    fn json_has_nodes_flows_with_verdicts_and_totals() {
        let (g, v) = sample();
        let j = json(&g, &v);
        assert_eq!(j["nodes"].as_array().unwrap().len(), 8);
        assert_eq!(j["nodes"][3]["party"]["name"], "prometheus-operator");
        assert_eq!(j["nodes"][3]["in_mesh"], true);
        let flows = j["flows"].as_array().unwrap();
        assert_eq!(flows.len(), 9);
        assert_eq!(flows[0]["from"]["type"], "api-server");
        assert_eq!(flows[0]["port"], 10250);
        assert_eq!(flows[0]["port_name"], "https");
        assert_eq!(flows[0]["protocol"], "tls");
        assert_eq!(flows[0]["verdict"]["verdict"], "denied");
        assert_eq!(
            flows[0]["verdict"]["resource"],
            "PeerAuthentication monitoring/default"
        );
        assert_eq!(flows[1]["probe_path"], "/api/health");
        assert_eq!(flows[3]["found"], "inferred");
        assert_eq!(flows[3]["verdict"]["why"], "no Service names port 10902");
        assert_eq!(
            flows[2]["verdict"]["by"][0],
            "no AuthorizationPolicy applies"
        );
        assert!(flows[2].get("port_name").is_none());
        assert_eq!(
            j["totals"],
            json!({"flows": 9, "allowed": 6, "denied": 1, "unknown": 2, "read": 7, "configured": 0, "inferred": 2})
        );
    }

    #[test]
    fn dot_has_every_node_and_flow_in_clusters() {
        let (g, v) = sample();
        let d = dot(&g, &v);
        assert!(
            d.starts_with("digraph flows {\n") && d.ends_with("}\n"),
            "{d}"
        );
        for i in 0..g.nodes.len() {
            assert_eq!(
                d.matches(&format!("    n{i} [label=")).count(),
                1,
                "n{i}: {d}"
            );
        }
        assert_eq!(d.matches(" -> ").count(), g.edges.len(), "{d}");
        assert!(d.contains("  n4 -> n5 [label=\"9090/http\""), "{d}");
        assert!(d.contains("  n6 -> n6 [label=\"9094/tcp\""), "{d}");
        for (cluster, label) in [
            ("cluster_outside", "outside the mesh"),
            ("cluster_ns_monitoring", "monitoring"),
            ("cluster_ns_grafana", "grafana"),
            ("cluster_release", "(release namespace)"),
        ] {
            let head = format!("  subgraph \"{cluster}\" {{\n    label=\"{label}\";\n");
            assert!(d.contains(&head), "{cluster}: {d}");
        }
        let denied = d.lines().find(|l| l.starts_with("  n0 -> n3 ")).unwrap();
        assert!(denied.contains("color=\"#dc2626\""), "{denied}");
        assert!(
            denied
                .contains("label=\"10250/tls\\ndenied by PeerAuthentication monitoring/default\""),
            "{denied}"
        );
        let inferred = d.lines().find(|l| l.starts_with("  n5 -> n6 ")).unwrap();
        assert!(inferred.contains("style=dashed"), "{inferred}");
        assert!(
            d.contains("n4 [label=\"grafana\\ngrafana\\ndeployment\""),
            "{d}"
        );
    }

    /// The elements whose id starts with `prefix`.
    fn with_id<'a>(doc: &'a roxmltree::Document, prefix: &str) -> Vec<roxmltree::Node<'a, 'a>> {
        doc.descendants()
            .filter(|n| n.attribute("id").is_some_and(|id| id.starts_with(prefix)))
            .collect()
    }

    /// The text of an element's `<text>` descendants.
    fn text_of(n: roxmltree::Node) -> String {
        n.descendants()
            .filter(|d| d.is_text() && d.parent().is_some_and(|p| p.tag_name().name() != "title"))
            .filter_map(|d| d.text())
            .collect()
    }

    #[test]
    fn svg_parses_and_draws_every_node_and_arrow() {
        let (g, v) = sample();
        let s = svg(&g, &v);
        assert_eq!(s, svg(&g, &v), "deterministic");
        let doc = roxmltree::Document::parse(&s).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert!(root.attribute("width").unwrap().parse::<f64>().unwrap() > 400.0);

        let nodes = with_id(&doc, "node-");
        assert_eq!(nodes.len(), 8);
        let names: Vec<String> = nodes.iter().map(|n| text_of(*n)).collect();
        assert!(
            names[5].starts_with("meshprometheusprometheusstatefulset"),
            "{names:?}"
        );
        assert_eq!(nodes[7].attribute("class"), Some("node not-in-mesh"));

        // 9 flows: grafana → prometheus twice, drawn once.
        let edges = with_id(&doc, "edge-");
        assert_eq!(edges.len(), 8);
        let denied: Vec<_> = edges
            .iter()
            .filter(|e| e.attribute("class") == Some("edge denied"))
            .collect();
        assert_eq!(denied.len(), 1);
        let path = denied[0]
            .children()
            .find(|c| c.has_tag_name("path"))
            .unwrap();
        assert_eq!(path.attribute("stroke"), Some("#dc2626"));
        assert_eq!(path.attribute("marker-end"), Some("url(#arrow-denied)"));
        assert_eq!(
            text_of(*denied[0]),
            "10250/tlsdenied by PeerAuthentication monitoring/default"
        );
        let merged = edges
            .iter()
            .find(|e| text_of(**e).starts_with("9090/http, "))
            .unwrap();
        assert_eq!(text_of(*merged), "9090/http, 10902/grpc");
        assert_eq!(merged.attribute("class"), Some("edge unknown"));
        let tooltip = merged.children().find(|c| c.has_tag_name("title")).unwrap();
        let tooltip = tooltip.text().unwrap();
        assert!(
            tooltip.contains("unknown: no Service names port 10902"),
            "{tooltip}"
        );
        assert!(
            tooltip.contains("deployment grafana/grafana calls"),
            "{tooltip}"
        );
        let inferred = edges.iter().find(|e| text_of(**e) == "9093/http").unwrap();
        assert_eq!(inferred.attribute("class"), Some("edge allowed inferred"));

        let legend = with_id(&doc, "legend");
        assert_eq!(legend.len(), 1);
        assert!(text_of(legend[0]).contains("denied"));
        assert_eq!(with_id(&doc, "title")[0].text(), Some(TOTALS));
        let panels: Vec<String> = with_id(&doc, "panel-")
            .iter()
            .map(|p| text_of(*p))
            .collect();
        assert_eq!(
            panels,
            [
                "outside the mesh",
                "grafana",
                "monitoring",
                "(release namespace)"
            ]
        );
    }

    /// A box's x, from its `<rect>`.
    fn box_x(doc: &roxmltree::Document, node: usize) -> f64 {
        let g = with_id(doc, &format!("node-{node}"))[0];
        let rect = g.children().find(|c| c.has_tag_name("rect")).unwrap();
        rect.attribute("x").unwrap().parse().unwrap()
    }

    #[test]
    fn callers_are_drawn_left_of_their_targets_and_cycles_broken_in_edge_order() {
        let (g, v) = sample();
        let (nodes, index) = nodes(&g);
        let flows = flows(&g, &v);
        let links = links(&flows, &index);
        // tempo → prometheus comes after prometheus → tempo and would close a cycle.
        assert_eq!(columns(&nodes, &links), [-1, -1, -1, 0, 0, 1, 2, 2]);
        let s = svg(&g, &v);
        let doc = roxmltree::Document::parse(&s).unwrap();
        let x: Vec<f64> = (0..8).map(|i| box_x(&doc, i)).collect();
        assert!(
            x[0] < x[3] && x[4] < x[5] && x[5] < x[6] && x[5] < x[7],
            "{x:?}"
        );
    }

    #[test]
    fn special_characters_are_escaped() {
        let odd = workload("Deployment", Some("x<y"), "a<&\"'>b\\c\nd");
        let graph = Graph {
            nodes: vec![node(&odd, Some("c&d"), true)],
            edges: vec![edge(
                &Party::ApiServer,
                &odd,
                443,
                Protocol::Tls,
                Found::Read,
            )],
            ..Graph::default()
        };
        let verdicts = vec![Verdict::Denied {
            resource: "NetworkPolicy x<y/\"deny\" & 'more'".into(),
            rule: "<rule>".into(),
        }];
        let s = svg(&graph, &verdicts);
        assert!(!s.contains("a<&") && !s.contains("x<y"), "{s}");
        let doc = roxmltree::Document::parse(&s).unwrap();
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(texts.contains(&"a<&\"'>b\\c\nd"), "{texts:?}");
        assert!(texts.contains(&"c&d"), "{texts:?}");
        assert!(texts.contains(&"x<y"), "{texts:?}");
        assert!(
            texts.contains(&"denied by NetworkPolicy x<y/\"deny\" & 'more'"),
            "{texts:?}"
        );
        // The party only an edge names is drawn too.
        assert_eq!(with_id(&doc, "node-").len(), 2);

        let d = dot(&graph, &verdicts);
        assert!(
            d.contains("label=\"a<&\\\"'>b\\\\c\\nd\\nc&d\\ndeployment\""),
            "{d}"
        );
        assert!(d.contains("subgraph \"cluster_ns_x<y\""), "{d}");
        assert!(
            d.contains("denied by NetworkPolicy x<y/\\\"deny\\\" & 'more'"),
            "{d}"
        );
        assert!(!d.contains("\"deny\""), "{d}");

        let control = workload("Deployment", None, "bell\u{7}");
        let graph = Graph {
            nodes: vec![node(&control, None, false)],
            ..Graph::default()
        };
        let s = svg(&graph, &[]);
        roxmltree::Document::parse(&s).unwrap();
        assert!(s.contains("bell\u{FFFD}"), "{s}");
        let empty = "FROM  TO  PORT  VERDICT\n0 flows: 0 allowed, 0 denied, 0 unknown \
                     (0 read from the stream, 0 inferred)\n";
        assert_eq!(table(&graph, &[], false), empty);
    }

    #[test]
    #[should_panic(expected = "one verdict per edge")]
    fn a_missing_verdict_is_a_bug() {
        let (g, v) = sample();
        table(&g, &v[1..], false);
    }
}
