//! Splits a manifest stream into documents as text, and reads each document's `kind` and
//! `apiVersion` with a cheap line scan so that most documents are never parsed.
//!
//! A line that starts with `---` or `...` followed by nothing or white space is always a
//! document boundary (YAML 1.2, 9.1.4), even inside a block scalar, so splitting needs no
//! parser.

use super::input::Input;
use crate::error::{Failure, Location, redact};
use crate::yaml::edit::EditError;
use crate::yaml::{YamlError, pos};

/// One document: its boundary line (if any) and body, exactly as in the input.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    /// Which input it came from.
    pub source: usize,
    /// That input's name (set by [`number`]).
    pub file: &'a str,
    /// Where `text` starts in that input.
    pub offset: usize,
    /// The document's text including the `---` line that opens it.
    pub text: &'a str,
    /// Where the part to parse starts in `text`: after the boundary line, unless that line
    /// carries content itself (as in `--- {kind: Pod}`), and after a byte order mark.
    pub parse_from: usize,
    /// The 1-based line of `text[parse_from]` in its input.
    pub line: usize,
    /// The 1-based number of this document among the non-empty documents of its input
    /// (set by [`number`]).
    pub number: usize,
    pub header: Header<'a>,
}

/// A document's source name, and the lines of offsets in its body.
pub struct Places {
    pub source: String,
    line: usize,
    /// The offsets of the body's newlines, when indexed.
    newlines: Option<Vec<usize>>,
}

impl Places {
    /// The 1-based line in the input of byte `offset` of `doc`'s body.
    pub fn line_of(&self, doc: &Doc, offset: usize) -> usize {
        match &self.newlines {
            Some(newlines) => self.line + newlines.partition_point(|&n| n < offset),
            None => doc.line_of(offset),
        }
    }

    /// The 1-based byte column of byte `offset` of `doc`'s body: without searching back
    /// to the line's start, when indexed (a one-line JSON List has every item on one line).
    pub fn column_of(&self, doc: &Doc, offset: usize) -> usize {
        let start = match &self.newlines {
            Some(newlines) => match newlines.partition_point(|&n| n < offset) {
                0 => 0,
                i => newlines[i - 1] + 1,
            },
            None => pos::line_start(doc.body(), offset),
        };
        offset - start + 1
    }
}

/// What a line scan of the top-level keys says about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header<'a> {
    pub kind: Option<&'a str>,
    pub api_version: Option<&'a str>,
    /// True when the scan cannot be trusted (flow style, tags, repeated keys) and only a
    /// parse can say what the document is.
    pub opaque: bool,
    /// True when the body holds nothing but comments and blank lines.
    pub empty: bool,
}

pub(crate) fn is_boundary(line: &str) -> bool {
    (line.starts_with("---") || line.starts_with("..."))
        && line[3..].chars().next().is_none_or(char::is_whitespace)
}

/// The byte offsets of the boundary lines of `input`, in order (a boundary at offset 0
/// opens the first document and is not one).
pub fn boundaries(input: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = input.as_bytes();
    // Only lines that start with `---` or `...` can be boundaries: jump between those,
    // merging the two ordered searches.
    let mut dashes = memchr::memmem::find_iter(bytes, b"\n---").peekable();
    let mut dots = memchr::memmem::find_iter(bytes, b"\n...").peekable();
    std::iter::from_fn(move || match (dashes.peek(), dots.peek()) {
        (Some(a), Some(b)) if b < a => dots.next(),
        (Some(_), _) => dashes.next(),
        (None, _) => dots.next(),
    })
    .map(|i| i + 1)
    .filter(move |&pos| {
        let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(input.len(), |i| pos + i + 1);
        is_boundary(&input[pos..end])
    })
}

/// Splits one input into documents, keeping every byte: one more than its
/// [`boundaries`].
pub fn split(source: usize, input: &str) -> Vec<Doc<'_>> {
    split_max(source, input, usize::MAX)
}

