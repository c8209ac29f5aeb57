//! A fast path for the YAML that rendered manifests are made of: block mappings and
//! sequences of one-line plain or quoted scalars, `{}`, `[]`, one-line flow sequences of
//! simple scalars (`[ReadWriteOnce]`), and comments.
//!
//! [`parse`] builds the same tree, spans included, as the full parser ([`super::parse`]),
//! or gives up (`None`) at the first thing outside that subset (block and multi-line
//! scalars, other flow collections, anchors, tags, escapes, tabs, CRs, control
//! characters, duplicate keys, anything odd about indentation) and the full parser reads the document instead,
//! with its own error messages. It never accepts a document the full parser rejects. The
//! spans follow the full parser: a collection ends where the next token starts, a block
//! sequence whose dashes sit at its key's indentation starts at its first item's content,
//! and a missing value is an empty plain `~` at the end of its key.
//! `tests/fast_yaml.rs` compares the two on every corpus document and on generated ones.

use super::{Kind, Limits, Node, Style, Tag, pos};
use std::borrow::Cow;

/// Parses `text` when it lies inside the fast subset.
pub fn parse(text: &str, limits: Limits) -> Option<Node<'_>> {
    let b = text.as_bytes();
    // One branch-free pass (it vectorizes): controls other than `\n`, DEL, and non-ASCII.
    let (mut control, mut high) = (false, false);
    for &c in b {
        control |= (c < b' ') & (c != b'\n') | (c == 0x7f);
        high |= c >= 0x80;
    }
    if control || (high && text.chars().any(unusual)) {
        return None;
    }
    let mut p = Fast {
        text,
        b,
        limits,
        entries: Vec::new(),
        prints: Vec::new(),
        items: Vec::new(),
        line: std::cell::Cell::new((usize::MAX, 0)),
    };
    let first = p.token(0)?;
    if first.indent != 0 || p.is_dash(first.pos) {
        return None;
    }
    let (root, next) = p.map(first.pos, 0, 1)?;
    (next.indent < 0).then_some(root)
}

/// The next content: where it starts and its indentation (-1 at the end of the text).
#[derive(Debug, Clone, Copy)]
struct Token {
    pos: usize,
    indent: isize,
}

struct Fast<'a> {
    text: &'a str,
    b: &'a [u8],
    limits: Limits,
    /// The entries and items of the open collections, innermost last: each collection is
    /// moved into a Vec of its exact size when it ends (one allocation, no slack).
    entries: Vec<(Node<'a>, Node<'a>)>,
    /// A [`fingerprint`] of each key in `entries`, so most duplicate checks skip `memcmp`.
    prints: Vec<u32>,
    items: Vec<Node<'a>>,
    /// The last [`Fast::line_end`] answer: from where it searched, and the end it found.
    line: std::cell::Cell<(usize, usize)>,
}

/// Mappings with more keys than this go to the full parser (the duplicate check here scans).
const MAX_KEYS: usize = 64;

impl<'a> Fast<'a> {
    /// The end of the line that `pos` is on (its `\n`, or the end of the text).
    fn line_end(&self, pos: usize) -> usize {
        // Most lines are asked about several times in a row (token, key, value).
        let (from, end) = self.line.get();
        if from <= pos && pos <= end {
            return end;
        }
        let end = memchr::memchr(b'\n', &self.b[pos..]).map_or(self.b.len(), |i| pos + i);
        self.line.set((pos, end));
        end
    }

    /// The first content at or after the line start `from`, skipping blank and comment lines.
    fn token(&self, mut from: usize) -> Option<Token> {
        while from < self.b.len() {
            let end = self.line_end(from);
            let line = &self.b[from..end];
            let indent = line.iter().take_while(|&&c| c == b' ').count();
            match line.get(indent) {
                None | Some(b'#') => {}
                Some(_) => {
                    if indent == 0 && (line.starts_with(b"---") || line.starts_with(b"...")) {
                        return None;
                    }
                    return Some(Token {
                        pos: from + indent,
                        indent: indent as isize,
                    });
                }
            }
            from = end + 1;
        }
        Some(Token {
            pos: self.b.len(),
            indent: -1,
        })
    }

