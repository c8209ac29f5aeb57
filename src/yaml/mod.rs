//! The one place that parses and emits YAML.
//!
//! User documents are parsed into a [`Node`] tree that remembers where every node sits in
//! the source text, so that [`edit`] can change a document by splicing text instead of
//! re-emitting it; a [`patch::Patch`] says what the change must achieve. [`fast`] reads
//! plain block documents; everything else, and every document it gives up on, goes through
//! granit, serde-saphyr's parser. Configs are read by serde-saphyr; generated resources are
//! written by `emit` where it can and by serde-saphyr otherwise, byte for byte the same.

mod check;
pub mod edit;
mod emit;
pub mod fast;
pub mod patch;
pub mod pos;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, StructureStyle};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A parse error, positioned inside the text that was parsed (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub line: usize,
    pub col: usize,
}

impl YamlError {
    /// An error at byte `i` of `text` (its column counted in characters).
    fn at(text: &str, i: usize, message: String) -> Self {
        let before = &text[..i];
        let line_start = pos::line_start(text, i);
        YamlError {
            message,
            line: before.matches('\n').count() + 1,
            col: before[line_start..].chars().count() + 1,
        }
    }
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.col, self.message
        )
    }
}

/// A YAML node with its byte range in the parsed text. Scalars borrow from the text unless
/// quoting or folding changed them.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub start: usize,
    pub end: usize,
    pub kind: Kind<'a>,
}

#[derive(Debug, Clone)]
pub enum Kind<'a> {
    Scalar {
        value: Cow<'a, str>,
        style: Style,
        /// An explicit tag such as `!!str`: the resolved type is then not the plain one.
        tag: Tag,
    },
    Map {
        flow: bool,
        entries: Vec<(Node<'a>, Node<'a>)>,
    },
    Seq {
        flow: bool,
        items: Vec<Node<'a>>,
    },
    /// `*name`: shares the anchored node (its expanded size counts against the alias
    /// budget).
    Alias(Arc<Node<'a>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

/// The explicit tag of a scalar: none, one of the YAML core schema's (`!!str`, `!!bool`,
/// `!!int`, `!!float`, `!!null`, and the non-specific `!`, which means a string), or any
/// other (`!!timestamp`, `!custom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    None,
    Str,
    Bool,
    Int,
    Float,
    Null,
    Other,
}

impl Tag {
    pub fn is_some(self) -> bool {
        self != Tag::None
    }

    /// The tag of a parser event: `tag:yaml.org,2002:<suffix>` for the core schema's.
    fn of(tag: Option<&serde_saphyr::granit_parser::Tag>) -> Tag {
        let Some(tag) = tag else { return Tag::None };
        match (tag.handle(), tag.suffix()) {
            ("tag:yaml.org,2002:", "str") | ("!", "") => Tag::Str,
            ("tag:yaml.org,2002:", "bool") => Tag::Bool,
            ("tag:yaml.org,2002:", "int") => Tag::Int,
            ("tag:yaml.org,2002:", "float") => Tag::Float,
            ("tag:yaml.org,2002:", "null") => Tag::Null,
            _ => Tag::Other,
        }
    }
}

