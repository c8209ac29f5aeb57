//! Errors that say where: which document, which input and line, which config field, and how
//! to fix it.

use crate::stream::Doc;
use crate::yaml::YamlError;
use crate::{Input, source_name};

/// A failure that stops the run (exit 2, nothing on stdout).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The document number in the stream, when a document is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// The input file, `# Source:` path or Helm 4 filename, or the config field.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Failure {
    /// A problem in a document, at a byte offset of its parsed text (or the document start).
    pub fn at(inputs: &[Input], doc: &Doc, offset: Option<usize>, message: String) -> Failure {
        let body = &doc.text[doc.parse_from..];
        let offset = offset.unwrap_or(0).min(body.len());
        let before = &body[..offset];
        let line = doc.line + before.matches('\n').count();
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        Failure {
            document: Some(doc.number),
            source: source_name(inputs, doc),
            line: Some(line),
            column: Some(column),
            message,
            hint: None,
        }
    }

    /// A YAML syntax error in a document.
    pub fn yaml(inputs: &[Input], doc: &Doc, e: YamlError) -> Failure {
        Failure {
            document: Some(doc.number),
            source: source_name(inputs, doc),
            line: Some(doc.line + e.line - 1),
            column: Some(e.col),
            message: format!("invalid YAML: {}", e.message),
            hint: Some(
                "fix the YAML; tabs are not allowed in indentation and quotes must be closed"
                    .into(),
            ),
        }
    }

    /// A problem in the config: `source` names the file or field.
    pub fn config(source: &str, message: String) -> Failure {
        Failure {
            document: None,
            source: source.to_string(),
            line: None,
            column: None,
            message: format!("bad ServiceMesh config: {message}"),
            hint: Some("`gunj-mesh schema` prints every field and its allowed values; `gunj-mesh init` prints an example".into()),
        }
    }

    /// A problem with an input as a whole (unreadable, not UTF-8).
    pub fn input(source: &str, message: String) -> Failure {
        Failure {
            document: None,
            source: source.to_string(),
            line: None,
            column: None,
            message,
            hint: None,
        }
    }

    pub fn hint(mut self, hint: &str) -> Failure {
        self.hint = Some(hint.to_string());
        self
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(n) = self.document {
            write!(f, "document {n} ({})", self.source)?;
        } else {
            write!(f, "{}", self.source)?;
        }
        if let (Some(line), Some(col)) = (self.line, self.column) {
            write!(f, ", line {line}, column {col}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}
