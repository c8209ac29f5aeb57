//! What an edit must make a subtree contain: a tree of keys, items and string values that
//! [`super::edit`] turns into text splices, and that [`apply_json`] applies to a JSON value
//! (what an edited document must read as).

use serde_json::Value;

/// What a node must contain after the edit.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    /// A string scalar with this value.
    Str(String),
    /// A mapping holding (at least) these keys.
    Fields(Vec<(String, Patch)>),
    /// A sequence whose items at these indexes are patched.
    Items(Vec<(usize, Patch)>),
    /// A sequence to which these items are appended (the caller checks they are missing).
    Push(Vec<Value>),
    /// This value, whatever its type (a boolean, a number, a mapping): written as YAML when
    /// missing; a different scalar is replaced.
    Value(Value),
}

impl Patch {
    pub fn new() -> Patch {
        Patch::Fields(Vec::new())
    }

    /// Sets the string at a path of mapping keys, creating the mappings on the way.
    pub fn set(&mut self, path: &[&str], value: &str) {
        let mut node = self;
        for key in path {
            node = node.field(key);
        }
        *node = Patch::Str(value.to_string());
    }

    /// The patch under `key`, created empty when missing.
    pub fn field(&mut self, key: &str) -> &mut Patch {
        let Patch::Fields(fields) = self else {
            panic!("field() on a non-mapping patch")
        };
        let at = match fields.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                fields.push((key.to_string(), Patch::new()));
                fields.len() - 1
            }
        };
        &mut fields[at].1
    }

    /// The patch of sequence item `index` below this (sequence) patch.
    pub fn item(&mut self, index: usize) -> &mut Patch {
        if matches!(self, Patch::Fields(f) if f.is_empty()) {
            *self = Patch::Items(Vec::new());
        }
        let Patch::Items(items) = self else {
            panic!("item() on a non-sequence patch")
        };
        // A List's items are placed in order: the newest first, then a push.
        let at = match items.last() {
            Some((last, _)) if *last == index => items.len() - 1,
            Some((last, _)) if *last < index => {
                items.push((index, Patch::new()));
                items.len() - 1
            }
            _ => match items.iter().position(|(i, _)| *i == index) {
                Some(i) => i,
                None => {
                    items.push((index, Patch::new()));
                    items.len() - 1
                }
            },
        };
        &mut items[at].1
    }

    /// Adds what `other` sets; where both set a value, `other` wins.
    pub fn merge(&mut self, other: Patch) {
        match other {
            Patch::Fields(fields) if matches!(self, Patch::Fields(_)) => {
                for (key, patch) in fields {
                    self.field(&key).merge(patch);
                }
            }
            Patch::Items(items) if matches!(self, Patch::Items(_)) || self.is_empty() => {
                for (index, patch) in items {
                    self.item(index).merge(patch);
                }
            }
            other => *self = other,
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Patch::Fields(f) => f.is_empty(),
            Patch::Items(i) => i.is_empty(),
            Patch::Push(p) => p.is_empty(),
            Patch::Str(_) | Patch::Value(_) => false,
        }
    }
}

impl Default for Patch {
    fn default() -> Self {
        Patch::new()
    }
}

/// Applies `patch` to a JSON value: what the document must read as once edited.
pub fn apply_json(value: &mut Value, patch: &Patch) {
    match patch {
        Patch::Str(s) => *value = Value::String(s.clone()),
        Patch::Value(v) => *value = v.clone(),
        Patch::Fields(fields) => {
            if !value.is_object() {
                *value = Value::Object(Default::default());
            }
            let map = value.as_object_mut().expect("just made an object");
            for (k, p) in fields {
                apply_json(map.entry(k.clone()).or_insert(Value::Null), p);
            }
        }
        Patch::Items(items) => {
            for (i, p) in items {
                if let Some(v) = value.get_mut(*i) {
                    apply_json(v, p);
                }
            }
        }
        Patch::Push(new) => {
            if !value.is_array() {
                *value = Value::Array(Vec::new());
            }
            value
                .as_array_mut()
                .expect("just made an array")
                .extend(new.iter().cloned());
        }
    }
}
