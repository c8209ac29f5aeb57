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

/// The byte offset of 1-based `line` and character `column` in `text`, if there is one.
pub fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', text.as_bytes()).nth(line - 2)? + 1
    };
    let rest = &text[start..];
    let end = rest.find('\n').unwrap_or(rest.len());
    let within = rest[..end]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(end, |(i, _)| i);
    Some(start + within)
}
