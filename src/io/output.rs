//! The filtered stream as pieces: runs of input copied as they are, documents left in an
//! input file ([`super::left::Left`]), and new text (edited documents, generated
//! resources). Nothing is assembled in memory: [`Output::write_to`] writes the pieces in
//! order, so untouched bytes go from the input buffer or file straight out.

use super::input::Input;
use super::left::{Left, Run};
use super::stream::Doc;
use std::io::{self, BufWriter, Write};

/// The output stream of one run, borrowing the inputs it copies from.
#[derive(Debug, Clone, Default)]
pub struct Output<'a> {
    inputs: &'a [Input],
    pieces: Vec<Piece>,
    /// Per input, how many of its left runs are placed already.
    placed: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Piece {
    /// Bytes `start..end` of input `source`.
    Copy {
        source: usize,
        start: usize,
        end: usize,
    },
    /// Run `run` of the documents input `source` left in its file.
    Left {
        source: usize,
        run: usize,
    },
    Text(String),
}

/// What a piece holds, as far as line ends and blankness go.
enum View<'s> {
    Str(&'s str),
    Run(&'s Run),
}

impl<'a> Output<'a> {
    pub fn new(inputs: &'a [Input]) -> Self {
        Output {
            inputs,
            pieces: Vec::new(),
            placed: vec![0; inputs.len()],
        }
    }

    /// Appends `inputs[source].text[start..end]`; a run that continues the previous one
    /// becomes part of it.
    pub fn copy(&mut self, source: usize, start: usize, end: usize) {
        if start == end {
            return;
        }
        if let Some(Piece::Copy {
            source: s, end: e, ..
        }) = self.pieces.last_mut()
            && *s == source
            && *e == start
        {
            *e = end;
            return;
        }
        self.pieces.push(Piece::Copy { source, start, end });
    }

    /// The next run input `source` left in its file, if it comes at or before `at` in its
    /// text.
    pub fn next_left(&self, source: usize, at: usize) -> Option<Run> {
        let runs = self.inputs[source].runs();
        runs.get(self.placed[source])
            .filter(|r| r.at <= at)
            .copied()
    }

    /// Appends the runs input `source` left in its file up to `at` in its text.
    pub fn copy_left(&mut self, source: usize, at: usize) {
        while self.next_left(source, at).is_some() {
            let run = self.placed[source];
            self.pieces.push(Piece::Left { source, run });
            self.placed[source] += 1;
        }
    }

    /// Puts text in front of everything else.
    pub fn prepend(&mut self, text: String) {
        if !text.is_empty() {
            self.pieces.insert(0, Piece::Text(text));
        }
    }

    pub fn push_str(&mut self, text: &str) {
        self.push(text.to_string());
    }

    pub fn push(&mut self, text: String) {
        if !text.is_empty() {
            self.pieces.push(Piece::Text(text));
        }
    }

    fn views(&self) -> impl DoubleEndedIterator<Item = View<'_>> {
        self.pieces.iter().map(|p| match p {
            Piece::Copy { source, start, end } => {
                View::Str(&self.inputs[*source].text[*start..*end])
            }
            Piece::Left { source, run } => View::Run(&self.inputs[*source].runs()[*run]),
            Piece::Text(t) => View::Str(t),
        })
    }

    /// True when the output holds nothing but white space.
    pub fn is_blank(&self) -> bool {
        // Documents left in a file are never blank: the header scan found content.
        self.views()
            .all(|v| matches!(v, View::Str(s) if s.trim().is_empty()))
    }

    /// Ends the last line and, when `marker` is set and something precedes, writes a `---`
    /// line, so that what follows is a document of its own.
    pub fn begin_document(&mut self, marker: bool) {
        if !self.ends_line() {
            self.push_str("\n");
        }
        if marker && !self.is_blank() {
            self.push_str("---\n");
        }
    }

    /// True when the output is empty or ends a line.
    fn ends_line(&self) -> bool {
        match self.views().next_back() {
            None => true,
            Some(View::Str(s)) => s.ends_with('\n'),
            Some(View::Run(r)) => r.ends_line,
        }
    }

    /// The whole output as one string (tests, diffs, KRM).
    ///
    /// # Panics
    /// When documents left in an input file cannot be read back from it.
    pub fn text(&self) -> String {
        let mut bytes = Vec::new();
        self.write_to(&mut bytes)
            .expect("the input files can be read again");
        String::from_utf8(bytes).expect("inputs and generated text are UTF-8")
    }

    /// Writes the pieces in order, then checks that no input file it copied from changed
    /// meanwhile.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        self.write_pieces(out, |_, _, _| Ok(false))
    }

    /// [`Output::write_to`] for a buffered file or stdout: on Linux, documents left in an
    /// input file go from that file to `out`'s file descriptor by `sendfile(2)`, without
    /// passing through memory.
    pub fn write_to_file<W: Write + AsFdIfUnix>(&self, out: &mut BufWriter<W>) -> io::Result<()> {
        // Once `out` refuses `sendfile`, it will refuse every time.
        let mut sendable = true;
        self.write_pieces(out, |out, left, run| {
            #[cfg(target_os = "linux")]
            {
                if sendable {
                    out.flush()?;
                    sendable = left.send(run, out.get_ref())?;
                }
                Ok(sendable)
            }
            #[cfg(not(target_os = "linux"))]
            {
                let _ = (out, left, run, &mut sendable);
                Ok(false)
            }
        })
    }

    /// Writes the pieces; `send` may write a run left in a file itself (true) or leave it
    /// to a copy through memory (false).
    fn write_pieces<W: Write>(
        &self,
        out: &mut W,
        mut send: impl FnMut(&mut W, &Left, &Run) -> io::Result<bool>,
    ) -> io::Result<()> {
        let mut scratch = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Copy { source, start, end } => {
                    out.write_all(&self.inputs[*source].text.as_bytes()[*start..*end])?
                }
                Piece::Left { source, run } => {
                    let input = &self.inputs[*source];
                    let left = input.left.as_ref().expect("a run comes from a file");
                    let run = &input.runs()[*run];
                    if !send(out, left, run)? {
                        left.copy(run, &mut scratch, out)?
                    }
                }
                Piece::Text(t) => out.write_all(t.as_bytes())?,
            }
        }
        out.flush()?;
        for left in self.inputs.iter().filter_map(|i| i.left.as_deref()) {
            left.unchanged()?;
        }
        Ok(())
    }
}

