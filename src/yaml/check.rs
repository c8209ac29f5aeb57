//! The validating scan behind [`super::check`]: whether [`super::parse`] would read a
//! document, without building a tree.
//!
//! [`lines`] reads the block YAML most of a rendered stream is made of, a line at a time:
//! block mappings and sequences, plain and quoted scalars, literal and folded block scalars,
//! `{}`, `[]`, one-line flow sequences of simple scalars, comments and CRLF line ends. At
//! anything else (anchors, tags, other flow collections, escapes by code point, tabs, odd
//! indentation, a repeated key, nesting near the limit) it gives up; it never
//! takes a document the full parser rejects. [`events`] then reads the full parser's events
//! and makes the checks [`super::parse_full`]'s builder makes, keeping only the keys of the
//! open mappings and the size of each anchor. `tests/it/validate.rs` and the fuzz target
//! `check` hold both to [`super::parse`]'s answers.

use super::fast::{fingerprint, is_indicator, unusual};
use super::{
    KEY_NOT_SCALAR, Limits, SECOND_DOCUMENT, UNBALANCED, UNKNOWN_ANCHOR, YamlError,
    alias_budget_exceeded, duplicate_key, key_too_long, options, scan_error,
};
use serde_saphyr::granit_parser::{Event, Parser};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// True when `text` is block YAML that [`super::parse`] reads within `limits`; false when
/// the line scan cannot tell.
pub(super) fn lines(text: &str, limits: Limits) -> bool {
    let b = text.as_bytes();
    // One branch-free pass (it vectorizes): tabs and other controls, DEL, non-ASCII, and
    // carriage returns, which must end CRLF line ends.
    let (mut control, mut high, mut carriage) = (false, false, false);
    for &c in b {
        control |= (c < b' ') & (c != b'\n') & (c != b'\r') | (c == 0x7f);
        high |= c >= 0x80;
        carriage |= c == b'\r';
    }
    if control
        || (high && text.chars().any(unusual))
        || (carriage && super::lone_carriage_return(text).is_err())
    {
        return false;
    }
    let mut scan = Lines {
        text,
        b,
        limits,
        frames: Vec::new(),
        keys: Vec::new(),
        expect: Expect::Entry,
    };
    let mut from = 0;
    while from <= b.len() {
        // Most lines are short: a search call per line would cost more than the line.
        let newline = find_either(&b[from..], b'\n', b'\n').map_or(b.len(), |i| from + i);
        let end = newline - usize::from(newline > from && b[newline - 1] == b'\r');
        if !scan.line(from, end) {
            return false;
        }
        from = newline + 1;
    }
    !matches!(
        scan.expect,
        Expect::Block { content: None, .. } | Expect::Quoted { .. }
    )
}

/// How many spaces `b` starts with, eight bytes at a time: indentation is most of the
/// bytes of a nested document.
fn spaces(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(word) = b.get(n..n + 8) {
        let other = u64::from_le_bytes(word.try_into().expect("eight bytes"))
            ^ u64::from_le_bytes([b' '; 8]);
        if other != 0 {
            return n + other.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + b[n..].iter().take_while(|&&c| c == b' ').count()
}

/// Where `b` first holds `x` or `y`, eight bytes at a time: cheaper than a search call on
/// the short stretches a line has.
fn find_either(b: &[u8], x: u8, y: u8) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    // The lowest byte set in `zeros(v)` is `v`'s first zero byte.
    let zeros = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut n = 0;
    while let Some(word) = b.get(n..n + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let found = zeros(w ^ (ONES * u64::from(x))) | zeros(w ^ (ONES * u64::from(y)));
        if found != 0 {
            return Some(n + found.trailing_zeros() as usize / 8);
        }
        n += 8;
    }
    b[n..].iter().position(|&c| c == x || c == y).map(|i| n + i)
}

/// An open block collection.
enum Frame<'a> {
    /// A mapping with its keys at column `indent`. Its keys are `Lines::keys[mark..]`, or
    /// `set` once it has many.
    Map {
        indent: usize,
        mark: usize,
        set: Option<HashSet<&'a str>>,
    },
    /// A sequence with its dashes at column `indent`. An indentless one (dashes at its key's
    /// column) ends at the next key.
    Seq { indent: usize, indentless: bool },
}

