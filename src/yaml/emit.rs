//! A fast writer for the block YAML that generated resources are made of, producing exactly
//! the bytes serde-saphyr would.
//!
//! It handles mappings with plain keys, sequences of scalars and mappings, integers,
//! booleans, and short strings made of `[A-Za-z0-9._/-]` that no YAML 1.1 or 1.2 reader
//! could take for anything but a string (names, hosts, label keys, durations such as `30s`).
//! Anything else (floats, nulls, empty or long strings, strings that need quotes, nested
//! sequences) makes [`to_string`] return `None`, and the caller hands the whole value to
//! serde-saphyr. Debug builds check every result against serde-saphyr (see
//! [`super::to_string`]); `tests` below compare the two on random trees.

use serde::ser::{self, Serialize};
use std::fmt::Write;

/// The value as serde-saphyr would write it, or `None` when it is outside this subset.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    let mut out = String::with_capacity(512);
    value
        .serialize(Node {
            out: &mut out,
            at: At::Top,
        })
        .ok()?;
    Some(out)
}

/// serde-saphyr writes a single-line string longer than this as a folded block scalar.
const FOLD_AT: usize = 80;

/// The bytes of `[A-Za-z0-9._/-]`.
const SAFE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-');
        c += 1;
    }
    t
};

/// Whether serde-saphyr writes `s` as a plain scalar, in key and in value position alike,
/// judged conservatively: `false` means "not sure", never "wrong".
fn plain(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > FOLD_AT {
        return false;
    }
    if !b.iter().all(|&c| SAFE[usize::from(c)]) {
        return false;
    }
    match b[0] {
        // Starting with a letter, only these words resolve to something else (null, booleans
        // of YAML 1.1 and 1.2, the undotted float spellings serde-saphyr also quotes).
        c if c.is_ascii_alphabetic() => {
            b.len() > 5
                || ![
                    "null", "true", "false", "yes", "no", "y", "n", "on", "off", "nan", "inf",
                ]
                .iter()
                .any(|w| s.eq_ignore_ascii_case(w))
        }
        b'/' => true,
        // Starting with a digit, accept only durations (`30s`, `1h`, `500ms`): digits then
        // letters that cannot make a number (no `e`, `x`, `o`, `b`) and no `-`/`:` for dates.
        c if c.is_ascii_digit() => {
            let unit = s.trim_start_matches(|c: char| c.is_ascii_digit());
            !unit.is_empty()
                && unit
                    .bytes()
                    .all(|c| matches!(c, b'n' | b'u' | b'm' | b's' | b'h' | b'd'))
        }
        // `-`, `.`, `_`: signs, `.inf`, document markers, YAML 1.1 numbers.
        _ => false,
    }
}

/// Where the node being written goes.
#[derive(Clone, Copy)]
enum At {
    /// The document itself, at the start of a line.
    Top,
    /// The value of a key at this column; `key:` has been written.
    Value(usize),
    /// A sequence item whose `- ` was written at this column.
    Item(usize),
}

/// Outside the subset: the caller falls back to serde-saphyr.
#[derive(Debug)]
pub struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("outside the fast YAML subset")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

fn indent(out: &mut String, col: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = col;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

/// Serializes one node at `at`.
struct Node<'a> {
    out: &'a mut String,
    at: At,
}

impl Node<'_> {
    /// Writes a scalar's text where it belongs; scalars are never whole documents here.
    fn scalar(self, text: &str) -> Result {
        match self.at {
            At::Top => return Err(Unsupported),
            At::Value(_) => self.out.push(' '),
            At::Item(_) => {}
        }
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }
}

macro_rules! unsupported {
    ($($name:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$ret> { Err(Unsupported) })*
    };
}

macro_rules! integers {
    ($($name:ident($t:ty);)*) => {
        $(fn $name(self, v: $t) -> Result { let mut s = String::new(); let _ = write!(s, "{v}"); self.scalar(&s) })*
    };
}

impl<'a> ser::Serializer for Node<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Block<'a>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = Block<'a>;
    type SerializeStruct = Block<'a>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    integers! {
        serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
    }

    unsupported! {
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_bool(self, v: bool) -> Result {
        self.scalar(if v { "true" } else { "false" })
    }

    fn serialize_str(self, v: &str) -> Result {
        if !plain(v) {
            return Err(Unsupported);
        }
        self.scalar(v)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Unsupported)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Block<'a>> {
        let col = match self.at {
            At::Top => 0,
            // Items line up with their key (serde-saphyr's compact list indent).
            At::Value(col) => col,
            At::Item(_) => return Err(Unsupported),
        };
        Ok(Block {
            out: self.out,
            at: self.at,
            col,
            empty: true,
        })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Block<'a>> {
        let col = match self.at {
            At::Top => 0,
            At::Value(col) | At::Item(col) => col + 2,
        };
        Ok(Block {
            out: self.out,
            at: self.at,
            col,
            empty: true,
        })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Block<'a>> {
        self.serialize_map(Some(len))
    }
}

/// A block collection being written: sequence items (their dashes) or mapping keys go at
/// `col`; `empty` until the first one.
struct Block<'a> {
    out: &'a mut String,
    at: At,
    col: usize,
    empty: bool,
}

impl Block<'_> {
    /// Ends the collection, writing `[]` or `{}` when it turned out empty.
    fn close(self, text: &str) -> Result {
        if self.empty {
            if let At::Value(_) = self.at {
                self.out.push(' ');
            }
            self.out.push_str(text);
            self.out.push('\n');
        }
        Ok(())
    }

    /// Starts an entry: the line break and indentation its key or dash needs.
    fn open(&mut self) {
        match (self.empty, self.at) {
            // The first key of a sequence item shares the line with its `- `.
            (true, At::Item(_)) => {}
            (true, At::Value(_)) => {
                self.out.push('\n');
                indent(self.out, self.col);
            }
            _ => indent(self.out, self.col),
        }
        self.empty = false;
    }
}