/// [`split`], stopping after `max` boundaries (the last of the `max + 1` documents then
/// holds the rest of the input). Inputs over 1 MB are split on every core.
pub fn split_max(source: usize, input: &str, max: usize) -> Vec<Doc<'_>> {
    split_on(source, input, max, crate::parallel::threads(), 1 << 20)
}

/// Splits `n` pieces of `input` apart (on as many threads, from `min_bytes` on) and makes
/// offsets and lines relative to the whole input again.
fn split_on(source: usize, input: &str, max: usize, n: usize, min_bytes: usize) -> Vec<Doc<'_>> {
    let pieces = pieces(input, n);
    let parts = crate::parallel::map(
        &pieces,
        |p| p.1.len(),
        min_bytes,
        |&(_, piece)| split_run(source, piece, max),
    );
    let rest: usize = parts.iter().skip(1).map(|(p, _)| p.len()).sum();
    let mut parts = pieces.iter().zip(parts);
    // The first piece starts the input: its documents are moved as they are.
    let (_, (mut docs, mut lines)) = parts.next().expect("a piece at least");
    docs.reserve(rest);
    for ((offset, _), (part, part_lines)) in parts {
        if docs.len() > max {
            break;
        }
        docs.extend(part.into_iter().map(|mut doc| {
            doc.offset += offset;
            doc.line += lines;
            doc
        }));
        lines += part_lines;
    }
    docs
}

/// Cuts `input` into at most `n` pieces of about equal size, each after the first starting
/// at a boundary: `(offset, piece)` pairs.
fn pieces(input: &str, n: usize) -> Vec<(usize, &str)> {
    let mut cuts = vec![0];
    for k in 1..n {
        let last = cuts[cuts.len() - 1];
        let mut target = (input.len() / n * k).max(last);
        while !input.is_char_boundary(target) {
            target += 1;
        }
        match boundaries(&input[target..]).next() {
            Some(at) => cuts.push(target + at),
            None => break,
        }
    }
    cuts.push(input.len());
    cuts.windows(2)
        .map(|w| (w[0], &input[w[0]..w[1]]))
        .collect()
}

/// One piece, on this thread: its documents and how many lines it has (`\n`s).
fn split_run(source: usize, input: &str, max: usize) -> (Vec<Doc<'_>>, usize) {
    let bytes = input.as_bytes();
    let mut docs = Vec::new();
    let (mut start, mut start_line) = (0, 1);
    for pos in boundaries(input).take(max) {
        docs.push(make_doc(source, input, start..pos, start_line));
        start_line += memchr::memchr_iter(b'\n', &bytes[start..pos]).count();
        start = pos;
    }
    docs.push(make_doc(source, input, start..input.len(), start_line));
    let lines = start_line - 1 + memchr::memchr_iter(b'\n', &bytes[start..]).count();
    (docs, lines)
}

/// The document `input[range]`, whose text starts on line `line`.
pub(crate) fn make_doc(
    source: usize,
    input: &str,
    range: std::ops::Range<usize>,
    line: usize,
) -> Doc<'_> {
    let offset = range.start;
    let text = &input[range];
    let first_end = text.find('\n').map_or(text.len(), |i| i + 1);
    let (parse_from, line) = if is_boundary(&text[..first_end]) {
        let rest = text[3..first_end].trim();
        if rest.is_empty() || rest.starts_with('#') {
            (
                first_end,
                line + usize::from(text[..first_end].ends_with('\n')),
            )
        } else {
            (0, line)
        }
    } else {
        (0, line)
    };
    // A byte order mark may open any document (YAML 1.2, 5.2). It stays in the head, with
    // the boundary line: columns, the header scan and edits start after it.
    let parse_from = match text[parse_from..].strip_prefix('\u{feff}') {
        Some(rest) => text.len() - rest.len(),
        None => parse_from,
    };
    Doc {
        source,
        file: "",
        offset,
        text,
        parse_from,
        line,
        number: 0,
        header: scan(&text[parse_from..]),
    }
}