/// What the next line with content may be.
enum Expect {
    /// An entry of an open collection.
    Entry,
    /// The value of the key at column `.0`, whose line held none: a more indented node, an
    /// indentless sequence, or nothing (null).
    Value(usize),
    /// More of a plain scalar, on lines more indented than `.0`, or an entry.
    Plain(usize),
    /// More of a quoted scalar, on lines more indented than `parent`, up to its closing
    /// `quote`.
    Quoted { parent: usize, quote: u8 },
    /// The lines of a block scalar, more indented than `parent`: `content` is their
    /// indentation, once a line with content sets it, and `blank` the most spaces of the
    /// blank lines before that line.
    Block {
        parent: usize,
        content: Option<usize>,
        blank: usize,
    },
}

/// Mappings with more keys than this index them for the duplicate check.
const KEY_SCAN: usize = 16;

struct Lines<'a> {
    text: &'a str,
    b: &'a [u8],
    limits: Limits,
    /// The open collections, innermost last.
    frames: Vec<Frame<'a>>,
    /// The keys of the open mappings that have few, innermost last, with their
    /// fingerprints.
    keys: Vec<(u32, &'a str)>,
    expect: Expect,
}

impl<'a> Lines<'a> {
    /// Takes the line `start..end` (its line end cut off); false to give up.
    fn line(&mut self, start: usize, end: usize) -> bool {
        let b = self.b;
        let indent = spaces(&b[start..end]);
        let p = start + indent;
        let blank = p == end;
        if let Expect::Block {
            parent,
            content,
            blank: spaces,
        } = &mut self.expect
        {
            match *content {
                Some(m) if blank || indent >= m => return true,
                Some(_) => {}
                None if blank => {
                    *spaces = (*spaces).max(indent);
                    return true;
                }
                // An empty scalar, or blank lines before the first content longer than it
                // (an error): the full parser decides.
                None if indent <= *parent || *spaces > indent => return false,
                None => {
                    *content = Some(indent);
                    return true;
                }
            }
            self.expect = Expect::Entry;
        }
        match self.expect {
            Expect::Plain(_) | Expect::Quoted { .. } if blank => return true,
            Expect::Plain(parent) if b[p] != b'#' && indent > parent => {
                return self.continuation(p, end, parent);
            }
            // A comment or a less indented line ends a plain scalar.
            Expect::Plain(_) => self.expect = Expect::Entry,
            Expect::Quoted { parent, quote } => {
                return indent > parent && self.rest_of_quoted(quote, p, end);
            }
            _ => {}
        }
        if blank || b[p] == b'#' {
            return true;
        }
        if indent == 0 && (b[p..end].starts_with(b"---") || b[p..end].starts_with(b"...")) {
            return false;
        }
        let dash = self.is_dash(p, end);
        if let Expect::Value(key) = self.expect {
            self.expect = Expect::Entry;
            if indent > key {
                if dash {
                    return self.open(Frame::Seq {
                        indent,
                        indentless: false,
                    }) && self.item(start, p, end);
                }
                if let Some(key) = self.key_at(p, end) {
                    return self.open_map(indent) && self.entry(key, end, indent);
                }
                // A scalar, `{}` or `[]` on a line of its own (Helm's `toYaml | nindent`).
                return !matches!(b[p], b'|' | b'>') && self.inline(p, end, key);
            }
            if indent == key && dash {
                return self.open(Frame::Seq {
                    indent,
                    indentless: true,
                }) && self.item(start, p, end);
            }
        }
        while let Some(top) = self.frames.last() {
            let done = match *top {
                Frame::Map { indent: i, .. } => i > indent,
                Frame::Seq {
                    indent: i,
                    indentless,
                } => i > indent || (indentless && i == indent && !dash),
            };
            if !done {
                break;
            }
            if let Some(Frame::Map { mark, .. }) = self.frames.pop() {
                self.keys.truncate(mark);
            }
        }
        match self.frames.last() {
            // The first line with content: the root mapping's first key.
            None => indent == 0 && !dash && self.open_map(0) && self.key(p, end, 0),
            Some(Frame::Map { indent: i, .. }) => *i == indent && !dash && self.key(p, end, indent),
            Some(Frame::Seq { indent: i, .. }) => *i == indent && dash && self.item(start, p, end),
        }
    }

