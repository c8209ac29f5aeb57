//! Byte offsets in a text, as lines and columns.

/// Where the line that holds byte `pos` of `text` starts.
pub fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The 0-based byte column of `pos` on its line.
pub fn column(text: &str, pos: usize) -> usize {
    pos - line_start(text, pos)
}

/// How many line ends come before `pos`: the 0-based line of `pos`.
pub fn lines_before(text: &str, pos: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..pos]).count()
}
