//! Changes a parsed document by splicing text, so that every byte outside the change stays
//! as it was: comments, key order, quoting, block scalars, anchors, tags, line endings.
//!
//! A [`Patch`] says what a subtree must contain; [`splices`] turns it into the smallest text
//! insertions and replacements that make the document say so. New keys are appended after
//! the last entry of their mapping, at that mapping's indentation (block style) or before its
//! closing brace (flow style); new values are always double-quoted strings.
//!
//! Anchors, aliases and merge keys are read as Kubernetes reads them (YAML 1.1, goyaml.v2:
//! <https://yaml.org/type/merge.html>), and text an alias stands for is never edited, since
//! the edit would change every place that uses it:
//!
//! - an alias on the edited path (`labels: *labels`) is replaced by a flow mapping that
//!   merges it and adds the new keys (`{<<: *labels, "k": "v"}`), so that the anchor and its
//!   other uses (a selector) keep their meaning;
//! - a key a mapping gets through a merge key (`<<: *base`) is set by an entry of the
//!   mapping's own, which wins over the merged one; a nested mapping that must change and
//!   comes from a merge is overlaid the same way, which needs an alias to refer to it;
//! - an edit inside an anchored node that an alias uses elsewhere, or an overlay with no
//!   alias to refer to, is an error ([`EditError::Aliased`], [`EditError::Unsupported`]).
//!
//! When the document holds aliases or merge keys, the result is parsed again and must read
//! as the original with the patch applied ([`apply_json`]), or the edit is refused.

use super::patch::{Patch, apply_json};
use super::{Kind, Limits, Node, Style, pos, quote};
use serde_json::Value;

/// Replace `text[start..end]` with `with`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub start: usize,
    pub end: usize,
    pub with: String,
}

/// Why a patch could not be applied as text (offsets into the edited text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The edit at `at` falls inside the anchored node that starts at `anchor`, which the
    /// alias at `alias` uses too: it would change both.
    Aliased {
        at: usize,
        anchor: usize,
        alias: usize,
    },
    /// No text edit at `at` can make the change without changing something else: why, and
    /// how the document could say the same in a way that can be edited.
    Unsupported {
        at: usize,
        why: &'static str,
        hint: &'static str,
    },
    /// The document holds the wrong type where the patch goes (labels that are a list).
    WrongType { at: usize, expected: &'static str },
}

/// The splices that make `node` (inside `text`) satisfy `patch`.
pub fn splices(text: &str, node: &Node, patch: &Patch) -> Result<Vec<Splice>, EditError> {
    let mut aliased = Vec::new();
    let mut merges = false;
    // Only a document with `*` or `<` can hold aliases or merge keys.
    if memchr::memchr2(b'*', b'<', text.as_bytes()).is_some() {
        shared(node, &mut aliased, &mut merges);
    }
    let check = merges || !aliased.is_empty();
    let mut out = Vec::new();
    Editor {
        text,
        step: indent_step(text, node),
        aliased,
    }
    .apply(node, patch, false, &mut out)?;
    out.sort_by_key(|s| s.start);
    if check && !out.is_empty() {
        means_the_patch(text, node, patch, &out)?;
    }
    Ok(out)
}

/// Collects the spans alias targets cover (with where each alias is), and whether a merge
/// key occurs.
fn shared(node: &Node, aliased: &mut Vec<(usize, usize, usize)>, merges: &mut bool) {
    match &node.kind {
        Kind::Alias(target) => aliased.push((target.start, target.end, node.start)),
        Kind::Scalar { .. } => {}
        Kind::Map { entries, .. } => {
            for (k, v) in entries {
                *merges |= k.is_merge_key();
                shared(k, aliased, merges);
                shared(v, aliased, merges);
            }
        }
        Kind::Seq { items, .. } => {
            for item in items {
                shared(item, aliased, merges);
            }
        }
    }
}

/// Checks that the edited text reads as the original with the patch applied: the safety
/// net under edits of documents with aliases and merge keys.
fn means_the_patch(
    text: &str,
    node: &Node,
    patch: &Patch,
    splices: &[Splice],
) -> Result<(), EditError> {
    let edited = apply(text, splices);
    let limits = Limits {
        max_depth: usize::MAX,
        alias_budget: usize::MAX,
        max_key_length: usize::MAX,
        ..Limits::default()
    };
    let mut want = node.to_json();
    apply_json(&mut want, patch);
    match super::parse(&edited, limits) {
        Ok(Some(again)) if again.to_json() == want => Ok(()),
        _ => Err(EditError::Unsupported {
            at: node.start,
            why: "the edit would change what the anchors, aliases or merge keys of the document say elsewhere",
            hint: "write the part gunj-mesh edits out without anchors, aliases or merge keys",
        }),
    }
}

/// Whether `node` already holds what `patch` asks for (a missing node holds nothing).
fn satisfied(node: Option<&Node>, patch: &Patch) -> bool {
    match patch {
        Patch::Str(s) => node.and_then(Node::str) == Some(s.as_str()),
        Patch::Value(v) => node.map(Node::to_json).as_ref() == Some(v),
        Patch::Push(items) => items.is_empty(),
        Patch::Fields(fields) => fields
            .iter()
            .all(|(k, p)| p.is_empty() || satisfied(node.and_then(|n| n.get(k)), p)),
        Patch::Items(items) => items
            .iter()
            .all(|(i, p)| satisfied(node.and_then(|n| n.items()?.get(*i)), p)),
    }
}

/// Replaces the whole `key: value` entry of a block mapping with `key:` and these list
/// items, in place (no items: removes the entry). `None` when the key is missing or the
/// mapping is in flow style.
pub fn replace_list_entry(text: &str, map: &Node, key: &str, items: &[Value]) -> Option<Splice> {
    let Kind::Map {
        flow: false,
        entries,
    } = &map.kind
    else {
        return None;
    };
    let (k, v) = entries.iter().find(|(k, _)| k.scalar() == Some(key))?;
    let editor = Editor {
        text,
        step: indent_step(text, map),
        aliased: Vec::new(),
    };
    let line_start = pos::line_start(text, k.start);
    if !text[line_start..k.start].trim().is_empty() {
        return None;
    }
    let (end, lead) = editor.after(v);
    let mut with = String::new();
    if !items.is_empty() {
        with.push_str(lead);
        let indent = k.start - line_start;
        let items = Patch::Push(items.to_vec());
        render_entry(
            &mut with,
            key,
            &New::Patch(&items),
            indent,
            editor.step,
            editor.newline(),
        );
    }
    Some(Splice {
        start: line_start,
        end,
        with,
    })
}