/// The output stream: every document in stream order, as its new text where `edited` has
/// one (`(document index, text)`, in order) and else as its input bytes, with the documents
/// the inputs left in their files in place; the documents in `dropped` (in-stream configs)
/// left out; then each of `generated` as a document of its own.
pub fn assemble<'a>(
    inputs: &'a [Input],
    docs: &[Doc],
    dropped: &[usize],
    edited: impl IntoIterator<Item = (usize, String)>,
    generated: impl IntoIterator<Item = String>,
) -> Output<'a> {
    let mut edited = edited.into_iter().peekable();
    let mut output = Output::new(inputs);
    for (i, doc) in docs.iter().enumerate() {
        let config_doc = dropped.contains(&i);
        if i > 0 && doc.source != docs[i - 1].source {
            output.copy_left(docs[i - 1].source, usize::MAX);
            // Between two inputs: a `---` line, unless what comes first starts with its own.
            match output.next_left(doc.source, doc.offset) {
                Some(run) => output.begin_document(!run.opens_itself),
                None if !config_doc => output.begin_document(!doc.opens_itself()),
                None => {}
            }
        }
        output.copy_left(doc.source, doc.offset);
        if config_doc {
            continue;
        }
        match edited.next_if(|(at, _)| *at == i) {
            Some((_, text)) => output.push(text),
            None => output.copy(doc.source, doc.offset, doc.offset + doc.text.len()),
        }
    }
    if let Some(last) = docs.last() {
        output.copy_left(last.source, usize::MAX);
    }
    for text in generated {
        output.begin_document(true);
        output.push(text);
    }
    if output.is_blank() && !inputs.iter().all(|i| i.text.trim().is_empty()) {
        // The stream held only the config: give back something Helm 4 accepts.
        output = Output::new(inputs);
        for (i, input) in inputs.iter().enumerate() {
            output.copy(i, 0, input.text.len());
        }
    }
    output
}

/// What [`Output::write_to_file`] writes to: on Unix, something with a file descriptor.
#[cfg(unix)]
pub trait AsFdIfUnix: std::os::fd::AsFd {}
#[cfg(unix)]
impl<T: std::os::fd::AsFd> AsFdIfUnix for T {}
#[cfg(not(unix))]
pub trait AsFdIfUnix {}
#[cfg(not(unix))]
impl<T> AsFdIfUnix for T {}

impl From<String> for Output<'_> {
    fn from(text: String) -> Self {
        let mut output = Output::default();
        output.push(text);
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacent_copies_merge_and_pieces_keep_their_order() {
        let inputs = [Input::new("-", "a: 1\n---\nb: 2\n")];
        let mut out = Output::new(&inputs);
        out.copy(0, 0, 5);
        out.copy(0, 5, 9);
        assert_eq!(out.pieces.len(), 1, "{out:?}");
        out.push_str("c: 3\n");
        out.copy(0, 9, 14);
        out.prepend("# head\n".into());
        assert_eq!(out.text(), "# head\na: 1\n---\nc: 3\nb: 2\n");
        let mut written = Vec::new();
        out.write_to(&mut written).unwrap();
        assert_eq!(written, out.text().as_bytes());
        assert!(out.ends_line() && !out.is_blank());
    }

    #[test]
    fn blank_and_line_ends() {
        let mut out = Output::default();
        assert!(out.is_blank() && out.ends_line());
        out.push_str("  \n");
        out.push_str("x");
        assert!(!out.is_blank() && !out.ends_line());
        out.begin_document(true);
        assert_eq!(out.text(), "  \nx\n---\n");
        let mut blank = Output::default();
        blank.begin_document(true);
        assert_eq!(blank.text(), "", "nothing to separate from");
        blank.push_str("a");
        blank.begin_document(false);
        assert_eq!(blank.text(), "a\n");
    }
}