    /// The token on the lines after the one `pos` is on.
    fn token_after_line(&self, pos: usize) -> Option<Token> {
        self.token((self.line_end(pos) + 1).min(self.b.len()))
    }

    /// `- ` or a `-` that ends its line: a block sequence entry.
    fn is_dash(&self, pos: usize) -> bool {
        self.b.get(pos) == Some(&b'-') && matches!(self.b.get(pos + 1), None | Some(b' ' | b'\n'))
    }

    /// A block mapping whose first key is at `first`, its keys at column `indent`.
    fn map(&mut self, first: usize, indent: usize, depth: usize) -> Option<(Node<'a>, Token)> {
        if depth + 2 > self.limits.max_depth {
            return None;
        }
        let mark = self.entries.len();
        let mut pos = first;
        loop {
            let (key, after) = self.key(pos)?;
            let name = key.scalar()?;
            let print = fingerprint(name);
            let open = &self.entries[mark..];
            if open.len() >= MAX_KEYS
                || self.prints[mark..]
                    .iter()
                    .zip(open)
                    .any(|(&p, (k, _))| p == print && k.scalar() == Some(name))
            {
                return None;
            }
            let (value, next) = self.value(key.end, after, indent, depth)?;
            self.entries.push((key, value));
            self.prints.push(print);
            let indent = indent as isize;
            if next.indent < indent {
                let node = Node {
                    start: first,
                    end: next.pos,
                    kind: Kind::Map {
                        flow: false,
                        entries: self.entries.drain(mark..).collect(),
                    },
                };
                self.prints.truncate(mark);
                return Some((node, next));
            }
            if next.indent > indent || self.is_dash(next.pos) {
                return None;
            }
            pos = next.pos;
        }
    }

    /// A mapping key at `pos`: the key and where its value may start (after `:`).
    fn key(&self, pos: usize) -> Option<(Node<'a>, usize)> {
        let end = self.line_end(pos);
        let (node, after) = match self.b[pos] {
            b'"' | b'\'' => self.quoted(pos, end)?,
            c if is_indicator(c) => return None,
            _ => {
                let colon = self.separator(pos, end)?;
                let token = &self.text[pos..colon];
                if token.ends_with(' ') || comment_start(token.as_bytes()).is_some() {
                    return None;
                }
                (plain(token, pos, colon), colon)
            }
        };
        if self.b.get(after) != Some(&b':')
            || !matches!(self.b.get(after + 1), None | Some(b' ' | b'\n'))
        {
            return None;
        }
        // YAML limits an implicit key to 1024 characters; long ones go to the full parser.
        if node.scalar()?.len() > self.limits.max_key_length || after - pos > 1000 {
            return None;
        }
        Some((node, after + 1))
    }

    /// The first `:` in `pos..end` followed by a space or the end of the line.
    fn separator(&self, pos: usize, end: usize) -> Option<usize> {
        memchr::memchr_iter(b':', &self.b[pos..end])
            .map(|i| pos + i)
            .find(|&i| i + 1 == end || self.b[i + 1] == b' ')
    }

    /// The value after a key's `:` at `after`, for a mapping whose keys are at `indent`.
    fn value(
        &mut self,
        key_end: usize,
        after: usize,
        indent: usize,
        depth: usize,
    ) -> Option<(Node<'a>, Token)> {
        let end = self.line_end(after);
        let p = after
            + self.b[after..end]
                .iter()
                .take_while(|&&c| c == b' ')
                .count();
        if p < end && self.b[p] != b'#' {
            let node = self.inline(p, end)?;
            let next = self.token_after_line(p)?;
            return (next.indent <= indent as isize).then_some((node, next));
        }
        let next = self.token_after_line(after)?;
        let indent = indent as isize;
        if next.indent > indent {
            if self.is_dash(next.pos) {
                return self.seq(next, false, depth + 1);
            }
            let end = self.line_end(next.pos);
            if self.is_key(next.pos, end) {
                return self.map(next.pos, next.indent as usize, depth + 1);
            }
            // A scalar, `{}` or `[]` on a line of its own (Helm's `toYaml | nindent`).
            let node = self.inline(next.pos, end)?;
            let after = self.token_after_line(next.pos)?;
            return (after.indent <= indent).then_some((node, after));
        }
        if next.indent == indent && self.is_dash(next.pos) {
            return self.seq(next, true, depth + 1);
        }
        let null = Node {
            start: key_end,
            end: key_end,
            kind: Kind::Scalar {
                value: Cow::Borrowed("~"),
                style: Style::Plain,
                tag: Tag::None,
            },
        };
        Some((null, next))
    }