/// Applies sorted, non-overlapping splices.
pub fn apply(text: &str, splices: &[Splice]) -> String {
    let mut out =
        String::with_capacity(text.len() + splices.iter().map(|s| s.with.len()).sum::<usize>());
    let mut at = 0;
    for s in splices {
        out.push_str(&text[at..s.start]);
        out.push_str(&s.with);
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

struct Editor<'a> {
    text: &'a str,
    /// How far the document indents a nested mapping.
    step: usize,
    /// The spans that alias targets cover, each with where its alias is: text no edit may
    /// touch.
    aliased: Vec<(usize, usize, usize)>,
}

/// A key to add: what the patch asks for, or text already written (an overlay).
enum New<'p> {
    Patch(&'p Patch),
    Text(String),
}

/// The indentation step of a document: the column of the first nested block mapping below
/// the root, else two spaces.
fn indent_step(text: &str, root: &Node) -> usize {
    let column = |at: usize| pos::column(text, at);
    let Kind::Map { entries, .. } = &root.kind else {
        return 2;
    };
    let base = column(root.start);
    entries
        .iter()
        .find_map(|(_, v)| match &v.kind {
            Kind::Map { flow: false, .. } => Some(column(v.start)),
            _ => None,
        })
        .filter(|c| *c > base)
        .map_or(2, |c| c - base)
}

impl Editor<'_> {
    fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// `in_flow`: the node sits inside a flow collection, where no new line may start.
    fn apply(
        &self,
        node: &Node,
        patch: &Patch,
        in_flow: bool,
        out: &mut Vec<Splice>,
    ) -> Result<(), EditError> {
        if patch.is_empty() {
            return Ok(());
        }
        if let Kind::Alias(target) = &node.kind {
            return self.apply_alias(node, target, patch, out);
        }
        match (patch, &node.kind) {
            (Patch::Str(want), Kind::Scalar { value, style, .. }) => {
                if node.str() == Some(want.as_str()) {
                    return Ok(());
                }
                if *style == Style::Block {
                    return Err(EditError::Unsupported {
                        at: node.start,
                        why: "a block scalar (`|`, `>`) in a list must become a string",
                        hint: "write the value as a quoted string",
                    });
                }
                self.guard(node)?;
                let (start, with) = if node.start == node.end && value == "~" {
                    // An empty value (`key:`): write after the colon.
                    let colon = self.colon_after(node.start);
                    (colon, format!(" {}", quote(want)))
                } else if self.text[node.start..].starts_with('\'')
                    && !want.chars().any(char::is_control)
                {
                    // A single-quoted value stays single-quoted.
                    (node.start, format!("'{}'", want.replace('\'', "''")))
                } else {
                    (node.start, quote(want))
                };
                out.push(Splice {
                    start,
                    end: node.end.max(start),
                    with,
                });
                Ok(())
            }
            (Patch::Value(want), _) if node.to_json() == *want => Ok(()),
            (Patch::Value(want), _) => {
                self.guard(node)?;
                out.push(self.replace_value(node, want, in_flow)?);
                Ok(())
            }
            (Patch::Fields(fields), Kind::Map { flow, entries }) => {
                let mut missing: Vec<(&str, New)> = Vec::new();
                for (key, sub) in fields {
                    if sub.is_empty() {
                        continue;
                    }
                    let own = entries
                        .iter()
                        .find(|(k, _)| !k.is_merge_key() && k.scalar() == Some(key));
                    match own {
                        Some((k, value))
                            if is_block_scalar(value) && !satisfied(Some(value), sub) =>
                        {
                            self.guard(value)?;
                            out.push(self.replace_block_scalar(k, value, sub)?);
                        }
                        Some((_, value)) => self.apply(value, sub, in_flow || *flow, out)?,
                        None => {
                            if let Some(new) = self.through_merge(node, key, sub, out)? {
                                missing.push((key.as_str(), new));
                            }
                        }
                    }
                }
                if !missing.is_empty() {
                    self.guard(node)?;
                    out.push(if *flow {
                        self.insert_flow(node, entries, &missing)
                    } else {
                        self.insert_block(node, entries, &missing)
                    });
                }
                Ok(())
            }
            (Patch::Items(items), Kind::Seq { items: nodes, flow }) => {
                for (i, sub) in items {
                    if let Some(item) = nodes.get(*i) {
                        self.apply(item, sub, in_flow || *flow, out)?;
                    }
                }
                Ok(())
            }
            (Patch::Push(new), Kind::Seq { flow, items }) => {
                self.guard(node)?;
                out.push(if *flow {
                    let close = node.end - 1;
                    let comma = match items.last() {
                        Some(last) => !self.trailing_comma(last.end, close),
                        None => false,
                    };
                    let mut with = String::new();
                    for (i, v) in new.iter().enumerate() {
                        if i > 0 || comma {
                            with.push_str(", ");
                        } else if !items.is_empty() && !self.after_blank(close) {
                            with.push(' ');
                        }
                        with.push_str(&flow_text(v));
                    }
                    Splice {
                        start: close,
                        end: close,
                        with,
                    }
                } else {
                    let last = items.last().expect("block sequences are never empty");
                    let dash = self.dash_column(items[0].start);
                    let indent = self.column(items[0].start) - dash;
                    let (at, lead) = self.after(last);
                    let nl = self.newline();
                    let mut with = lead.to_string();
                    for v in new {
                        with.push_str(&render_item(v, dash, indent, nl));
                    }
                    Splice {
                        start: at,
                        end: at,
                        with,
                    }
                });
                Ok(())
            }
            (Patch::Fields(_) | Patch::Push(_), Kind::Scalar { value, .. })
                if node.is_null() && node.start == node.end && value == "~" && !in_flow =>
            {
                self.guard(node)?;
                // A block `key:` with no value: keep its line, add the entries below it.
                let colon = self.colon_after(node.start);
                let indent = self.key_column(node.start) + self.step;
                let (at, lead) = match self.text[colon..].find('\n') {
                    Some(i) => (colon + i + 1, ""),
                    None => (self.text.len(), self.newline()),
                };
                let nl = self.newline();
                let mut with = lead.to_string();
                match patch {
                    Patch::Fields(fields) => {
                        for (k, p) in fields {
                            render_entry(&mut with, k, &New::Patch(p), indent, self.step, nl);
                        }
                    }
                    Patch::Push(items) => {
                        for v in items {
                            with.push_str(&render_item(v, indent, 2, nl));
                        }
                    }
                    _ => unreachable!("matched above"),
                }
                out.push(Splice {
                    start: at,
                    end: at,
                    with,
                });
                Ok(())
            }
            (Patch::Fields(_) | Patch::Push(_), Kind::Scalar { value, .. }) if node.is_null() => {
                self.guard(node)?;
                // `key: ~`, `key: null` or a null in a flow collection becomes a flow
                // collection holding the patch.
                let json = flow_text(&patch_json(patch));
                let (start, with) = if node.start == node.end && value == "~" {
                    (self.colon_after(node.start), format!(" {json}"))
                } else {
                    (node.start, json.to_string())
                };
                out.push(Splice {
                    start,
                    end: node.end.max(start),
                    with,
                });
                Ok(())
            }
            (Patch::Str(_), _) => Err(EditError::WrongType {
                at: node.start,
                expected: "a string",
            }),
            (Patch::Fields(_), _) => Err(EditError::WrongType {
                at: node.start,
                expected: "a mapping",
            }),
            (Patch::Items(_) | Patch::Push(_), _) => Err(EditError::WrongType {
                at: node.start,
                expected: "a list",
            }),
        }
    }

    /// A key a mapping does not set itself, which may come from its merge keys: `None` when
    /// the merged value holds the patch already or was edited where it is (an inline merged
    /// mapping no alias uses), else the entry the mapping itself must get, which wins over
    /// the merged one.
    fn through_merge<'p>(
        &self,
        map: &Node,
        key: &str,
        sub: &'p Patch,
        out: &mut Vec<Splice>,
    ) -> Result<Option<New<'p>>, EditError> {
        let Some(merged) = map.get(key) else {
            return Ok(Some(New::Patch(sub)));
        };
        if satisfied(Some(merged), sub) {
            return Ok(None);
        }
        if !matches!(sub, Patch::Fields(_)) || merged.is_null() {
            // A value of the mapping's own replaces the merged one.
            return Ok(Some(New::Patch(sub)));
        }
        if self.aliased_at(merged).is_none() {
            // Text only this merge uses (`<<: {labels: …}`): edit it there.
            self.apply(merged, sub, true, out)?;
            return Ok(None);
        }
        match &merged.kind {
            Kind::Alias(target) if target.entries().is_some() => Ok(Some(New::Text(
                self.overlay(&self.text[merged.start..merged.end], target, sub)?,
            ))),
            _ if merged.entries().is_some() => Err(EditError::Unsupported {
                at: map.start,
                why: "a mapping it must change comes through this merge key (`<<`) from an anchored node and has no alias of its own that a merge could name beside the new keys",
                hint: "write this mapping out where gunj-mesh edits it, or give it an anchor of its own and merge that in (`labels: {<<: *name}`)",
            }),
            _ => Err(EditError::WrongType {
                at: merged.start,
                expected: "a mapping",
            }),
        }
    }

    /// An alias on the edited path: left alone when what it stands for holds the patch,
    /// else replaced (the anchor and its other uses unchanged).
    fn apply_alias(
        &self,
        node: &Node,
        target: &Node,
        patch: &Patch,
        out: &mut Vec<Splice>,
    ) -> Result<(), EditError> {
        if satisfied(Some(node), patch) {
            return Ok(());
        }
        self.guard(node)?;
        let reference = &self.text[node.start..node.end];
        let with = match (patch, &target.kind) {
            (Patch::Fields(_), Kind::Map { .. }) => self.overlay(reference, target, patch)?,
            (Patch::Fields(_) | Patch::Push(_), _) if target.is_null() => {
                flow_text(&patch_json(patch))
            }
            (Patch::Str(s), Kind::Scalar { .. }) => quote(s),
            (Patch::Value(v), _) => flow_text(v),
            (Patch::Str(_), _) => {
                return Err(EditError::WrongType {
                    at: node.start,
                    expected: "a string",
                });
            }
            (Patch::Fields(_), _) => {
                return Err(EditError::WrongType {
                    at: node.start,
                    expected: "a mapping",
                });
            }
            (Patch::Items(_) | Patch::Push(_), _) => {
                return Err(EditError::Unsupported {
                    at: node.start,
                    why: "an alias (`*name`) stands for a list that must change",
                    hint: "write the list out here instead of the alias",
                });
            }
        };
        out.push(Splice {
            start: node.start,
            end: node.end,
            with,
        });
        Ok(())
    }

    /// A flow mapping that merges the mapping `reference` (an alias) stands for and adds
    /// what `patch` asks for: `{<<: *labels, "k": "v"}`. A nested mapping that must change is
    /// overlaid the same way, through its own alias.
    fn overlay(&self, reference: &str, target: &Node, patch: &Patch) -> Result<String, EditError> {
        let Patch::Fields(fields) = patch else {
            unreachable!("only mappings are overlaid")
        };
        let mut parts = vec![format!("<<: {reference}")];
        for (key, sub) in fields {
            let child = target.get(key);
            if sub.is_empty() || satisfied(child, sub) {
                continue;
            }
            let value = match (sub, child) {
                (_, None) => flow_text(&patch_json(sub)),
                (_, Some(c)) if c.is_null() => flow_text(&patch_json(sub)),
                (Patch::Str(_) | Patch::Value(_), _) => flow_text(&patch_json(sub)),
                (Patch::Fields(_), Some(c)) => match &c.kind {
                    Kind::Alias(t) if t.entries().is_some() => {
                        self.overlay(&self.text[c.start..c.end], t, sub)?
                    }
                    _ if c.entries().is_some() => {
                        return Err(EditError::Unsupported {
                            at: c.start,
                            why: "this mapping is inside an anchored node and has no alias of its own that a merge could name beside the new keys",
                            hint: "write this mapping out where gunj-mesh edits it, or give it an anchor of its own and use an alias to it",
                        });
                    }
                    _ => {
                        return Err(EditError::WrongType {
                            at: c.start,
                            expected: "a mapping",
                        });
                    }
                },
                (Patch::Items(_) | Patch::Push(_), Some(c)) => {
                    return Err(EditError::Unsupported {
                        at: c.start,
                        why: "a list inside an anchored node must change",
                        hint: "write the list out here instead of the alias",
                    });
                }
            };
            parts.push(format!("{}: {value}", quote(key)));
        }
        Ok(format!("{{{}}}", parts.join(", ")))
    }

    /// The anchored span an alias uses that holds `node`, if any: its start and the alias's.
    fn aliased_at(&self, node: &Node) -> Option<(usize, usize)> {
        self.aliased
            .iter()
            .find(|(start, end, _)| *start <= node.start && node.end <= *end && start < end)
            .map(|&(start, _, alias)| (start, alias))
    }

    /// Refuses an edit of `node` when an alias elsewhere uses its text.
    fn guard(&self, node: &Node) -> Result<(), EditError> {
        match self.aliased_at(node) {
            Some((anchor, alias)) => Err(EditError::Aliased {
                at: node.start,
                anchor,
                alias,
            }),
            None => Ok(()),
        }
    }

    /// A different value for a scalar or a collection, whatever its style: in flow style
    /// where it is, or as block lines in place of a block collection's.
    fn replace_value(&self, node: &Node, want: &Value, in_flow: bool) -> Result<Splice, EditError> {
        let block = match &node.kind {
            Kind::Map { flow: false, .. } if !in_flow && !want.is_object() => {
                return Err(EditError::WrongType {
                    at: node.start,
                    expected: "a value of another type",
                });
            }
            Kind::Seq { flow: false, .. } if !in_flow && !want.is_array() => {
                return Err(EditError::WrongType {
                    at: node.start,
                    expected: "a value of another type",
                });
            }
            Kind::Map { flow, .. } | Kind::Seq { flow, .. } => !flow && !in_flow,
            Kind::Scalar {
                style: Style::Block,
                ..
            } => {
                return Err(EditError::Unsupported {
                    at: node.start,
                    why: "a block scalar (`|`, `>`) in a list must become another value",
                    hint: "write the value as a quoted string",
                });
            }
            Kind::Scalar { value, .. } if node.start == node.end && value == "~" => {
                let colon = self.colon_after(node.start);
                return Ok(Splice {
                    start: colon,
                    end: colon,
                    with: format!(" {}", flow_text(want)),
                });
            }
            _ => false,
        };
        if !block {
            return Ok(Splice {
                start: node.start,
                end: node.end,
                with: flow_text(want),
            });
        }
        // Block lines from where the collection starts (a sequence: its first dash) to the
        // line after its last entry, at its column.
        let start = match node.kind {
            Kind::Seq { .. } => {
                pos::line_start(self.text, node.start) + self.dash_column(node.start)
            }
            _ => node.start,
        };
        let pad = " ".repeat(self.column(start));
        let (end, _) = self.after(node);
        let nl = self.newline();
        let mut with = String::new();
        for (i, line) in super::to_string(want)
            .trim_end_matches('\n')
            .lines()
            .enumerate()
        {
            if i > 0 && !line.is_empty() {
                with.push_str(&pad);
            }
            with.push_str(line);
            with.push_str(nl);
        }
        Ok(Splice { start, end, with })
    }

    /// A block scalar value of `key` replaced by a double-quoted string or a flow value,
    /// from its indicator (`|`, `>`) to the line after its last.
    fn replace_block_scalar(
        &self,
        key: &Node,
        value: &Node,
        sub: &Patch,
    ) -> Result<Splice, EditError> {
        let colon = self.colon_after(key.end);
        if let Patch::Str(s) = sub
            && let Some(splice) = self.literal_body(colon, value, s)
        {
            return Ok(splice);
        }
        let with = match sub {
            Patch::Str(s) => quote(s),
            Patch::Value(v) => flow_text(v),
            _ => {
                return Err(EditError::WrongType {
                    at: value.start,
                    expected: "a mapping",
                });
            }
        };
        let (end, _) = self.after(value);
        Ok(Splice {
            start: colon,
            end: end.max(colon),
            with: format!(" {with}{}", self.newline()),
        })
    }

    /// A literal block scalar (`|`, `|-`) made to hold `s` with its header kept: only its
    /// content lines are rewritten, at the block's indentation, so that lines `s` keeps stay
    /// as they were. `None` when `s` cannot be that block (another chomping, a first line
    /// that starts with a space, control characters) or the block has an indentation
    /// indicator or `\r` line ends.
    /// `colon` is where the block's key ends, before its header.
    fn literal_body(&self, colon: usize, value: &Node, s: &str) -> Option<Splice> {
        let text = self.text;
        let header_end = colon + text[colon..].find('\n')? + 1;
        let header = text[colon..header_end].split('#').next()?.trim();
        let keeps_newline = match header {
            "|" => true,
            "|-" => false,
            _ => return None,
        };
        let printable = !s.chars().any(|c| c.is_control() && c != '\n');
        let chomps = if keeps_newline {
            s.ends_with('\n') && !s.ends_with("\n\n")
        } else {
            !s.ends_with('\n')
        };
        if !printable || !chomps || s.trim().is_empty() || s.starts_with(' ') {
            return None;
        }
        let (end, _) = self.after(value);
        let body = &text[header_end..end.max(header_end)];
        if body.contains('\r') {
            return None;
        }
        let indent = body
            .lines()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())?;
        // The content runs to its last line indented that far; blank lines and comments
        // after it stay.
        let mut content_end = header_end;
        let mut at = header_end;
        for line in body.split_inclusive('\n') {
            at += line.len();
            if line.trim().is_empty() {
                continue;
            }
            if line.len() - line.trim_start().len() < indent {
                break;
            }
            content_end = at;
        }
        let pad = " ".repeat(indent);
        let mut with = String::new();
        for line in s.trim_end_matches('\n').split('\n') {
            if !line.is_empty() {
                with.push_str(&pad);
                with.push_str(line);
            }
            with.push('\n');
        }
        if !text[..content_end].ends_with('\n') {
            with.pop();
        }
        Some(Splice {
            start: header_end,
            end: content_end,
            with,
        })
    }

    /// New entries before the closing brace of a flow mapping, after a comma unless the last
    /// entry has one already (`{a: b,}`, as Helm `range` loops write them).
    fn insert_flow(
        &self,
        node: &Node,
        entries: &[(Node, Node)],
        missing: &[(&str, New)],
    ) -> Splice {
        let close = node.end - 1;
        let comma = match entries.last() {
            Some((k, v)) => !self.trailing_comma(k.end.max(v.end), close),
            None => false,
        };
        let mut with = String::new();
        for (i, (k, new)) in missing.iter().enumerate() {
            if i > 0 || comma {
                with.push_str(", ");
            } else if !entries.is_empty() && !self.after_blank(close) {
                with.push(' ');
            }
            let value = match new {
                New::Patch(p) => flow_text(&patch_json(p)),
                New::Text(t) => t.clone(),
            };
            with.push_str(&format!("{}: {value}", quote(k)));
        }
        Splice {
            start: close,
            end: close,
            with,
        }
    }

    /// New entries on the lines after the last entry of a block mapping, at the column the
    /// mapping starts (its first key's, or that of the `?`, anchor or tag before it).
    fn insert_block(
        &self,
        map: &Node,
        entries: &[(Node, Node)],
        missing: &[(&str, New)],
    ) -> Splice {
        let indent = self.column(map.start);
        let step = self.step;
        let (at, lead) = self.after(&entries.last().expect("block mappings are never empty").1);
        let nl = self.newline();
        let mut with = lead.to_string();
        for (k, new) in missing {
            render_entry(&mut with, k, new, indent, step, nl);
        }
        Splice {
            start: at,
            end: at,
            with,
        }
    }

    /// Where a line after `node` starts, and the newline to write first when the text ends
    /// without one.
    fn after(&self, node: &Node) -> (usize, &'static str) {
        let end = match &node.kind {
            Kind::Map {
                flow: false,
                entries,
            } if !entries.is_empty() => {
                return self.after(&entries.last().expect("checked").1);
            }
            Kind::Seq { flow: false, items } if !items.is_empty() => {
                return self.after(items.last().expect("checked"));
            }
            Kind::Scalar {
                style: Style::Block,
                ..
            } => {
                // A block scalar's span runs to the next token: keep its (possibly kept)
                // trailing blank lines above the new line.
                let line_start = pos::line_start(self.text, node.end);
                if node.end == self.text.len() && !self.text.ends_with('\n') {
                    return (self.text.len(), self.newline());
                }
                if node.start <= line_start {
                    return (line_start, "");
                }
                // The span of an empty block scalar starts at the next token or comment. When
                // a token opens its line (a less indented key, even an empty one: `  : x`),
                // the scalar ended above it and the new line goes before that line; after a
                // comment, or a token mid-line, it goes after that line.
                if !self.text[node.start..].starts_with('#')
                    && self.text[line_start..node.start].bytes().all(|b| b == b' ')
                {
                    return (line_start, "");
                }
                node.start
            }
            _ => node.end,
        };
        // An empty value's span can sit at the start of the next line.
        if end > 0 && self.text[..end].ends_with('\n') {
            return (end, "");
        }
        match self.text[end..].find('\n') {
            Some(i) => (end + i + 1, ""),
            None => (self.text.len(), self.newline()),
        }
    }

    /// True when a comma follows `from` (the end of a flow collection's last entry) before
    /// the closing bracket at `close`, white space and comments aside: a trailing comma.
    fn trailing_comma(&self, from: usize, close: usize) -> bool {
        let mut rest = self.text.get(from..close).unwrap_or_default();
        loop {
            rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            match rest.strip_prefix('#') {
                Some(comment) => rest = comment.find('\n').map_or("", |i| &comment[i..]),
                None => return rest.starts_with(','),
            }
        }
    }

    /// True when white space comes just before `at`: an entry after a trailing comma needs
    /// no space of its own there.
    fn after_blank(&self, at: usize) -> bool {
        self.text[..at].ends_with([' ', '\t', '\n'])
    }

    /// The byte column of a position (indentation is ASCII spaces, so bytes are columns).
    fn column(&self, at: usize) -> usize {
        pos::column(self.text, at)
    }

    /// The column of the `-` that introduces the sequence item starting at `at`.
    fn dash_column(&self, at: usize) -> usize {
        let line_start = pos::line_start(self.text, at);
        self.text[line_start..at]
            .rfind('-')
            .map_or(self.column(at), |i| i)
    }

    /// The column of the key whose value starts at `at`: the first character of its line
    /// after indentation and any `- ` sequence-item markers.
    fn key_column(&self, at: usize) -> usize {
        let line_start = pos::line_start(self.text, at);
        let line = &self.text[line_start..at];
        line.len() - line.trim_start_matches([' ', '-']).len()
    }

    /// The position just after the `:` that follows a key ending at or before `pos`.
    fn colon_after(&self, pos: usize) -> usize {
        self.text[pos..].find(':').map_or(pos, |i| pos + i + 1)
    }
}