    /// Opens a collection, unless its nesting comes near the limit.
    fn open(&mut self, frame: Frame<'a>) -> bool {
        if self.frames.len() + 3 > self.limits.max_depth {
            return false;
        }
        self.frames.push(frame);
        true
    }

    fn open_map(&mut self, indent: usize) -> bool {
        let mark = self.keys.len();
        self.open(Frame::Map {
            indent,
            mark,
            set: None,
        })
    }

    /// `- ` or a `-` that ends its line: a block sequence entry.
    fn is_dash(&self, p: usize, end: usize) -> bool {
        self.b[p] == b'-' && (p + 1 == end || self.b[p + 1] == b' ')
    }

    fn skip_spaces(&self, from: usize, end: usize) -> usize {
        from + spaces(&self.b[from..end])
    }

    /// The entry whose dash is at `dash`, on the line that starts at `start`.
    fn item(&mut self, start: usize, dash: usize, end: usize) -> bool {
        let p = self.skip_spaces(dash + 1, end);
        if p == end || self.b[p] == b'#' || self.is_dash(p, end) {
            return false;
        }
        if let Some(key) = self.key_at(p, end) {
            return self.open_map(p - start) && self.entry(key, end, p - start);
        }
        self.value(p, end, dash - start)
    }

    /// The mapping entry at `p`, a key at `column`.
    fn key(&mut self, p: usize, end: usize, column: usize) -> bool {
        self.key_at(p, end)
            .is_some_and(|key| self.entry(key, end, column))
    }