    /// A block sequence whose first dash is at `first`. An indentless one (dashes at its
    /// key's column) ends at the next key; it starts at its first item's content.
    fn seq(&mut self, first: Token, indentless: bool, depth: usize) -> Option<(Node<'a>, Token)> {
        if depth + 2 > self.limits.max_depth {
            return None;
        }
        let mark = self.items.len();
        let mut dash = first;
        let mut start = first.pos;
        loop {
            let end = self.line_end(dash.pos);
            let p = dash.pos
                + 1
                + self.b[dash.pos + 1..end]
                    .iter()
                    .take_while(|&&c| c == b' ')
                    .count();
            if p >= end || self.b[p] == b'#' || self.is_dash(p) {
                return None;
            }
            if self.items.len() == mark && indentless {
                start = p;
            }
            let (item, next) = if self.is_key(p, end) {
                let col = pos::column(self.text, p);
                self.map(p, col, depth + 1)?
            } else {
                let node = self.inline(p, end)?;
                let next = self.token_after_line(p)?;
                if next.indent > dash.indent {
                    return None;
                }
                (node, next)
            };
            self.items.push(item);
            if next.indent == dash.indent && self.is_dash(next.pos) {
                dash = next;
                continue;
            }
            if next.indent > dash.indent || (next.indent == dash.indent && !indentless) {
                return None;
            }
            let node = Node {
                start,
                end: next.pos,
                kind: Kind::Seq {
                    flow: false,
                    items: self.items.drain(mark..).collect(),
                },
            };
            return Some((node, next));
        }
    }

    /// Whether the line from `p` to `end` holds a mapping key.
    fn is_key(&self, p: usize, end: usize) -> bool {
        match self.b[p] {
            b'"' | b'\'' => self
                .quoted(p, end)
                .is_some_and(|(_, after)| self.b.get(after) == Some(&b':')),
            c => !is_indicator(c) && self.separator(p, end).is_some(),
        }
    }