/// True for a block scalar (`|`, `>`) that is not an alias.
fn is_block_scalar(node: &Node) -> bool {
    matches!(
        node.kind,
        Kind::Scalar {
            style: Style::Block,
            ..
        }
    )
}

fn render_entry(out: &mut String, key: &str, new: &New, indent: usize, step: usize, nl: &str) {
    let pad = " ".repeat(indent);
    let key = plain_key(key);
    let patch = match new {
        New::Patch(p) => p,
        New::Text(t) => return out.push_str(&format!("{pad}{key}: {t}{nl}")),
    };
    match patch {
        Patch::Str(s) => out.push_str(&format!("{pad}{key}: {}{nl}", quote(s))),
        Patch::Fields(fields) => {
            out.push_str(&format!("{pad}{key}:{nl}"));
            for (k, p) in fields {
                render_entry(out, k, &New::Patch(p), indent + step, step, nl);
            }
        }
        Patch::Push(items) => {
            out.push_str(&format!("{pad}{key}:{nl}"));
            for v in items {
                out.push_str(&render_item(v, indent, 2, nl));
            }
        }
        Patch::Items(_) => out.push_str(&format!("{pad}{key}: []{nl}")),
        Patch::Value(v) if !v.is_object() && !v.is_array() => {
            out.push_str(&format!("{pad}{key}: {}{nl}", flow_text(v)))
        }
        Patch::Value(v) => {
            // Written as the emitter writes it, one level in.
            let body = super::to_string(v);
            out.push_str(&format!("{pad}{key}:{nl}"));
            let inner = " ".repeat(indent + step);
            for line in body.trim_end_matches('\n').lines() {
                match v {
                    Value::Array(_) => out.push_str(&format!("{pad}{line}{nl}")),
                    _ => out.push_str(&format!("{inner}{line}{nl}")),
                }
            }
        }
    }
}

