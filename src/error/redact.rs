//! What of the input may be shown. Input text that reaches a report, an error or the Helm
//! error log goes through here: lines of a document (a diff, an excerpt around an error)
//! through [`document`] or [`excerpt`], a message that quotes the input through [`message`]
//! when [`sensitive`] says the place is under a Secret, and every line shown (names of
//! objects, namespaces and files, annotation values) through [`line`].
//!
//! Under a Secret only `apiVersion`, `kind`, `type`, `immutable` and `metadata.name`,
//! `namespace`, `generateName` and `labels` are shown. Every other value (`data`,
//! `stringData`, annotations such as `kubectl.kubernetes.io/last-applied-configuration`,
//! which repeat the data) is masked, the keys inside it included. A mapping is a Secret
//! when its `kind` is `Secret`, wherever it is: a document, an item of a List or
//! ResourceList, a template inside another object. A document that may spell `Secret`
//! (the word, or a double-quoted escape such as `"Secr\u0065t"`) and does not parse is
//! masked whole.

use crate::yaml::{self, Kind, Limits, Node};
use std::borrow::Cow;
use std::ops::Range;

/// What a masked stretch of a line becomes.
pub const MASK: &str = "<redacted>";

/// Fields of a Secret that are shown.
const SHOWN: &[&str] = &["apiVersion", "kind", "type", "immutable"];

/// Fields of a Secret's `metadata` that are shown.
const SHOWN_METADATA: &[&str] = &["name", "namespace", "generateName", "labels"];

/// `s` fit to be one line of a terminal or log: control characters (line breaks, escape
/// sequences, carriage returns), line and paragraph separators and bidirectional overrides
/// are written as escapes (`\n`, `\u{1b}`).
pub fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// One YAML document's text with everything under a Secret masked: each masked line keeps
/// its indentation and line break, so the text has as many lines as before.
pub fn document(text: &str) -> Cow<'_, str> {
    match masked(text) {
        Some(ranges) if ranges.is_empty() => Cow::Borrowed(text),
        Some(ranges) => Cow::Owned(apply(text, ranges)),
        None => Cow::Owned(apply(text, std::iter::once(0..text.len()).collect())),
    }
}

/// True when byte `offset` of one document's text is masked by [`document`]; with `None`,
/// when anything of the text would be where an unparsed error could be: a document that
/// may hold a Secret and does not parse.
pub fn sensitive(text: &str, offset: Option<usize>) -> bool {
    match (masked(text), offset) {
        (None, _) => true,
        (Some(ranges), Some(at)) => ranges.iter().any(|r| r.contains(&at)),
        (Some(_), None) => false,
    }
}

/// A message that quotes the input between backquotes (`` duplicate key `x` ``), with the
/// quoted part masked.
pub fn message(message: &str) -> String {
    match (message.find('`'), message.rfind('`')) {
        (Some(first), Some(last)) if first < last => {
            format!("{}`{MASK}`{}", &message[..first], &message[last + 1..])
        }
        _ => message.to_string(),
    }
}

/// The lines around 1-based `line` of one document's text, masked ([`document`]) and
/// escaped ([`line`](fn@line)), numbered as `first_line` numbers the text's first line,
/// with a caret under 1-based `column`.
pub fn excerpt(text: &str, line_no: usize, column: usize, first_line: usize) -> String {
    let masked = document(text);
    let lines: Vec<&str> = masked.lines().collect();
    if line_no == 0 || line_no > lines.len() {
        return String::new();
    }
    let from = line_no.saturating_sub(2).max(1);
    let to = (line_no + 1).min(lines.len());
    let width = (to + first_line - 1).to_string().len();
    let mut out = String::new();
    for n in from..=to {
        let shown = line(lines[n - 1].trim_end_matches('\r'));
        out.push_str(&format!(
            "{:>width$} | {}\n",
            n + first_line - 1,
            shown.trim_end()
        ));
        if n == line_no {
            let before = lines[n - 1]
                .chars()
                .take(column.saturating_sub(1))
                .map(|c| line(&c.to_string()).chars().count())
                .sum::<usize>();
            out.push_str(&format!("{:>width$} | {}^\n", "", " ".repeat(before)));
        }
    }
    out
}

/// Whether `text` may hold a Secret: it has the word, or a backslash, with which a
/// double-quoted scalar can spell the word; the cheap test that spares a parse.
fn may_hold_secret(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), b"Secret").is_some()
        || memchr::memchr(b'\\', text.as_bytes()).is_some()
}

/// The byte ranges of one document's text to mask; `None` when the text may hold a Secret
/// and does not parse, and so is masked whole.
fn masked(text: &str) -> Option<Vec<Range<usize>>> {
    if !may_hold_secret(text) {
        return Some(Vec::new());
    }
    match yaml::parse(text, Limits::default()) {
        Ok(Some(node)) => {
            let mut out = Vec::new();
            walk(&node, &mut out);
            Some(out)
        }
        Ok(None) => Some(Vec::new()),
        Err(_) => None,
    }
}