impl Doc<'_> {
    /// True when the document starts with its own boundary line (`---` or `...`).
    pub fn opens_itself(&self) -> bool {
        is_boundary(self.text.lines().next().unwrap_or_default())
    }

    /// The text to parse: after the boundary line and a byte order mark.
    pub fn body(&self) -> &str {
        &self.text[self.parse_from..]
    }

    /// The name of the input the document came from, with its origin: the `# Source:`
    /// comment of its head (the comments before its first line of content), or else the
    /// Helm 4 filename or KRM path annotation of its own top-level `metadata.annotations`.
    /// Nothing deeper in the document (an item's data, a block scalar) is read. Stdin
    /// without either is `<stdin>`.
    pub fn source_name(&self) -> String {
        let body = self.body();
        let origin = head_source(body).or_else(|| top_annotation(body));
        match (self.file, origin) {
            ("-", Some(o)) => o,
            ("-", None) => "<stdin>".to_string(),
            (f, Some(o)) => format!("{f}: {o}"),
            (f, None) => f.to_string(),
        }
    }

    /// The path of the `# Source:` comment in the document's head, which Helm 3 writes.
    pub fn source_comment(&self) -> Option<String> {
        head_source(self.body())
    }

    /// The source name and a line finder for the objects of this document; `many`: index
    /// its lines, for a List whose items each ask.
    pub fn places(&self, many: bool) -> Places {
        let body = self.body();
        Places {
            source: self.source_name(),
            line: self.line,
            newlines: many.then(|| memchr::memchr_iter(b'\n', body.as_bytes()).collect()),
        }
    }

    /// The 1-based line in the input of byte `offset` of the body.
    pub fn line_of(&self, offset: usize) -> usize {
        let body = self.body();
        self.line + pos::lines_before(body, offset.min(body.len()))
    }

    /// Where byte `offset` of the body is (the body's start when `None`).
    pub fn place(&self, offset: Option<usize>) -> Location {
        let body = self.body();
        let offset = offset.unwrap_or(0).min(body.len());
        Location {
            document: self.number,
            source: self.source_name(),
            line: self.line_of(offset),
            column: pos::column(body, offset) + 1,
        }
    }

    /// A failure at byte `offset` of the body.
    pub fn fail(&self, offset: Option<usize>, message: String) -> Failure {
        Failure::at(self.place(offset), message)
    }

    /// A YAML syntax error in the body. In a document that holds a Secret, what the message
    /// quotes (a duplicate key) is masked ([`redact::sensitive`]).
    pub fn yaml_error(&self, mut e: YamlError) -> Failure {
        if redact::sensitive(self.body(), None) {
            e.message = redact::message(&e.message);
        }
        Failure::yaml(self.place(None), e)
    }

    /// Why an edit of the body could not be made as text.
    pub fn edit_error(&self, e: EditError) -> Failure {
        match e {
            EditError::Aliased { at, anchor, alias } => self
                .fail(
                    Some(at),
                    format!(
                        "gunj-mesh must change this, but it is part of the anchored node that \
                         starts on line {} and that the alias on line {} uses too: the edit \
                         would change both",
                        self.line_of(anchor),
                        self.line_of(alias)
                    ),
                )
                .hint(
                    "write this part out where gunj-mesh edits it, or merge the anchor in there \
                     (`labels: {<<: *name}`) and keep the anchor for its other uses",
                ),
            EditError::Unsupported { at, why, hint } => self
                .fail(
                    Some(at),
                    format!("gunj-mesh cannot make its edit here: {why}"),
                )
                .hint(hint),
            EditError::WrongType { at, expected } => self
                .fail(Some(at), format!("expected {expected} here"))
                .hint("labels and annotations must be mappings of strings"),
        }
    }
}