impl<'a> Node<'a> {
    /// The node an alias stands for, or the node itself.
    pub fn resolved(&self) -> &Node<'a> {
        // A loop, not recursion, so that it inlines: every key comparison comes here.
        let mut node = self;
        while let Kind::Alias(target) = &node.kind {
            node = target;
        }
        node
    }

    pub fn entries(&self) -> Option<&[(Node<'a>, Node<'a>)]> {
        match &self.resolved().kind {
            Kind::Map { entries, .. } => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node<'a>]> {
        match &self.resolved().kind {
            Kind::Seq { items, .. } => Some(items),
            _ => None,
        }
    }

    /// The value under `key` when this is a mapping: its own entry, else, as YAML 1.1
    /// merge keys (`<<: *base`) say, that of the first mapping it merges which has one.
    /// Kubernetes reads manifests with goyaml.v2, which applies merge keys
    /// (<https://yaml.org/type/merge.html>).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        let entries = self.entries()?;
        if let Some((_, v)) = entries.iter().find(|(k, _)| k.scalar() == Some(key)) {
            return Some(v);
        }
        entries
            .iter()
            .filter(|(k, _)| k.is_merge_key())
            .flat_map(|(_, v)| v.merged())
            .find_map(|m| m.get(key))
    }

    /// True for the key of a YAML 1.1 merge: a plain, untagged `<<` (a quoted `"<<"` is an
    /// ordinary key).
    pub fn is_merge_key(&self) -> bool {
        matches!(
            &self.kind,
            Kind::Scalar {
                value,
                style: Style::Plain,
                tag: Tag::None,
            } if value == "<<"
        )
    }

    /// The mappings a merge key's value brings in, in order of precedence: the mapping it
    /// is or names, or each of a sequence of them.
    pub fn merged(&self) -> Vec<&Node<'a>> {
        match &self.resolved().kind {
            Kind::Map { .. } => vec![self.resolved()],
            Kind::Seq { items, .. } => items
                .iter()
                .filter(|i| i.entries().is_some())
                .map(Node::resolved)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The entries of a mapping as YAML 1.1 reads them: its own (merge keys aside), then
    /// those its merge keys bring in that it does not set itself.
    pub fn merged_entries(&self) -> Vec<(&Node<'a>, &Node<'a>)> {
        let entries = self.entries().unwrap_or_default();
        let mut out: Vec<(&Node<'a>, &Node<'a>)> = entries
            .iter()
            .filter(|(k, _)| !k.is_merge_key())
            .map(|(k, v)| (k, v))
            .collect();
        if out.len() == entries.len() {
            return out;
        }
        for (_, v) in entries.iter().filter(|(k, _)| k.is_merge_key()) {
            for m in v.merged() {
                for (k, v) in m.merged_entries() {
                    if !out.iter().any(|(o, _)| o.scalar() == k.scalar()) {
                        out.push((k, v));
                    }
                }
            }
        }
        out
    }

    /// Follows a path of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node<'a>> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The text of a scalar, whatever its resolved type.
    pub fn scalar(&self) -> Option<&str> {
        match &self.resolved().kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The scalar as a string, when YAML resolves it to one (`"true"`, not `true`).
    pub fn str(&self) -> Option<&str> {
        let node = self.resolved();
        match &node.kind {
            Kind::Scalar { value, style, tag } => {
                let string = *style != Style::Plain || tag.is_some() || plain_is_string(value);
                string.then_some(value)
            }
            _ => None,
        }
    }

    /// The boolean a YAML 1.1 reader takes the scalar for, as Kubernetes reads manifests:
    /// kubectl and Helm parse them with sigs.k8s.io/yaml, whose goyaml.v2 resolves `y`,
    /// `yes`, `true`, `on` (and `n`, `no`, `false`, `off`), each in lower, capitalised or upper
    /// case, to a boolean, plain or under an explicit `!!bool` tag (quoted too); a quoted or
    /// otherwise tagged scalar is a string
    /// (<https://github.com/kubernetes-sigs/yaml/blob/master/goyaml.v2/resolve.go>).
    pub fn bool_11(&self) -> Option<bool> {
        match &self.resolved().kind {
            Kind::Scalar {
                value,
                style: Style::Plain,
                tag: Tag::None,
            }
            | Kind::Scalar {
                value,
                tag: Tag::Bool,
                ..
            } => yaml11_bool(value),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        match &self.resolved().kind {
            Kind::Scalar {
                value,
                style: Style::Plain,
                tag: Tag::None,
            } => plain(value) == Some(Value::Null),
            _ => false,
        }
    }

    /// A mapping of string keys to string values, as labels and annotations are.
    pub fn string_map(&self) -> Vec<(&str, Option<&str>)> {
        self.merged_entries()
            .into_iter()
            .filter_map(|(k, v)| Some((k.scalar()?, v.str())))
            .collect()
    }

    /// The JSON value of this node under the YAML 1.2 core schema, merge keys applied.
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Scalar { value, style, tag } => match style {
                Style::Plain if !tag.is_some() => resolve_plain(value),
                _ => Value::String(value.to_string()),
            },
            Kind::Map { .. } => {
                let mut map = Map::new();
                for (k, v) in self.merged_entries() {
                    let key = match k.to_json() {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    map.insert(key, v.to_json());
                }
                Value::Object(map)
            }
            Kind::Seq { items, .. } => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Alias(target) => target.to_json(),
        }
    }

    /// The node with every scalar copied, free of the text it was parsed from.
    pub fn into_owned(self) -> Node<'static> {
        let kind = match self.kind {
            Kind::Scalar { value, style, tag } => Kind::Scalar {
                value: Cow::Owned(value.into_owned()),
                style,
                tag,
            },
            Kind::Map { flow, entries } => Kind::Map {
                flow,
                entries: entries
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            },
            Kind::Seq { flow, items } => Kind::Seq {
                flow,
                items: items.into_iter().map(Node::into_owned).collect(),
            },
            Kind::Alias(target) => Kind::Alias(Arc::new((*target).clone().into_owned())),
        };
        Node {
            start: self.start,
            end: self.end,
            kind,
        }
    }
}