    /// A scalar, `{}` or `[]` that fills the rest of its line (after a comment is cut).
    fn inline(&self, p: usize, end: usize) -> Option<Node<'a>> {
        let (node, after) = match self.b[p] {
            b'"' | b'\'' => self.quoted(p, end)?,
            b'[' if self.b.get(p + 1) != Some(&b']') => self.flow_seq(p, end)?,
            b'{' | b'[' => {
                let close = if self.b[p] == b'{' { b'}' } else { b']' };
                if self.b.get(p + 1) != Some(&close) {
                    return None;
                }
                let kind = if close == b'}' {
                    Kind::Map {
                        flow: true,
                        entries: Vec::new(),
                    }
                } else {
                    Kind::Seq {
                        flow: true,
                        items: Vec::new(),
                    }
                };
                let node = Node {
                    start: p,
                    end: p + 2,
                    kind,
                };
                (node, p + 2)
            }
            b'-' if self.is_dash(p) || self.text[p..].starts_with("---") => return None,
            c if c != b'-' && is_indicator(c) => return None,
            _ => {
                let line = &self.text[p..end];
                let cut = comment_start(line.as_bytes()).unwrap_or(line.len());
                let token = line[..cut].trim_end_matches(' ');
                let t = token.as_bytes();
                if memchr::memchr_iter(b':', t).any(|i| i + 1 == t.len() || t[i + 1] == b' ') {
                    return None;
                }
                return Some(plain(token, p, p + token.len()));
            }
        };
        // Only white space or a comment may follow.
        let rest = &self.text[after..end];
        let trimmed = rest.trim_start_matches(' ');
        let ok = trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len());
        ok.then_some(node)
    }

    /// A one-line flow sequence of simple scalars at `p`, such as `[ReadWriteOnce]`: the
    /// node and the position after its `]`.
    fn flow_seq(&self, p: usize, end: usize) -> Option<(Node<'a>, usize)> {
        let mut items = Vec::new();
        let mut i = p + 1;
        loop {
            i += self.b[i..end].iter().take_while(|&&c| c == b' ').count();
            let item = match *self.b.get(i)? {
                b'"' | b'\'' => {
                    let (node, after) = self.quoted(i, end)?;
                    i = after;
                    node
                }
                c if is_indicator(c) => return None,
                _ => {
                    let len = self.b[i..end]
                        .iter()
                        .take_while(|&&c| c.is_ascii_alphanumeric() || b"-._/=+~".contains(&c))
                        .count();
                    if len == 0 {
                        return None;
                    }
                    let node = plain(&self.text[i..i + len], i, i + len);
                    i += len;
                    node
                }
            };
            items.push(item);
            i += self.b[i..end].iter().take_while(|&&c| c == b' ').count();
            match self.b.get(i) {
                Some(b',') if i + 1 < end && self.b[i + 1] == b' ' => i += 1,
                Some(b']') => break,
                _ => return None,
            }
        }
        let node = Node {
            start: p,
            end: i + 1,
            kind: Kind::Seq { flow: true, items },
        };
        Some((node, i + 1))
    }

    /// A one-line quoted scalar at `p`: the node and the position after its closing quote.
    /// Double-quoted scalars with escapes go to the full parser.
    fn quoted(&self, p: usize, end: usize) -> Option<(Node<'a>, usize)> {
        let q = self.b[p];
        let mut i = p + 1;
        let mut escaped = false;
        loop {
            let at = i + memchr::memchr(q, &self.b[i..end])?;
            if q == b'"' {
                if self.b[i..at].contains(&b'\\') {
                    return None;
                }
                i = at;
                break;
            }
            if self.b.get(at + 1) == Some(&b'\'') && at + 1 < end {
                escaped = true;
                i = at + 2;
                continue;
            }
            i = at;
            break;
        }
        let inner = &self.text[p + 1..i];
        let value = if escaped {
            Cow::Owned(inner.replace("''", "'"))
        } else {
            Cow::Borrowed(inner)
        };
        let node = Node {
            start: p,
            end: i + 1,
            kind: Kind::Scalar {
                value,
                style: Style::Quoted,
                tag: Tag::None,
            },
        };
        Some((node, i + 1))
    }
}

/// Characters YAML does not allow in a stream (C1 controls, U+FFFE/U+FFFF), or reads
/// differently across versions (NEL and the line and paragraph separators were line breaks
/// in YAML 1.1), and the byte order mark.
pub(super) fn unusual(c: char) -> bool {
    matches!(
        c,
        '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// Length, first and last byte of a key: equal keys have equal fingerprints.
pub(super) fn fingerprint(key: &str) -> u32 {
    let b = key.as_bytes();
    let edge = |c: Option<&u8>| u32::from(c.copied().unwrap_or(0));
    ((b.len() as u32) << 16) | (edge(b.first()) << 8) | edge(b.last())
}

/// Where ` #` (a comment after a space) starts in `b`.
fn comment_start(b: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'#', b)
        .find(|&i| i > 0 && b[i - 1] == b' ')
        .map(|i| i - 1)
}

fn plain(token: &str, start: usize, end: usize) -> Node<'_> {
    Node {
        start,
        end,
        kind: Kind::Scalar {
            value: Cow::Borrowed(token),
            style: Style::Plain,
            tag: Tag::None,
        },
    }
}

/// Characters that may not start a plain scalar (YAML 1.2, c-indicator); `-` only with a
/// following space, which the callers check.
pub(super) fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}
