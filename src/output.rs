//! The filtered stream as pieces: runs of input copied as they are, and new text (edited
//! documents, generated resources). Nothing is assembled in memory: [`Output::write_to`]
//! writes the pieces in order, so untouched bytes go from the input buffer straight out.

use crate::Input;
use std::io::{self, Write};

/// The output stream of one run, borrowing the inputs it copies from.
#[derive(Debug, Clone, Default)]
pub struct Output<'a> {
    inputs: &'a [Input],
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    /// Bytes `start..end` of input `source`.
    Copy {
        source: usize,
        start: usize,
        end: usize,
    },
    Text(String),
}

impl<'a> Output<'a> {
    pub fn new(inputs: &'a [Input]) -> Self {
        Output {
            inputs,
            pieces: Vec::new(),
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

    fn strs(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.pieces.iter().map(|p| match p {
            Piece::Copy { source, start, end } => &self.inputs[*source].text[*start..*end],
            Piece::Text(t) => t.as_str(),
        })
    }

    /// True when the output holds nothing but white space.
    pub fn is_blank(&self) -> bool {
        self.strs().all(|s| s.trim().is_empty())
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
        self.strs().next_back().is_none_or(|s| s.ends_with('\n'))
    }

    /// The whole output as one string (tests, diffs, KRM).
    pub fn text(&self) -> String {
        let mut text = String::with_capacity(self.strs().map(str::len).sum());
        self.strs().for_each(|s| text.push_str(s));
        text
    }

    /// Writes the pieces in order.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        for s in self.strs() {
            out.write_all(s.as_bytes())?;
        }
        out.flush()
    }
}

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
        let inputs = [Input {
            name: "-".into(),
            text: "a: 1\n---\nb: 2\n".into(),
        }];
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