/// Finds the Secrets at or under `node`. An alias is looked at where its anchor is.
fn walk(node: &Node, out: &mut Vec<Range<usize>>) {
    match &node.kind {
        Kind::Map { entries, .. } => {
            if node.get("kind").and_then(Node::scalar) == Some("Secret") {
                secret(entries, out);
            } else {
                for (_, value) in entries {
                    walk(value, out);
                }
            }
        }
        Kind::Seq { items, .. } => {
            for item in items {
                walk(item, out);
            }
        }
        Kind::Scalar { .. } | Kind::Alias(_) => {}
    }
}

/// Masks what a Secret does not show.
fn secret(entries: &[(Node, Node)], out: &mut Vec<Range<usize>>) {
    for (key, value) in entries {
        match key.scalar() {
            Some(k) if SHOWN.contains(&k) => {}
            Some("metadata") if matches!(value.kind, Kind::Map { .. }) => {
                for (key, value) in value.entries().unwrap_or_default() {
                    if !key.scalar().is_some_and(|k| SHOWN_METADATA.contains(&k)) {
                        mask(value, out);
                    }
                }
            }
            _ => mask(value, out),
        }
    }
}

/// Masks a value, and the anchored value it is an alias of.
fn mask(value: &Node, out: &mut Vec<Range<usize>>) {
    out.push(value.start..value.end);
    if let Kind::Alias(_) = &value.kind {
        let target = value.resolved();
        out.push(target.start..target.end);
    }
}

/// `text` with each range masked line by line: what a line of a range holds besides its
/// leading and trailing white space becomes [`MASK`].
fn apply(text: &str, mut ranges: Vec<Range<usize>>) -> String {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        let r = r.start.min(text.len())..r.end.min(text.len());
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ if r.is_empty() => {}
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in merged {
        out.push_str(&text[at..r.start]);
        for piece in text[r.clone()].split_inclusive('\n') {
            let content = piece.trim();
            if content.is_empty() || is_boundary(piece) {
                out.push_str(piece);
                continue;
            }
            let lead = piece.len() - piece.trim_start().len();
            let trail = piece.trim_end().len();
            out.push_str(&piece[..lead]);
            out.push_str(MASK);
            out.push_str(&piece[trail..]);
        }
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A `---` or `...` document boundary line: kept when a whole document is masked.
fn is_boundary(line: &str) -> bool {
    (line.starts_with("---") || line.starts_with("..."))
        && line[3..].chars().next().is_none_or(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: admin\n  annotations:\n    note: hunter2\ndata:\n  password: aHVudGVyMg==\nstringData:\n  config: |\n    user: admin\n    pass: hunter2\ntype: Opaque\n";

    #[test]
    fn a_secret_shows_its_identity_and_masks_the_rest_line_for_line() {
        let masked = document(SECRET);
        assert!(
            !masked.contains("hunter2") && !masked.contains("aHVudGVyMg"),
            "{masked}"
        );
        assert_eq!(masked.lines().count(), SECRET.lines().count());
        for kept in [
            "kind: Secret",
            "  name: admin",
            "type: Opaque",
            "data:",
            "  annotations:",
        ] {
            assert!(masked.contains(kept), "{kept}: {masked}");
        }
        assert!(masked.contains("    <redacted>\n"), "{masked}");
    }

    #[test]
    fn secrets_in_lists_flow_style_and_aliases_are_masked() {
        let list = format!("kind: List\nitems:\n- {}", SECRET.replace('\n', "\n  "));
        assert!(!document(&list).contains("hunter2"), "{}", document(&list));
        let escaped = "{kind: \"Secr\\u0065t\", data: {p: hunter2}}";
        assert!(
            !document(escaped).contains("hunter2"),
            "{}",
            document(escaped)
        );
        let flow =
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"},"data":{"p":"hunter2"}}"#;
        assert_eq!(
            document(flow),
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"},"data":<redacted>}"#
        );
        let alias = "kind: List\nitems:\n- kind: ConfigMap\n  data: &d {p: hunter2}\n- kind: Secret\n  data: *d\n";
        assert!(!document(alias).contains("hunter2"), "{}", document(alias));
    }

    #[test]
    fn a_document_that_mentions_a_secret_and_does_not_parse_is_masked_whole() {
        let broken = "kind: Secret\ndata:\n  a: \"hunter2\n";
        assert!(!document(broken).contains("hunter2"));
        assert!(sensitive(broken, None));
        assert!(!sensitive("kind: ConfigMap\ndata: {a: \"b\n", None));
    }

    #[test]
    fn other_documents_are_untouched() {
        let cm = "kind: ConfigMap\ndata:\n  secretName: Secret\n";
        assert_eq!(document(cm), cm);
        assert!(matches!(document("kind: Pod\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_escape_control_characters() {
        assert_eq!(line("a\nb\u{1b}[31m\u{202e}"), "a\\nb\\u{1b}[31m\\u{202e}");
        assert!(matches!(
            line("deployment monitoring/grafana"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn messages_mask_what_they_quote() {
        assert_eq!(
            message("duplicate key `hunter2`"),
            "duplicate key `<redacted>`"
        );
        assert_eq!(message("no quote"), "no quote");
    }

    #[test]
    fn excerpts_are_masked_numbered_and_point_at_the_column() {
        let e = excerpt(SECRET, 8, 3, 10);
        assert!(!e.contains("aHVudGVyMg"), "{e}");
        assert!(e.contains("17 |   <redacted>\n   |   ^\n"), "{e}");
    }
}