    /// A mapping entry whose key ([`Lines::key_at`]) is at `column`.
    fn entry(&mut self, (name, colon): (&'a str, usize), end: usize, column: usize) -> bool {
        if !self.add_key(name) {
            return false;
        }
        let v = self.skip_spaces(colon + 1, end);
        if v == end || self.b[v] == b'#' {
            self.expect = Expect::Value(column);
            return true;
        }
        self.value(v, end, column)
    }

    /// A key at `p`: its text and the position of its `:`.
    fn key_at(&self, p: usize, end: usize) -> Option<(&'a str, usize)> {
        let (name, colon) = match self.b[p] {
            q @ (b'"' | b'\'') => {
                let Quote::Closed(after) = self.quote_end(q, p + 1, end) else {
                    return None;
                };
                let name = &self.text[p + 1..after - 1];
                // Escapes would have to be decoded to compare keys.
                let escaped = if q == b'"' {
                    name.contains('\\')
                } else {
                    name.contains('\'')
                };
                if escaped {
                    return None;
                }
                (name, after)
            }
            c if is_indicator(c) => return None,
            _ => {
                let Stop::Separator(colon) = self.stop(p, end) else {
                    return None;
                };
                let token = &self.text[p..colon];
                if token.ends_with(' ') {
                    return None;
                }
                (token, colon)
            }
        };
        let separated =
            colon < end && self.b[colon] == b':' && (colon + 1 == end || self.b[colon + 1] == b' ');
        // YAML limits an implicit key to 1024 characters; long ones go to the full parser.
        let short = name.len() <= self.limits.max_key_length && colon - p <= 1000;
        (separated && short).then_some((name, colon))
    }

    /// False when the innermost mapping has the key already.
    fn add_key(&mut self, name: &'a str) -> bool {
        let Some(Frame::Map { mark, set, .. }) = self.frames.last_mut() else {
            unreachable!("keys are read in a mapping")
        };
        if let Some(set) = set {
            return set.insert(name);
        }
        let open = &self.keys[*mark..];
        let print = fingerprint(name);
        if open.iter().any(|&(p, key)| p == print && key == name) {
            return false;
        }
        if open.len() < KEY_SCAN {
            self.keys.push((print, name));
        } else {
            *set = Some(open.iter().map(|&(_, key)| key).chain([name]).collect());
        }
        true
    }

    /// What ends plain text at `p` on its line: the first `:` followed by a space or the
    /// line's end, a comment, or the line's end. Byte by byte: keys and values are short, and
    /// a search costs more to start.
    fn stop(&self, p: usize, end: usize) -> Stop {
        let b = self.b;
        let mut from = p;
        while let Some(i) = find_either(&b[from..end], b':', b'#').map(|i| from + i) {
            if b[i] == b':' && (i + 1 == end || b[i + 1] == b' ') {
                return Stop::Separator(i);
            }
            if b[i] == b'#' && i > p && b[i - 1] == b' ' {
                return Stop::Comment;
            }
            from = i + 1;
        }
        Stop::End
    }

    /// The value at `p` of a node whose collection is at column `parent`.
    fn value(&mut self, p: usize, end: usize, parent: usize) -> bool {
        if matches!(self.b[p], b'|' | b'>') {
            if !self.block_header(p + 1, end) {
                return false;
            }
            self.expect = Expect::Block {
                parent,
                content: None,
                blank: 0,
            };
            return true;
        }
        self.inline(p, end, parent)
    }

    /// A block scalar's header after its `|` or `>`: an optional chomping indicator, then
    /// nothing or a comment. An indentation indicator goes to the full parser.
    fn block_header(&self, from: usize, end: usize) -> bool {
        let j = from + usize::from(from < end && matches!(self.b[from], b'+' | b'-'));
        if j == end {
            return true;
        }
        let k = self.skip_spaces(j, end);
        k > j && (k == end || self.b[k] == b'#')
    }

    /// A scalar, `{}`, `[]` or one-line flow sequence at `p`, of a node whose collection is
    /// at column `parent`. A plain or quoted scalar may go on over the next lines.
    fn inline(&mut self, p: usize, end: usize, parent: usize) -> bool {
        let b = self.b;
        let after = match b[p] {
            quote @ (b'"' | b'\'') => match self.quote_end(quote, p + 1, end) {
                Quote::Closed(after) => Some(after),
                Quote::Open => {
                    self.expect = Expect::Quoted { parent, quote };
                    return true;
                }
                Quote::Unknown => None,
            },
            b'[' | b'{' if self.frames.len() + 3 > self.limits.max_depth => None,
            b'[' if p + 1 < end && b[p + 1] == b']' => Some(p + 2),
            b'{' if p + 1 < end && b[p + 1] == b'}' => Some(p + 2),
            b'[' => self.flow_seq(p, end),
            b'-' if self.is_dash(p, end) || b[p..end].starts_with(b"---") => None,
            // `-`, `?` and `:` may start a plain scalar when a character other than a space
            // follows.
            b'?' | b':' if p + 1 < end && b[p + 1] != b' ' => return self.plain(p, end, parent),
            c if c != b'-' && is_indicator(c) => None,
            _ => return self.plain(p, end, parent),
        };
        after.is_some_and(|after| self.line_ends(after, end))
    }

    /// True when only white space or a comment follows `after` on its line.
    fn line_ends(&self, after: usize, end: usize) -> bool {
        let k = self.skip_spaces(after, end);
        k == end || (k > after && self.b[k] == b'#')
    }

    /// A plain scalar from `p` to the end of its line or a comment; without a comment, the
    /// next lines may go on with it.
    fn plain(&mut self, p: usize, end: usize, parent: usize) -> bool {
        match self.stop(p, end) {
            // `: ` would make it a key, which must fit on one line.
            Stop::Separator(_) => false,
            Stop::Comment => {
                self.expect = Expect::Entry;
                true
            }
            Stop::End => {
                self.expect = Expect::Plain(parent);
                true
            }
        }
    }

    /// A line that goes on with a plain scalar, its text at `p`.
    fn continuation(&mut self, p: usize, end: usize, parent: usize) -> bool {
        // A line that starts like a sequence entry, a key or a quote goes to the full parser.
        !is_indicator(self.b[p]) && self.plain(p, end, parent)
    }

    /// A line that goes on with a quoted scalar, its text at `p`.
    fn rest_of_quoted(&mut self, quote: u8, p: usize, end: usize) -> bool {
        match self.quote_end(quote, p, end) {
            Quote::Closed(after) => {
                self.expect = Expect::Entry;
                self.line_ends(after, end)
            }
            Quote::Open => true,
            Quote::Unknown => false,
        }
    }

    /// A one-line flow sequence of simple scalars at `p`, such as `[ReadWriteOnce]`: the
    /// position after its `]`.
    fn flow_seq(&self, p: usize, end: usize) -> Option<usize> {
        let b = self.b;
        let mut i = p + 1;
        loop {
            i = self.skip_spaces(i, end);
            if i == end {
                return None;
            }
            match b[i] {
                quote @ (b'"' | b'\'') => match self.quote_end(quote, i + 1, end) {
                    Quote::Closed(after) => i = after,
                    _ => return None,
                },
                c if is_indicator(c) => return None,
                _ => {
                    let len = b[i..end]
                        .iter()
                        .take_while(|&&c| c.is_ascii_alphanumeric() || b"-._/=+~".contains(&c))
                        .count();
                    if len == 0 {
                        return None;
                    }
                    i += len;
                }
            }
            i = self.skip_spaces(i, end);
            match b.get(i) {
                Some(b',') if i + 1 < end && b[i + 1] == b' ' => i += 1,
                Some(b']') if i < end => return Some(i + 1),
                _ => return None,
            }
        }
    }

    /// Where the quoted scalar that `quote` opened, and that goes on at `from`, ends on the
    /// line. Escapes other than the one-character ones (YAML 1.2, 5.7) and an escaped line
    /// end go to the full parser.
    fn quote_end(&self, quote: u8, from: usize, end: usize) -> Quote {
        let b = self.b;
        let mut i = from;
        loop {
            let found = if quote == b'\'' {
                memchr::memchr(quote, &b[i..end])
            } else {
                memchr::memchr2(quote, b'\\', &b[i..end])
            };
            let Some(at) = found.map(|f| i + f) else {
                return Quote::Open;
            };
            let next = (at + 1 < end).then(|| b[at + 1]);
            match (b[at], next) {
                (b'\'', Some(b'\'')) => i = at + 2,
                (b'\\', Some(c)) if b"0abtnvfre \"/\\N_LP".contains(&c) => i = at + 2,
                (b'\\', _) => return Quote::Unknown,
                _ => return Quote::Closed(at + 1),
            }
        }
    }
}

/// What ends plain text on a line ([`Lines::stop`]).
enum Stop {
    Separator(usize),
    Comment,
    End,
}

/// How a quoted scalar goes on a line: closed (the position after the quote), open at the
/// line's end, or in a way only the full parser reads.
enum Quote {
    Closed(usize),
    Open,
    Unknown,
}

/// The full parser's events, checked as [`super::parse_full`]'s builder checks them: one
/// document, scalar keys within the length limit and not repeated, the alias budget.
pub(super) fn events(text: &str, limits: Limits) -> Result<(), YamlError> {
    let mut check = Events {
        open: Vec::new(),
        anchors: HashMap::new(),
        budget: limits.alias_budget,
        limits,
        documents: 0,
    };
    for event in Parser::new_from_str_with_options(text, options(limits)) {
        let (event, span) = event.map_err(|e| scan_error(text, &e, limits))?;
        check.push(event).map_err(|message| YamlError {
            message,
            line: span.start.line(),
            col: span.start.col() + 1,
        })?;
    }
    Ok(())
}

struct Events<'a> {
    open: Vec<Open<'a>>,
    /// Each anchor's expanded size (nodes, counting what aliases stand for), and its text
    /// when it is a scalar, for an alias used as a key.
    anchors: HashMap<usize, (usize, Option<Cow<'a, str>>)>,
    budget: usize,
    limits: Limits,
    documents: usize,
}

/// An open collection: its anchor, its expanded size so far and, for a mapping, whether a
/// key waits for its value and the keys so far.
struct Open<'a> {
    anchor: usize,
    size: usize,
    map: Option<(bool, HashSet<Cow<'a, str>>)>,
}

/// A node as a key: a scalar's text, an alias (to look up), or a collection.
enum Name<'a> {
    Scalar(Cow<'a, str>),
    Alias(usize),
    Collection,
}

impl<'a> Events<'a> {
    fn push(&mut self, event: Event<'a>) -> Result<(), String> {
        let (name, size) = match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(SECOND_DOCUMENT.into());
                }
                return Ok(());
            }
            Event::Scalar(value, _, anchor, _) => {
                if anchor != 0 {
                    self.anchors.insert(anchor, (1, Some(value.clone())));
                }
                (Name::Scalar(value), 1)
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                let map = matches!(event, Event::MappingStart(..)).then(|| (false, HashSet::new()));
                self.open.push(Open {
                    anchor,
                    size: 1,
                    map,
                });
                return Ok(());
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let open = self.open.pop().ok_or(UNBALANCED)?;
                if open.anchor != 0 {
                    self.anchors.insert(open.anchor, (open.size, None));
                }
                (Name::Collection, open.size)
            }
            Event::Alias(id) => {
                let &(cost, _) = self.anchors.get(&id).ok_or(UNKNOWN_ANCHOR)?;
                if cost > self.budget {
                    return Err(alias_budget_exceeded(self.limits));
                }
                self.budget -= cost;
                (Name::Alias(id), cost)
            }
            _ => return Ok(()),
        };
        self.attach(name, size)
    }

    fn attach(&mut self, name: Name<'a>, size: usize) -> Result<(), String> {
        let Some(open) = self.open.last_mut() else {
            return Ok(());
        };
        open.size = open.size.saturating_add(size);
        let Some((value_next, keys)) = &mut open.map else {
            return Ok(());
        };
        if std::mem::take(value_next) {
            return Ok(());
        }
        let key = match name {
            Name::Scalar(text) => Some(text),
            Name::Alias(id) => self.anchors.get(&id).and_then(|(_, text)| text.clone()),
            Name::Collection => None,
        };
        let Some(key) = key else {
            return Err(KEY_NOT_SCALAR.into());
        };
        if key.len() > self.limits.max_key_length {
            return Err(key_too_long(&key, self.limits));
        }
        if keys.contains(&key) {
            return Err(duplicate_key(&key));
        }
        keys.insert(key);
        *value_next = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Limits, check, parse};
    use super::lines;

    fn takes(text: &str) -> bool {
        let took = lines(text, Limits::default());
        if took {
            assert!(
                parse(text, Limits::default()).is_ok(),
                "the line scan took what the parser rejects:\n{text}"
            );
        }
        took
    }

    /// What rendered streams are made of: the line scan must take it, or the filter would
    /// read most skipped documents with the full parser.
    #[test]
    fn the_line_scan_takes_rendered_documents() {
        let docs = [
            "# Source: x\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n  labels:\n    grafana_dashboard: \"1\"\ndata:\n  d.json: |-\n    {\n      \"a\": [1, 2],\n\n      \"b\": \"x: y # z\"\n    }\n  other.txt: >\n    folded\n    # not a comment\n  e: ''\n",
            "kind: PrometheusRule\nspec:\n  groups:\n    - name: g\n      rules:\n        - alert: A\n          expr: |-\n            sum(rate(x{a=\"b\"}[5m]))\n              > 1\n          for: 1m\n          labels:\n            severity: warning\n          annotations:\n            summary: \"high in {{ $labels.pod }}\"\n            runbook_url: https://runbooks.example.org/a\n        - alert: B\n          expr: up == 0\n",
            "kind: CustomResourceDefinition\nspec:\n  versions:\n    - name: v1\n      schema:\n        openAPIV3Schema:\n          type: \"object\"\n          properties:\n            spec:\n              description: \"It's \\\"quoted\\\".\\n\"\n              type: object\n              x-kubernetes-preserve-unknown-fields: true\n              items:\n                type: string\n              enum: [a, b, \"c\"]\n",
            "kind: Secret\ntype: Opaque\nstringData:\n  script: |\n    #!/bin/sh\n    echo hi\n  # a comment below the script\n  b: |+\n    kept\n\n  c: >-  # folded\n     x\n  list:\n  - |\n    item\n  - x\n",
            "kind: X\r\nmetadata:\r\n  name: crlf\r\ndata:\r\n  a: |\r\n    line\r\n  b: c\r\n",
            "spec:\n  description: Spec defines the behaviour, see\n    https://example.org/a#b\n\n    v1beta1.\n  record: :node_memory:sum\n  d.json: \"{\\\"a\\\": 1,\n    \\\"b\\\": [2]}\"\n  list:\n  - a long\n    item\n  - 'quoted\n    ''over'' lines'\n",
        ];
        for doc in docs {
            assert!(takes(doc), "not taken:\n{doc}");
        }
    }

    #[test]
    fn the_line_scan_gives_up_on_what_it_does_not_read() {
        for doc in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: |2\n   x\n",
            "a: |\nb: 1\n",
            "a: |\n     \n  x\n",
            "a: {b: c}\n",
            "a: 'x\ny'\n",
            "a: x\n  - y\n",
            "a: \"x\\\n  y\"\n",
            "a: 1\na: 2\n",
            "a:\tb\n",
            "\"a\\tb\": 1\n",
            "a: \"\\x41\"\n",
            "- a\n",
            "  a: 1\n",
            "a:\n- - x\n",
            "? a\n: b\n",
        ] {
            assert!(!takes(doc), "taken:\n{doc}");
        }
    }

    /// Keys past the point where a mapping indexes them are still checked for repeats.
    #[test]
    fn many_keys_are_checked_for_repeats() {
        let mut doc: String = (0..40).map(|i| format!("k{i}: x\n")).collect();
        assert!(takes(&doc));
        doc.push_str("k33: y\n");
        assert!(!takes(&doc));
        let e = check(&doc, Limits::default()).unwrap_err();
        assert_eq!((e.line, e.col), (41, 1), "{e}");
        assert!(e.message.contains("duplicate key `k33`"), "{e}");
    }

    /// The events give the errors the parser gives, where it gives them.
    #[test]
    fn the_events_fail_as_the_parser_does() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let cases = [
            bomb,
            "a: 1\nb: [\n".into(),
            "a: &k x\nx: 1\n*k : y\n".into(),
            "a: &m {x: 1}\n*m : y\n".into(),
            "? [a]\n: b\n".into(),
            "a: {b: 1, b: 2}\n".into(),
            format!("a: {}\n", "[".repeat(300)),
            format!("x: {{{}: 1}}\n", "k".repeat(2000)),
            "a: \"x\ty\"\n\tb: 1\n".into(),
            "a: 1\n---\nb: 2\n".into(),
            "a: x\u{feff}\n".into(),
        ];
        for text in &cases {
            let parsed = parse(text, Limits::default()).map(|_| ());
            assert!(parsed.is_err(), "{text}");
            assert_eq!(check(text, Limits::default()), parsed, "{text}");
        }
    }
}