/// The YAML 1.1 booleans goyaml.v2 resolves (<https://yaml.org/type/bool.html> lists
/// the same forms).
fn yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(s: &str) -> Value {
    plain(s).unwrap_or_else(|| Value::String(s.to_string()))
}

/// True when a plain scalar resolves to a string (`on`, `0755`), not to null, a boolean or
/// a number. Nothing is allocated: it is asked of every label and annotation.
pub(crate) fn plain_is_string(s: &str) -> bool {
    plain(s).is_none()
}

/// The value a plain scalar resolves to when that is not a string.
fn plain(s: &str) -> Option<Value> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = s.parse::<i64>()
    {
        return Some(Value::from(i));
    }
    if let Some(hex) = s.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Some(Value::from(i));
    }
    if let Some(oct) = s.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Some(Value::from(i));
    }
    let looks_float = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && digits.bytes().any(|b| b.is_ascii_digit());
    if looks_float && let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        return Some(Value::Number(n));
    }
    None
}

/// Limits on the input: the stream as a whole ([`crate::run`]) and each parsed document.
/// The defaults admit every chart of the corpus by a wide margin (its largest stream is
/// 1 MB and 126 documents, its deepest document 28 levels, its longest key 47 bytes).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nesting levels of one document.
    pub max_depth: usize,
    /// Nodes alias expansion may copy in one document (a "billion laughs" guard).
    pub alias_budget: usize,
    /// Total bytes of all inputs.
    pub max_input_bytes: usize,
    /// Documents in the whole stream, empty ones included.
    pub max_documents: usize,
    /// Bytes of one mapping key.
    pub max_key_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            alias_budget: 100_000,
            max_input_bytes: 128 << 20,
            max_documents: 100_000,
            max_key_length: 1024,
        }
    }
}

/// Parses one document. `None` when it holds nothing but comments and blank lines.
pub fn parse(text: &str, limits: Limits) -> Result<Option<Node<'_>>, YamlError> {
    lone_carriage_return(text)?;
    if let Some(node) = fast::parse(text, limits) {
        return Ok(Some(node));
    }
    outside_the_fast_paths(text)?;
    parse_full(text, limits)
}

/// Says whether [`parse`] would read the document, with the error it would give, without
/// building a tree ([`check`]): for the documents the filter does not parse.
pub fn check(text: &str, limits: Limits) -> Result<(), YamlError> {
    if check::lines(text, limits) {
        return Ok(());
    }
    lone_carriage_return(text)?;
    outside_the_fast_paths(text)?;
    check::events(text, limits)
}

/// YAML reads a lone CR as a line break, the splitter, the header scan and the text splices
/// do not: refuse it.
fn lone_carriage_return(text: &str) -> Result<(), YamlError> {
    let bytes = text.as_bytes();
    match memchr::memchr_iter(b'\r', bytes).find(|&i| bytes.get(i + 1) != Some(&b'\n')) {
        Some(i) => {
            let message = "a carriage return without a line feed; use LF or CRLF line endings";
            Err(YamlError::at(text, i, message.into()))
        }
        None => Ok(()),
    }
}

/// What the full parser would take but the filter refuses, checked where the fast paths
/// (which decline both) give up.
///
/// A byte order mark may only open a document (YAML 1.2, 5.2: `l-document-prefix`), and
/// the splitter keeps that one out of `text`. Elsewhere the parser skips it, but it is
/// three bytes of the line the splices measure columns on.
///
/// A directive (`%YAML 1.1`, `%TAG …`) on the first line with content: the stream is split
/// before each `---`, so a document's directives are a document of their own, as they are
/// to kubectl and Helm, which split streams at `---` lines and then reject them.
fn outside_the_fast_paths(text: &str) -> Result<(), YamlError> {
    if let Some(i) = memchr::memmem::find(text.as_bytes(), "\u{feff}".as_bytes()) {
        let message = "a byte order mark (U+FEFF) inside the document; remove it (a string \
                       that needs one can write it as \"\\uFEFF\")";
        return Err(YamlError::at(text, i, message.into()));
    }
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with('%') {
            let name = line.split_whitespace().next().unwrap_or_default();
            let message = format!(
                "a `{name}` directive, which kubectl and Helm cannot read: they cut streams at \
                 `---` lines, which leaves the directive a document of its own"
            );
            return Err(YamlError::at(text, at, message));
        }
        let content = line.trim_start_matches([' ', '\t']);
        if !content.trim_end().is_empty() && !content.starts_with('#') {
            break;
        }
        at += line.len();
    }
    Ok(())
}

