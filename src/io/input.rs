//! The inputs as text: what the filter reads of each file, directory entry or stdin.

use super::left::{Left, Run};
use crate::error::Failure;
use std::io::{self, Read};
use std::sync::Arc;

/// One input: a file name (or `-`) and its text.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    /// The text the filter reads: all of the input, or all but the documents in `left`.
    pub text: String,
    /// The documents left in the input's file ([`super::sparse::read_file`]).
    pub left: Option<Arc<Left>>,
}

impl Input {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Input {
        Input {
            name: name.into(),
            text: text.into(),
            left: None,
        }
    }

    /// The input's size in bytes, documents left in the file included.
    pub fn bytes(&self) -> usize {
        self.text.len() + self.left.as_ref().map_or(0, |l| l.bytes)
    }

    /// The runs of documents left in the file, in stream order.
    pub fn runs(&self) -> &[Run] {
        self.left.as_ref().map_or(&[], |l| &l.runs)
    }
}

/// Reads all of `reader` (at most `limit` bytes) as UTF-8 text.
pub fn read_whole(
    name: &str,
    reader: impl Read,
    size_hint: u64,
    limit: usize,
) -> Result<Input, Failure> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    // One allocation of the file's size: growing the buffer by doubling copies and faults
    // in up to twice the input (`Take` hides the size hint `read_to_end` uses).
    bytes.reserve_exact(
        usize::try_from(size_hint.min(cap))
            .unwrap_or(0)
            .saturating_add(1),
    );
    reader
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot_read(name, e))?;
    if bytes.len() > limit {
        return Err(Failure::too_large(name, limit));
    }
    check_utf16(name, &bytes)?;
    let text =
        String::from_utf8(bytes).map_err(|e| not_utf8(name, e.utf8_error().valid_up_to()))?;
    Ok(Input::new(name, text))
}

pub(super) fn cannot_read(name: &str, e: io::Error) -> Failure {
    Failure::input(name, format!("cannot read: {e}"))
}

pub(super) fn check_utf16(name: &str, bytes: &[u8]) -> Result<(), Failure> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Failure::input(
            name,
            "the input is UTF-16; Kubernetes manifests must be UTF-8".into(),
        )
        .hint("convert it, e.g. `iconv -f UTF-16 -t UTF-8`"));
    }
    Ok(())
}

pub(super) fn not_utf8(name: &str, at: usize) -> Failure {
    Failure::input(name, format!("not valid UTF-8 at byte {at}"))
        .hint("Kubernetes manifests must be UTF-8")
}