/// The path of a `# Source:` comment among the comments that open `text` (a carriage
/// return ends a line too, so that a file of old Mac line endings is not quoted whole).
fn head_source(text: &str) -> Option<String> {
    for line in text.split(['\n', '\r']) {
        let line = line.trim_end();
        if line.is_empty() || is_boundary(line) {
            continue;
        }
        if !line.starts_with('#') {
            return None;
        }
        if let Some(path) = line.strip_prefix("# Source: ") {
            return Some(path.trim().to_string());
        }
    }
    None
}

/// Where Helm 4 tells a post-renderer each document's template file.
pub const HELM4_FILENAME: &str = "postrenderer.helm.sh/postrender-filename";

/// The annotations that name a document's origin: Helm 4's filename, the KRM path.
const ORIGIN_ANNOTATIONS: [&str; 2] = [HELM4_FILENAME, "config.kubernetes.io/path"];

/// The first [`ORIGIN_ANNOTATIONS`] value in the block-style `metadata.annotations` of a
/// document's top level, by a scan of indentation.
fn top_annotation(body: &str) -> Option<String> {
    // The indentation of `metadata`'s entries, and of `annotations`'s, once inside them.
    let (mut metadata, mut annotations): (Option<Option<usize>>, Option<Option<usize>>) =
        (None, None);
    for line in body.lines() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        let content = content.trim_end();
        if indent == 0 {
            metadata = (content == "metadata:").then_some(None);
            annotations = None;
            continue;
        }
        let Some(meta) = metadata.as_mut() else {
            continue;
        };
        let meta = *meta.get_or_insert(indent);
        if indent <= meta {
            annotations = (indent == meta && content == "annotations:").then_some(None);
            continue;
        }
        let Some(ann) = annotations.as_mut() else {
            continue;
        };
        if indent != *ann.get_or_insert(indent) {
            continue;
        }
        if let Some((key, value)) = content.split_once(':') {
            let key = key.trim().trim_matches(['\'', '"']);
            if ORIGIN_ANNOTATIONS.contains(&key) {
                return Some(value.trim().trim_matches(['\'', '"']).to_string());
            }
        }
    }
    None
}

/// Numbers the non-empty documents of each input, as error messages count them (with the
/// input's name, which they give), and names their inputs. The documents inputs left in
/// their files ([`super::left::Left`]) count, and their lines move the line numbers of the
/// documents after them in the same input.
pub fn number<'a>(docs: &mut [Doc<'a>], inputs: &'a [Input]) {
    let (mut n, mut lines, mut source) = (0, 0, usize::MAX);
    let mut runs = inputs
        .iter()
        .enumerate()
        .flat_map(|(i, input)| input.runs().iter().map(move |r| (i, r)))
        .peekable();
    for doc in docs {
        if doc.source != source {
            (n, lines, source) = (0, 0, doc.source);
        }
        while let Some((i, run)) = runs.next_if(|&(i, r)| (i, r.at) <= (doc.source, doc.offset)) {
            if i == source {
                n += run.docs;
                lines += run.lines;
            }
        }
        doc.line += lines;
        doc.file = &inputs[doc.source].name;
        if !doc.header.empty {
            n += 1;
        }
        doc.number = n.max(1);
    }
}

/// The documents of all inputs, numbered as error messages count them; more than
/// `max_documents` is an error (`--max-documents`). Splitting stops there: a stream of bare
/// `---` lines costs far more memory as documents than as text.
pub fn documents(inputs: &[Input], max_documents: usize) -> Result<Vec<Doc<'_>>, Failure> {
    let mut docs = Vec::new();
    // Documents left in the files count ([`number`] places the rest by them).
    let mut left_docs = 0;
    for (i, input) in inputs.iter().enumerate() {
        left_docs += input.runs().iter().map(|r| r.docs).sum::<usize>();
        let left = max_documents.saturating_sub(docs.len() + left_docs);
        let split = split_max(i, &input.text, left);
        if split.len() > left {
            return Err(Failure::too_many_documents(&input.name, max_documents));
        }
        if docs.is_empty() {
            docs = split;
        } else {
            docs.extend(split);
        }
    }
    number(&mut docs, inputs);
    Ok(docs)
}