/// The full parser's options: no comments, nesting up to `--max-depth`.
fn options(limits: Limits) -> Options {
    let mut options = Options::default();
    options.set_emit_comments(false);
    options.flow_nesting_limit = limits.max_depth;
    options.block_nesting_limit = limits.max_depth;
    options
}

/// [`parse`] without the fast path: the full parser alone.
pub fn parse_full(text: &str, limits: Limits) -> Result<Option<Node<'_>>, YamlError> {
    let parser = Parser::new_from_str_with_options(text, options(limits));
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        budget: limits.alias_budget,
        limits,
        root: None,
        documents: 0,
    };
    for event in parser {
        let (event, span) = event.map_err(|e| scan_error(text, &e, limits))?;
        let at = |m: &serde_saphyr::granit_parser::Marker| (m.line(), m.col() + 1);
        let start = span.start.byte_offset().unwrap_or(0);
        let end = span.end.byte_offset().unwrap_or(start);
        builder.push(event, start, end).map_err(|message| {
            let (line, col) = at(&span.start);
            YamlError { message, line, col }
        })?;
    }
    Ok(builder.root)
}

/// A parser error, placed and worded for the user: a tab is reported where it is (the
/// parser marks the scalar before it), a depth error names the limit and its flag.
fn scan_error(text: &str, e: &serde_saphyr::granit_parser::ScanError, limits: Limits) -> YamlError {
    let mut message = e.info();
    if message.contains("recursion limit") {
        message = format!(
            "nesting deeper than {} levels; raise the limit with --max-depth if this is real",
            limits.max_depth
        );
    } else if long_implicit_key(text, e.marker().byte_offset().unwrap_or(0)) {
        message.push_str(
            " (an implicit key is at most 1024 characters; write a longer one as `? key`)",
        );
    } else if message.contains("tab") {
        let from = e.marker().byte_offset().unwrap_or(0).min(text.len());
        if let Some(i) = text[from..].find('\t') {
            return YamlError::at(text, from + i, message);
        }
    }
    let (line, col) = (e.marker().line(), e.marker().col() + 1);
    YamlError { message, line, col }
}

/// True when the line at `offset` starts with a `key:` of more than 1024 characters, which
/// YAML does not allow and the parser reports in other words.
fn long_implicit_key(text: &str, offset: usize) -> bool {
    let before = text.get(..offset).unwrap_or_default();
    let from = pos::line_start(before, before.len());
    let line = text[from..].lines().next().unwrap_or_default();
    line.find(": ")
        .or_else(|| line.strip_suffix(':').map(str::len))
        .is_some_and(|i| line[..i].trim_start().chars().count() > 1024)
}

// The builder's own errors, beside the parser's; [`check::events`] gives them alike.
const SECOND_DOCUMENT: &str = "more than one YAML document where one was expected";
const UNBALANCED: &str = "unbalanced collection";
const UNKNOWN_ANCHOR: &str = "alias to an unknown anchor";
const KEY_NOT_SCALAR: &str = "a mapping key must be a scalar";

fn alias_budget_exceeded(limits: Limits) -> String {
    format!(
        "alias expansion exceeds the limit of {} nodes (a \"billion laughs\" document?); \
         raise it with --max-alias-nodes",
        limits.alias_budget
    )
}

fn key_too_long(key: &str, limits: Limits) -> String {
    format!(
        "a mapping key of {} bytes exceeds the limit of {} bytes; raise it with \
         --max-key-length if this is real",
        key.len(),
        limits.max_key_length
    )
}

fn duplicate_key(key: &str) -> String {
    format!("duplicate key `{key}`")
}

struct Builder<'a> {
    /// Open collections: the node, its anchor and, for mappings, a pending key and the keys
    /// seen so far (a set, so that a mapping of many keys is not quadratic).
    stack: Vec<Open<'a>>,
    /// Anchored nodes by id, with their expanded sizes.
    anchors: HashMap<usize, (Arc<Node<'a>>, usize)>,
    budget: usize,
    limits: Limits,
    root: Option<Node<'a>>,
    documents: usize,
}

