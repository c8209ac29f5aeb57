//! Input and output: reading the inputs (whole, or sparsely from a file), splitting them into
//! documents as text, and writing the output stream from pieces. Knows nothing of Kubernetes
//! kinds: what the filter keeps of a file is a predicate the caller passes.

pub mod input;
pub mod left;
pub mod output;
pub mod sparse;
pub mod stream;
mod sys;