/// One block sequence item: `-` at column `dash`, its content `indent` columns further.
fn render_item(value: &Value, dash: usize, indent: usize, nl: &str) -> String {
    let indent = indent.max(2);
    let body = super::to_string(value);
    let mut out = String::new();
    for (i, line) in body.trim_end_matches('\n').lines().enumerate() {
        if i == 0 {
            out.push_str(&format!(
                "{}-{}{line}{nl}",
                " ".repeat(dash),
                " ".repeat(indent - 1)
            ));
        } else if line.is_empty() {
            out.push_str(nl);
        } else {
            out.push_str(&format!("{}{line}{nl}", " ".repeat(dash + indent)));
        }
    }
    out
}

/// Keys are written plain when that is unambiguous, else double-quoted.
fn plain_key(key: &str) -> String {
    let safe = !key.is_empty()
        && key.starts_with(|c: char| c.is_ascii_alphanumeric())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && super::plain_is_string(key)
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off"
        );
    if safe { key.to_string() } else { quote(key) }
}

/// A value in flow style (JSON with a space after `:` and `,`, which is also YAML).
fn flow_text(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k), flow_text(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(flow_text).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// A patch as a JSON value.
fn patch_json(patch: &Patch) -> Value {
    let mut v = Value::Null;
    apply_json(&mut v, patch);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse};

    fn edit(text: &str, patch: &Patch) -> String {
        let node = parse(text, Limits::default()).unwrap().unwrap();
        let s = splices(text, &node, patch).unwrap();
        let out = apply(text, &s);
        // The result parses, and applying the patch again changes nothing.
        let again = parse(&out, Limits::default()).unwrap().unwrap();
        assert!(
            splices(&out, &again, patch).unwrap().is_empty(),
            "not idempotent:\n{out}"
        );
        out
    }

    /// Values of any type: written as YAML where missing, scalars replaced, equal ones kept.
    #[test]
    fn values_of_any_type() {
        let mut patch = Patch::new();
        *patch.field("spec").field("tls") = Patch::Value(serde_json::json!({
            "caFile": "/etc/prom-certs/root-cert.pem",
            "insecureSkipVerify": true,
        }));
        *patch.field("spec").field("scheme") = Patch::Value("https".into());
        *patch.field("spec").field("count") = Patch::Value(3.into());
        let out = edit(
            "spec:
  scheme: http
  port: web
",
            &patch,
        );
        assert_eq!(
            out,
            "spec:\n  scheme: \"https\"\n  port: web\n  tls:\n    caFile: /etc/prom-certs/root-cert.pem\n    insecureSkipVerify: true\n  count: 3\n"
        );
        let flow = edit("spec: {port: web}\n", &patch);
        assert_eq!(
            flow,
            "spec: {port: web, \"tls\": {\"caFile\": \"/etc/prom-certs/root-cert.pem\", \"insecureSkipVerify\": true}, \"scheme\": \"https\", \"count\": 3}\n"
        );
        let mut list = Patch::new();
        *list.field("a") = Patch::Value(serde_json::json!(["x", 1]));
        assert_eq!(edit("b: 1\n", &list), "b: 1\na:\n- x\n- 1\n");
    }

    #[test]
    fn merged_patches_keep_both_sides() {
        let mut a = Patch::new();
        *a.field("spec").field("ports").item(1).field("appProtocol") = Patch::Str("tcp".into());
        let mut b = Patch::new();
        b.set(&["metadata", "labels", "x"], "1");
        *b.field("spec").field("ports").item(0).field("appProtocol") = Patch::Str("http".into());
        a.merge(b);
        let out = edit(
            "metadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n  - port: 7946\n",
            &a,
        );
        assert_eq!(
            out,
            "metadata:\n  name: s\n  labels:\n    x: \"1\"\nspec:\n  ports:\n  - port: 80\n    appProtocol: \"http\"\n  - port: 7946\n    appProtocol: \"tcp\"\n"
        );
    }

    fn labels(key: &str, value: &str) -> Patch {
        let mut p = Patch::new();
        p.set(&["metadata", "labels", key], value);
        p
    }

    #[test]
    fn appends_to_an_existing_block_mapping() {
        let text = "# Source: x\nmetadata:\n  labels:\n    app: a # keep\n  name: n\nspec: {}\n";
        assert_eq!(
            edit(text, &labels("k", "v")),
            "# Source: x\nmetadata:\n  labels:\n    app: a # keep\n    k: \"v\"\n  name: n\nspec: {}\n"
        );
    }

    #[test]
    fn creates_missing_mappings_with_the_document_indent() {
        let text = "metadata:\n    name: n\nspec:\n    x:\n        y: 1\n";
        assert_eq!(
            edit(text, &labels("k", "v")),
            "metadata:\n    name: n\n    labels:\n        k: \"v\"\nspec:\n    x:\n        y: 1\n"
        );
    }

    #[test]
    fn replaces_a_differing_value_only() {
        let text = "metadata:\n  labels:\n    k: 'false'\n";
        assert_eq!(
            edit(text, &labels("k", "v")),
            "metadata:\n  labels:\n    k: 'v'\n"
        );
        let same = "metadata:\n  labels:\n    k: v\n";
        assert_eq!(edit(same, &labels("k", "v")), same);
    }

    #[test]
    fn unquoted_boolean_is_rewritten_as_a_string() {
        let text = "metadata:\n  labels:\n    k: true\n";
        assert_eq!(
            edit(text, &labels("k", "true")),
            "metadata:\n  labels:\n    k: \"true\"\n"
        );
    }

    #[test]
    fn flow_mappings_are_edited_in_place() {
        assert_eq!(
            edit("metadata:\n  labels: {}\n", &labels("k", "v")),
            "metadata:\n  labels: {\"k\": \"v\"}\n"
        );
        assert_eq!(
            edit(
                "{\"metadata\": {\"labels\": {\"a\": \"b\"}}}",
                &labels("k", "v")
            ),
            "{\"metadata\": {\"labels\": {\"a\": \"b\", \"k\": \"v\"}}}"
        );
        assert_eq!(
            edit("{\"kind\": \"Pod\"}", &labels("k", "v")),
            "{\"kind\": \"Pod\", \"metadata\": {\"labels\": {\"k\": \"v\"}}}"
        );
    }

    /// A flow collection with a trailing comma (`{a: b,}`, `[x,]`, as Helm `range` loops
    /// write them) takes new entries after that comma, not after a second one.
    #[test]
    fn flow_collections_with_a_trailing_comma_take_entries_after_it() {
        for (input, expected) in [
            (
                "metadata:\n  labels: {a: b,}\n",
                "metadata:\n  labels: {a: b, \"k\": \"v\"}\n",
            ),
            (
                "metadata:\n  labels: {a: b , }\n",
                "metadata:\n  labels: {a: b , \"k\": \"v\"}\n",
            ),
            (
                "metadata:\n  labels: {\n    a: b, # last\n  }\n",
                "metadata:\n  labels: {\n    a: b, # last\n  \"k\": \"v\"}\n",
            ),
            (
                "metadata:\n  labels: {a: \"b,\"}\n",
                "metadata:\n  labels: {a: \"b,\", \"k\": \"v\"}\n",
            ),
            (
                "metadata: {labels: {a: [x,],},}\n",
                "metadata: {labels: {a: [x,], \"k\": \"v\"},}\n",
            ),
        ] {
            assert_eq!(edit(input, &labels("k", "v")), expected, "{input:?}");
        }
        // Pushing is not idempotent (the caller checks the items are missing).
        let mut p = Patch::new();
        *p.field("spec").field("volumes") = Patch::Push(vec!["b".into(), "c".into()]);
        for input in ["spec: {volumes: [a,]}\n", "spec: {volumes: [a]}\n"] {
            let node = parse(input, Limits::default()).unwrap().unwrap();
            let out = apply(input, &splices(input, &node, &p).unwrap());
            assert_eq!(out, "spec: {volumes: [a, \"b\", \"c\"]}\n", "{input:?}");
        }
    }

    #[test]
    fn empty_values_get_lines_below_and_explicit_nulls_become_flow_mappings() {
        let cases = [
            (
                "metadata:\n  labels:\n  name: n\n",
                "metadata:\n  labels:\n    k: \"v\"\n  name: n\n",
            ),
            (
                "metadata:\n  labels:",
                "metadata:\n  labels:\n    k: \"v\"\n",
            ),
            (
                "metadata:\n  labels: ~\n",
                "metadata:\n  labels: {\"k\": \"v\"}\n",
            ),
            (
                "metadata: {labels: }\n",
                "metadata: {labels: {\"k\": \"v\"} }\n",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(edit(input, &labels("k", "v")), expected, "{input:?}");
        }
        let mut p = Patch::new();
        p.field("items")
            .item(0)
            .set(&["metadata", "labels", "k"], "v");
        assert_eq!(
            edit("items:\n- metadata:\n  name: x\n", &p),
            "items:\n- metadata:\n    labels:\n      k: \"v\"\n  name: x\n"
        );
    }

    #[test]
    fn keeps_crlf_and_block_scalars() {
        let text = "metadata:\r\n  annotations:\r\n    a: |+\r\n      kept\r\n\r\n";
        let mut p = Patch::new();
        p.set(&["metadata", "annotations", "k"], "v");
        assert_eq!(
            edit(text, &p),
            "metadata:\r\n  annotations:\r\n    a: |+\r\n      kept\r\n\r\n    k: \"v\"\r\n"
        );
        let eof = "metadata:\n  annotations:\n    a: |\n      x";
        assert_eq!(
            edit(eof, &p),
            "metadata:\n  annotations:\n    a: |\n      x\n    k: \"v\"\n"
        );
    }

    /// Found by fuzzing: an empty block scalar followed by a less indented comment put the
    /// new entry inside the scalar (and, without a final newline, the comment after it).
    #[test]
    fn entries_after_an_empty_block_scalar_and_a_comment_start_a_line() {
        let patch = labels("b", "2");
        for (text, want) in [
            (
                "metadata:\n  labels:\n    a: |\n #",
                "metadata:\n  labels:\n    a: |\n #\n    b: \"2\"\n",
            ),
            (
                "metadata:\n  labels:\n    a: |\n #\n",
                "metadata:\n  labels:\n    a: |\n #\n    b: \"2\"\n",
            ),
            (
                "metadata:\n  labels:\n    a: |\n      x\n #\n",
                "metadata:\n  labels:\n    a: |\n      x\n    b: \"2\"\n #\n",
            ),
            // Found by fuzzing (krm): the key after the empty scalar is an empty one.
            (
                "metadata:\n  labels:\n    a: |\n  : x\n",
                "metadata:\n  labels:\n    a: |\n    b: \"2\"\n  : x\n",
            ),
        ] {
            assert_eq!(edit(text, &patch), want, "{text:?}");
        }
    }

    /// Found by fuzzing: a mapping whose first key is explicit (`? key`) got new entries at
    /// the key's column instead of the `?`'s.
    #[test]
    fn entries_of_a_mapping_with_an_explicit_key_line_up_with_the_question_mark() {
        let text = "metadata:\n  labels:\n    ? 0.0\n\n";
        assert_eq!(
            edit(text, &labels("b", "2")),
            "metadata:\n  labels:\n    ? 0.0\n\n    b: \"2\"\n"
        );
        let text = "metadata:\n  labels:\n    ? a\nspec: {}\n";
        assert_eq!(
            edit(text, &labels("b", "2")),
            "metadata:\n  labels:\n    ? a\n    b: \"2\"\nspec: {}\n"
        );
    }

    #[test]
    fn edits_inside_sequence_items() {
        let text = "spec:\n  ports:\n  - name: http\n    port: 80\n  - port: 7946\n";
        let mut p = Patch::new();
        p.field("spec")
            .field("ports")
            .item(1)
            .set(&["appProtocol"], "tcp");
        assert_eq!(
            edit(text, &p),
            "spec:\n  ports:\n  - name: http\n    port: 80\n  - port: 7946\n    appProtocol: \"tcp\"\n"
        );
    }

    #[test]
    fn pushes_items_onto_block_and_flow_sequences() {
        let text = "spec:\n  volumes:\n    - name: a\n      emptyDir: {}\n";
        let mut p = Patch::new();
        *p.field("spec").field("volumes") = Patch::Push(vec![
            serde_json::json!({"name": "b", "emptyDir": {"medium": "Memory"}}),
        ]);
        let node = parse(text, Limits::default()).unwrap().unwrap();
        let out = apply(text, &splices(text, &node, &p).unwrap());
        assert_eq!(
            out,
            "spec:\n  volumes:\n    - name: a\n      emptyDir: {}\n    - name: b\n      emptyDir:\n        medium: Memory\n"
        );
        let flow = "spec: {volumes: []}\n";
        let node = parse(flow, Limits::default()).unwrap().unwrap();
        assert_eq!(
            apply(flow, &splices(flow, &node, &p).unwrap()),
            "spec: {volumes: [{\"name\": \"b\", \"emptyDir\": {\"medium\": \"Memory\"}}]}\n"
        );
    }

    fn error(text: &str, patch: &Patch) -> EditError {
        let node = parse(text, Limits::default()).unwrap().unwrap();
        splices(text, &node, patch).unwrap_err()
    }

    /// An alias on the edited path is replaced by a mapping that merges it: the anchor and
    /// its other uses (a selector) keep their meaning.
    #[test]
    fn an_alias_on_the_path_becomes_a_merge_beside_the_new_keys() {
        let text = "metadata:\n  labels: &b\n    x: \"1\"\nspec:\n  selector: *b\n  template:\n    metadata:\n      labels: *b # same\n";
        let mut p = Patch::new();
        p.set(&["spec", "template", "metadata", "labels", "k"], "v");
        assert_eq!(
            edit(text, &p),
            "metadata:\n  labels: &b\n    x: \"1\"\nspec:\n  selector: *b\n  template:\n    metadata:\n      labels: {<<: *b, \"k\": \"v\"} # same\n"
        );
        // Nested: metadata is an alias too, and its labels one of their own.
        let text = "a: &l {x: \"1\"}\nm: &m {labels: *l}\nmetadata: *m\n";
        assert_eq!(
            edit(text, &labels("k", "v")),
            "a: &l {x: \"1\"}\nm: &m {labels: *l}\nmetadata: {<<: *m, \"labels\": {<<: *l, \"k\": \"v\"}}\n"
        );
        // What it stands for holds the patch already: nothing changes.
        let text = "a: &l {k: v}\nmetadata:\n  labels: *l\n";
        assert_eq!(edit(text, &labels("k", "v")), text);
    }

    /// A mapping with a merge key gets keys of its own, which win over the merged ones; a
    /// nested mapping that comes from a merge is edited where it is when only that merge
    /// uses it, and overlaid through its alias otherwise.
    #[test]
    fn merge_keys_stay_and_the_new_keys_go_beside_them() {
        let cases = [
            (
                "a: &b {x: \"1\"}\nmetadata:\n  labels:\n    <<: *b\n    y: \"2\"\n",
                "a: &b {x: \"1\"}\nmetadata:\n  labels:\n    <<: *b\n    y: \"2\"\n    k: \"v\"\n",
            ),
            (
                "a: &b {k: \"false\"}\nmetadata:\n  labels: {<<: *b}\n",
                "a: &b {k: \"false\"}\nmetadata:\n  labels: {<<: *b, \"k\": \"v\"}\n",
            ),
            (
                "a: &b {x: \"1\"}\nmetadata: {<<: {labels: *b}}\n",
                "a: &b {x: \"1\"}\nmetadata: {<<: {labels: {<<: *b, \"k\": \"v\"}}}\n",
            ),
            (
                "metadata:\n  <<: {labels: {x: \"1\"}}\n  name: n\n",
                "metadata:\n  <<: {labels: {x: \"1\", \"k\": \"v\"}}\n  name: n\n",
            ),
            (
                "a: &b {x: \"1\"}\nm: &m\n  labels: *b\nmetadata:\n  <<: *m\n  name: n\n",
                "a: &b {x: \"1\"}\nm: &m\n  labels: *b\nmetadata:\n  <<: *m\n  name: n\n  labels: {<<: *b, \"k\": \"v\"}\n",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(edit(input, &labels("k", "v")), expected, "{input:?}");
        }
    }

    /// Text an alias uses elsewhere is never edited: the edit would change both places.
    #[test]
    fn anchored_text_an_alias_uses_is_not_edited() {
        let text = "metadata:\n  labels: &l\n    x: \"1\"\nspec:\n  selector: *l\n";
        assert_eq!(
            error(text, &labels("k", "v")),
            EditError::Aliased {
                at: 27,
                anchor: 27,
                alias: 52
            }
        );
        // Merged in from an anchor, with no alias of its own to overlay.
        let text = "m: &m {labels: {x: \"1\"}}\nmetadata: {<<: *m}\n";
        assert!(matches!(
            error(text, &labels("k", "v")),
            EditError::Unsupported { at: 35, .. }
        ));
        // An anchor no alias uses is edited like any other mapping.
        let text = "metadata:\n  labels: &l\n    x: \"1\"\n";
        assert_eq!(
            edit(text, &labels("k", "v")),
            "metadata:\n  labels: &l\n    x: \"1\"\n    k: \"v\"\n"
        );
    }

    /// Block scalars and block collections that must change are replaced in place.
    #[test]
    fn block_values_that_differ_are_replaced_in_place() {
        let text = "metadata:\n  labels:\n    k: |\n      false\n    z: \"1\" # c\n";
        assert_eq!(
            edit(text, &labels("k", "v")),
            "metadata:\n  labels:\n    k: \"v\"\n    z: \"1\" # c\n"
        );
        let mut p = Patch::new();
        *p.field("spec").field("tls") = Patch::Value(serde_json::json!({"caFile": "/a"}));
        let text = "spec:\n  tls:\n    insecure: true\n    other: x\n  port: web\n";
        assert_eq!(
            edit(text, &p),
            "spec:\n  tls:\n    caFile: /a\n  port: web\n"
        );
        let mut list = Patch::new();
        *list.field("spec").field("tls") = Patch::Value(serde_json::json!(["c", {"d": 1}]));
        let text = "spec:\n  tls:\n  - a\n  - b\n  port: web\n";
        assert_eq!(
            edit(text, &list),
            "spec:\n  tls:\n  - c\n  - d: 1\n  port: web\n"
        );
        let text = "spec:\n  tls: {insecure: true}\n";
        assert_eq!(edit(text, &p), "spec:\n  tls: {\"caFile\": \"/a\"}\n");
        let text = "spec:\n  tls:\n";
        assert_eq!(edit(text, &p), "spec:\n  tls: {\"caFile\": \"/a\"}\n");
    }

    #[test]
    fn single_quoted_values_stay_single_quoted() {
        let text = "k: '[{\"a\": 1}]' # c\nj: 'x'\n";
        let mut p = Patch::new();
        p.set(&["k"], "[{\"a\": 1}, {\"b\": \"it's\"}]");
        p.set(&["j"], "a\nb");
        assert_eq!(
            edit(text, &p),
            "k: '[{\"a\": 1}, {\"b\": \"it''s\"}]' # c\nj: \"a\\nb\"\n"
        );
    }

    /// A literal block that must hold another text keeps its header and indentation, and
    /// the lines the new text shares with the old stay as they were.
    #[test]
    fn literal_blocks_keep_their_style() {
        let text = "a:\n  k: |\n    one: 1\n    two:\n      x: y\n  # after\n  z: \"1\"\n";
        let mut p = Patch::new();
        p.set(&["a", "k"], "one: 1\ntwo:\n  x: y\n  w: v\n");
        assert_eq!(
            edit(text, &p),
            "a:\n  k: |\n    one: 1\n    two:\n      x: y\n      w: v\n  # after\n  z: \"1\"\n"
        );
        let text = "k: |-\n  a\n\n  b\n";
        let mut p = Patch::new();
        p.set(&["k"], "a\n\nc");
        assert_eq!(edit(text, &p), "k: |-\n  a\n\n  c\n");
        // Another chomping cannot be written under the same header.
        let mut p = Patch::new();
        p.set(&["k"], "a\n");
        assert_eq!(edit(text, &p), "k: \"a\\n\"\n");
    }

    #[test]
    fn wrong_types_are_reported() {
        let text = "metadata:\n  labels: [a]\n";
        let node = parse(text, Limits::default()).unwrap().unwrap();
        assert!(matches!(
            splices(text, &node, &labels("k", "v")),
            Err(EditError::WrongType {
                expected: "a mapping",
                ..
            })
        ));
    }
}