struct Open<'a> {
    node: Node<'a>,
    anchor: usize,
    /// The expanded size so far: nodes, counting what aliases stand for.
    size: usize,
    pending: Option<Node<'a>>,
    /// The keys of a large mapping; small ones are searched in place, without allocating.
    keys: HashSet<String>,
}

/// Mappings with more keys than this index them for the duplicate-key check.
const KEY_SCAN: usize = 16;

impl<'a> Builder<'a> {
    fn push(&mut self, event: Event<'a>, start: usize, end: usize) -> Result<(), String> {
        let (node, anchor, size) = match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(SECOND_DOCUMENT.into());
                }
                return Ok(());
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    _ => Style::Block,
                };
                let node = Node {
                    start,
                    end,
                    kind: Kind::Scalar {
                        value,
                        style,
                        tag: Tag::of(tag.as_deref()),
                    },
                };
                (node, anchor, 1)
            }
            Event::MappingStart(style, anchor, _) | Event::SequenceStart(style, anchor, _) => {
                let flow = style == StructureStyle::Flow;
                let kind = if matches!(event, Event::MappingStart(..)) {
                    Kind::Map {
                        flow,
                        entries: Vec::new(),
                    }
                } else {
                    Kind::Seq {
                        flow,
                        items: Vec::new(),
                    }
                };
                self.stack.push(Open {
                    node: Node { start, end, kind },
                    anchor,
                    size: 1,
                    pending: None,
                    keys: HashSet::new(),
                });
                return Ok(());
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Open {
                    mut node,
                    anchor,
                    size,
                    ..
                } = self.stack.pop().ok_or(UNBALANCED)?;
                node.end = end.max(node.end);
                (node, anchor, size)
            }
            Event::Alias(id) => {
                let (target, cost) = self.anchors.get(&id).cloned().ok_or(UNKNOWN_ANCHOR)?;
                if cost > self.budget {
                    return Err(alias_budget_exceeded(self.limits));
                }
                self.budget -= cost;
                let node = Node {
                    start,
                    end,
                    kind: Kind::Alias(target),
                };
                (node, 0, cost)
            }
            _ => return Ok(()),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, (Arc::new(node.clone()), size));
        }
        self.attach(node, size)
    }

    fn attach(&mut self, node: Node<'a>, size: usize) -> Result<(), String> {
        let Some(open) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        open.size = open.size.saturating_add(size);
        match &mut open.node.kind {
            Kind::Seq { items, .. } => items.push(node),
            Kind::Map { entries, .. } => match open.pending.take() {
                None => {
                    let Some(key) = node.scalar() else {
                        return Err(KEY_NOT_SCALAR.into());
                    };
                    if key.len() > self.limits.max_key_length {
                        return Err(key_too_long(key, self.limits));
                    }
                    let duplicate = if entries.len() < KEY_SCAN {
                        entries.iter().any(|(k, _)| k.scalar() == Some(key))
                    } else {
                        if open.keys.is_empty() {
                            open.keys = entries
                                .iter()
                                .filter_map(|(k, _)| k.scalar())
                                .map(str::to_owned)
                                .collect();
                        }
                        !open.keys.insert(key.to_owned())
                    };
                    if duplicate {
                        return Err(duplicate_key(key));
                    }
                    open.pending = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
            _ => unreachable!("only collections are pushed on the stack"),
        }
        Ok(())
    }
}

/// Deserializes a typed value (a config) from YAML text; the error is [`DeError`]'s
/// message after its place.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    from_str_placed(text).map_err(|e| match e.place {
        Some((line, column)) => format!("line {line}, column {column}: {}", e.message),
        None => e.message,
    })
}

/// Why a typed value could not be read: serde-saphyr's message for users (no excerpt of
/// the text, no advice about its own functions, no serde terms: the config's enums are
/// plain strings), and the 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    pub message: String,
    pub place: Option<(usize, usize)>,
}

/// [`from_str`], with the error's place apart from its message.
pub fn from_str_placed<T: DeserializeOwned>(text: &str) -> Result<T, DeError> {
    use serde_saphyr::MessageFormatter;
    serde_saphyr::from_str(text).map_err(|e| {
        let e = e.without_snippet();
        let message = match e {
            serde_saphyr::Error::ExternallyTaggedEnumExpectedScalarOrMapping { .. }
            | serde_saphyr::Error::ExpectedStringKeyForExternallyTaggedEnum { .. }
            | serde_saphyr::Error::UnexpectedValueForUnitEnumVariant { .. } => {
                "expected a string, one of the allowed values".into()
            }
            e => serde_saphyr::UserMessageFormatter.format_message(e),
        };
        let place = e
            .location()
            .filter(|l| l.line() > 0)
            .map(|l| (l.line() as usize, l.column() as usize));
        DeError {
            message: message.into_owned(),
            place,
        }
    })
}