impl ser::SerializeSeq for Block<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        // Sequences are never items themselves here, so `open` only breaks lines and indents.
        self.open();
        self.out.push_str("- ");
        value.serialize(Node {
            out: self.out,
            at: At::Item(self.col),
        })
    }

    fn end(self) -> Result {
        self.close("[]")
    }
}

impl ser::SerializeMap for Block<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.open();
        key.serialize(Key(self.out))?;
        self.out.push(':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(Node {
            out: self.out,
            at: At::Value(self.col),
        })
    }

    fn end(self) -> Result {
        self.close("{}")
    }
}

impl ser::SerializeStruct for Block<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        ser::SerializeMap::serialize_key(self, key)?;
        ser::SerializeMap::serialize_value(self, value)
    }

    fn end(self) -> Result {
        ser::SerializeMap::end(self)
    }
}

/// Writes a key that is a plain string; any other key is outside the subset.
struct Key<'a>(&'a mut String);

impl ser::Serializer for Key<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    unsupported! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> (); serialize_i16(i16) -> (); serialize_i32(i32) -> (); serialize_i64(i64) -> ();
        serialize_u8(u8) -> (); serialize_u16(u16) -> (); serialize_u32(u32) -> (); serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_str(self, v: &str) -> Result {
        if !plain(v) {
            return Err(Unsupported);
        }
        self.0.push_str(v);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Unsupported)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::to_string;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn saphyr(v: &Value) -> String {
        serde_saphyr::to_string(v).unwrap()
    }

    #[test]
    fn writes_the_layout_of_generated_resources() {
        let v = json!({
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "obs-grafana", "labels": {"app.kubernetes.io/name": "grafana"}},
            "spec": {
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"a": "b"}}}, {}],
                             "ports": [{"port": 3000, "protocol": "TCP"}]}],
                "policyTypes": ["Ingress"],
                "timeout": "30s",
                "empty": {}, "none": [], "on": false,
            },
        });
        let want = "\
apiVersion: networking.k8s.io/v1
metadata:
  name: obs-grafana
  labels:
    app.kubernetes.io/name: grafana
spec:
  ingress:
  - from:
    - podSelector:
        matchLabels:
          a: b
    - {}
    ports:
    - port: 3000
      protocol: TCP
  policyTypes:
  - Ingress
  timeout: 30s
  empty: {}
  none: []
  \"on\": false
";
        // A key that needs quotes is outside the subset: the value goes to serde-saphyr.
        assert_eq!(to_string(&v), None);
        assert_eq!(saphyr(&v), want);
        let mut v = v;
        v["spec"].as_object_mut().unwrap().remove("on");
        let want = want.replace("  \"on\": false\n", "");
        assert_eq!(to_string(&v).as_deref(), Some(want.as_str()));
    }

    #[test]
    fn leaves_out_what_it_cannot_be_sure_of() {
        for s in [
            "",
            "on",
            "Yes",
            "n",
            "NULL",
            "nan",
            "1e5",
            "0x1f",
            "10",
            "2024-01-01",
            "1:30",
            ".inf",
            "-a",
            "_a",
            "a b",
            "a:b",
            "a#b",
            "ünï",
            "1s2",
        ] {
            assert_eq!(to_string(&json!({ "k": s })), None, "{s:?}");
        }
        let long = "a".repeat(81);
        assert_eq!(to_string(&json!({ "k": long })), None);
        for v in [
            json!({"k": null}),
            json!({"k": 1.5}),
            json!({"k": [[1]]}),
            json!("top"),
        ] {
            assert_eq!(to_string(&v), None, "{v}");
        }
        assert!(to_string(&json!({ "k": "a".repeat(80) })).is_some());
    }

    /// Mostly values the fast writer takes, with every kind it must leave out mixed in.
    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            8 => "[a-z/][a-z0-9./_-]{0,8}".prop_map(Value::from),
            2 => "[0-9]{1,3}[a-z]{0,2}".prop_map(Value::from),
            2 => any::<i64>().prop_map(Value::from),
            1 => any::<bool>().prop_map(Value::from),
            1 => "[a-zA-Z0-9._/:# -]{0,6}".prop_map(Value::from),
            1 => prop::sample::select(vec![
                "on", "Off", "y", "NO", "true", "Null", "~", "nan", "-.inf", "<<", "=", "---",
                "2024-1-1", "0o17", "0b1", "1_000", "12:30", "/metrics", "30s", "500ms",
            ])
            .prop_map(Value::from),
            1 => Just(Value::Null),
            1 => Just(Value::from(0.5)),
        ]
    }

    fn tree() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            8 => "[a-z][a-z0-9./-]{0,8}",
            1 => prop::sample::select(vec!["on", "a b", "1", "-", "a:b"]).prop_map(String::from),
        ];
        let node = scalar().prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec((key.clone(), inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        });
        prop::collection::vec(("[a-z]{1,6}", node), 1..5)
            .prop_map(|entries| Value::Object(entries.into_iter().collect()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever the fast writer accepts, it writes byte for byte as serde-saphyr does.
        #[test]
        fn agrees_with_serde_saphyr(v in tree()) {
            if let Some(fast) = to_string(&v) {
                prop_assert_eq!(fast, saphyr(&v));
            }
        }
    }
}