/// Enforces `--max-input-bytes` before the stream is split.
pub fn check_size(inputs: &[Input], max_input_bytes: usize) -> Result<(), Failure> {
    let mut bytes = 0;
    for input in inputs {
        bytes += input.bytes();
        if bytes > max_input_bytes {
            return Err(Failure::too_large(&input.name, max_input_bytes));
        }
    }
    Ok(())
}

/// The `apiVersion`s the header scan read, documents left in the input files included.
pub fn api_versions<'a>(
    inputs: &'a [Input],
    docs: &'a [Doc<'a>],
) -> impl Iterator<Item = &'a str> + 'a {
    let left = inputs.iter().filter_map(|i| i.left.as_deref());
    docs.iter()
        .filter_map(|d| d.header.api_version)
        .chain(left.flat_map(|l| l.api_versions.iter().map(String::as_str)))
}

/// Reads `kind:` and `apiVersion:` from lines at column 0.
pub fn scan(body: &str) -> Header<'_> {
    let mut header = Header {
        empty: true,
        ..Header::default()
    };
    // The first content line tells whether the top level is a plain block mapping; later
    // lines at column 0 may still be `- ` items of a top-level key's sequence.
    let first = body.lines().find(|l| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#')
    });
    let Some(first) = first else { return header };
    header.empty = false;
    header.opaque = first.starts_with(['{', '[', '!', '&', '"', '\'', '%', '?', '-']);
    // The searchers are built once: their set-up costs more than a short document's search.
    const NEEDLES: [&str; 2] = ["\nkind:", "\napiVersion:"];
    static FINDERS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 2]> =
        std::sync::LazyLock::new(|| NEEDLES.map(memchr::memmem::Finder::new));
    let slots = [&mut header.kind, &mut header.api_version];
    for ((needle, finder), slot) in NEEDLES.iter().zip(FINDERS.iter()).zip(slots) {
        let lines = body.strip_prefix(&needle[1..]).into_iter().chain(
            finder
                .find_iter(body.as_bytes())
                .map(|i| &body[i + needle.len()..]),
        );
        for rest in lines {
            let rest = &rest[..rest.find('\n').unwrap_or(rest.len())];
            match scalar(rest) {
                Some(v) if slot.is_none() => *slot = Some(v),
                _ => header.opaque = true,
            }
        }
    }
    if header.kind.is_none() {
        header.opaque = true;
    }
    header
}