/// Serializes a generated resource as block YAML (strings that YAML 1.1 would read as
/// something else, such as `on`, `yes` or `0755`, come out quoted).
///
/// `emit` writes the common case several times faster than serde-saphyr and gives up on
/// anything it is not sure of; debug builds (every test) check it against serde-saphyr.
pub fn to_string<T: Serialize>(value: &T) -> String {
    let saphyr =
        || serde_saphyr::to_string(value).expect("serializing plain data to YAML cannot fail");
    match emit::to_string(value) {
        Some(fast) => {
            debug_assert_eq!(fast, saphyr(), "yaml::emit differs from serde-saphyr");
            fast
        }
        None => saphyr(),
    }
}

/// A string as a double-quoted YAML scalar (valid in block and flow context alike).
pub fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node<'_> {
        parse(text, Limits::default()).unwrap().unwrap()
    }

    #[test]
    fn resolves_core_schema_scalars() {
        let n = doc("a: on\nb: 'on'\nc: 0755\nd: true\ne:\nf: 1.5\ng: 2024-01-01\n");
        let j = n.to_json();
        assert_eq!(j["a"], "on");
        assert_eq!(j["b"], "on");
        assert_eq!(j["c"], 755);
        assert_eq!(j["d"], true);
        assert!(j["e"].is_null());
        assert_eq!(j["f"], 1.5);
        assert_eq!(j["g"], "2024-01-01");
        assert_eq!(n.get("d").unwrap().str(), None);
        assert_eq!(n.get("b").unwrap().str(), Some("on"));
    }

    /// Kubernetes reads manifests as YAML 1.1 (goyaml.v2): `yes`, `On` and `!!bool` values
    /// are booleans there, quoted and `!!str` ones are not.
    #[test]
    fn booleans_read_as_yaml_1_1_does() {
        let n = doc(
            "a: yes\nb: On\nc: !!bool true\nd: !!bool \"y\"\ne: \"yes\"\nf: !!str true\ng: NO\nh: off\ni: maybe\nj: tRUE\nk: !custom true\n",
        );
        let got: Vec<_> = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]
            .iter()
            .map(|k| n.get(k).unwrap().bool_11())
            .collect();
        assert_eq!(
            got,
            [
                Some(true),
                Some(true),
                Some(true),
                Some(true),
                None,
                None,
                Some(false),
                Some(false),
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn rejects_duplicate_keys_with_position() {
        let err = parse("a: 1\nb: 2\na: 3\n", Limits::default()).unwrap_err();
        assert!(err.message.contains("duplicate key `a`"), "{err}");
        assert_eq!((err.line, err.col), (3, 1));
    }

    #[test]
    fn comment_only_document_is_empty() {
        assert!(
            parse("# Source: x\n\n", Limits::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn alias_bomb_fails_fast() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&text, Limits::default()).unwrap_err();
        assert!(err.message.contains("alias expansion"), "{err}");
    }

    /// Duplicate keys and aliases are looked up in sets: 50 000 keys and aliases took 6 s
    /// in a release build with a scan each, and take well under a second in a debug one (the
    /// bound leaves room for a loaded machine).
    #[test]
    fn many_keys_and_aliases_parse_in_linear_time() {
        let mut text = String::from("a: &a x\n");
        for i in 0..50_000 {
            text.push_str(&format!("k{i}: *a\n"));
        }
        let started = std::time::Instant::now();
        assert_eq!(doc(&text).entries().unwrap().len(), 50_001);
        assert!(started.elapsed().as_secs() < 15, "{:?}", started.elapsed());
    }

    #[test]
    fn key_length_is_limited() {
        let limits = Limits {
            max_key_length: 4,
            ..Limits::default()
        };
        assert!(parse("abcd: 1\n", limits).is_ok());
        let err = parse("x: {abcde: 1}\n", limits).unwrap_err();
        assert!(err.message.contains("key of 5 bytes"), "{err}");
        assert_eq!((err.line, err.col), (1, 5));
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let text = "[".repeat(200_000);
        assert!(parse(&text, Limits::default()).is_err());
    }
}