/// A simple one-line scalar value, without quotes or trailing comment.
fn scalar(rest: &str) -> Option<&str> {
    let v = rest.trim().trim_end_matches('\r');
    let v = match v.find(" #") {
        Some(i) => v[..i].trim_end(),
        None => v,
    };
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v);
    let simple = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'));
    simple.then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<&str> {
        split(0, input).iter().map(|d| d.text).collect()
    }

    #[test]
    fn splits_on_boundaries_and_keeps_every_byte() {
        let input = "# head\n---\n# Source: a\nkind: A\n---\r\nkind: B\n...\n--- # c\nkind: C";
        let docs = split(0, input);
        assert_eq!(texts(input).concat(), input);
        assert_eq!(docs.len(), 5);
        assert_eq!(docs[1].header.kind, Some("A"));
        assert_eq!(docs[1].line, 3);
        assert_eq!(docs[2].header.kind, Some("B"));
        assert!(docs[3].header.empty);
        assert_eq!(docs[4].header.kind, Some("C"));
        assert_eq!(&docs[4].text[docs[4].parse_from..], "kind: C");
    }

    #[test]
    fn pieces_split_apart_give_the_documents_of_the_whole() {
        let inputs = [
            "a: 1\n---\nb: é\n---\n# c\n---\n--- {kind: Pod}\nd: 日本\n...\ne: 5\n",
            "---\n---\n---\n",
            "é\n---\n",
            "",
            "no boundary at all\n",
        ];
        fn key<'a>(d: &Doc<'a>) -> (usize, &'a str, usize, usize, Option<&'a str>) {
            (d.offset, d.text, d.parse_from, d.line, d.header.kind)
        }
        for input in inputs {
            let whole: Vec<_> = split(0, input).iter().map(key).collect();
            for n in 1..6 {
                let parts: Vec<_> = split_on(0, input, usize::MAX, n, 0)
                    .iter()
                    .map(key)
                    .collect();
                assert_eq!(parts, whole, "{input:?} in {n} pieces");
            }
            // Past the limit either way.
            assert_eq!(
                split_on(0, input, 1, 3, 0).len() > 1,
                whole.len() > 1,
                "{input:?}"
            );
        }
    }

    #[test]
    fn boundary_inside_a_block_scalar_still_splits() {
        let input = "data:\n  x: |\n---\nkind: B\n";
        assert_eq!(texts(input), ["data:\n  x: |\n", "---\nkind: B\n"]);
    }

    #[test]
    fn boundaries_are_ordered_and_skip_offset_zero() {
        let input = "---\na: 1\n...\n---\nb: 2\n--- x\n";
        assert_eq!(boundaries(input).collect::<Vec<_>>(), [9, 13, 22]);
        assert_eq!(split(0, input).len(), 4);
    }

    /// Found by fuzzing: a final `---` without a newline put its empty body a line too low.
    #[test]
    fn a_final_marker_without_newline_stays_on_its_line() {
        let docs = split(0, "a: 1\n---");
        assert_eq!((docs[1].parse_from, docs[1].line), (3, 2));
    }

    #[test]
    fn marker_lookalikes_do_not_split() {
        assert_eq!(texts("a: 1\n----\n---x\n").len(), 1);
    }

    #[test]
    fn header_scan_is_conservative() {
        assert_eq!(
            scan("kind: \"Deployment\" # c\napiVersion: apps/v1\n").kind,
            Some("Deployment")
        );
        assert!(scan("{kind: Pod}").opaque);
        assert!(scan("kind: A\nkind: B\n").opaque);
        assert!(scan("kind: !!str Pod\n").opaque);
        assert!(scan("metadata:\n  kind: Pod\n").opaque);
        assert!(scan("- kind: Pod\n").opaque);
        let list = scan("apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n");
        assert_eq!((list.kind, list.opaque), (Some("List"), false));
        assert!(scan("# only\n\n").empty);
    }

    #[test]
    fn content_on_the_marker_line_is_parsed_with_it() {
        let docs = split(0, "a: 1\n--- {kind: Pod}\n");
        assert_eq!(docs[1].parse_from, 0);
        assert!(docs[1].header.opaque);
    }

    #[test]
    fn the_origin_is_read_from_the_head_and_the_top_level_annotations_only() {
        let doc = |text| split(0, text).remove(0);
        let helm4 = "apiVersion: v1\nkind: List\nmetadata:\n  name: x\n  annotations:\n    a: |\n      config.kubernetes.io/path: no\n    postrenderer.helm.sh/postrender-filename: 'chart/templates/a.yaml'\nitems:\n- metadata:\n    annotations:\n      config.kubernetes.io/path: no\n";
        let mut d = doc(helm4);
        d.file = "-";
        assert_eq!(d.source_name(), "chart/templates/a.yaml");
        let item_only = "kind: List\nitems:\n- metadata:\n    annotations:\n      config.kubernetes.io/path: no\n";
        let mut d = doc(item_only);
        d.file = "in.yaml";
        assert_eq!(d.source_name(), "in.yaml");
        let mut d = doc("# a comment\n# Source: c/t.yaml\nkind: Pod\ndata: |\n# Source: no\n");
        d.file = "-";
        assert_eq!(d.source_name(), "c/t.yaml");
    }
}
