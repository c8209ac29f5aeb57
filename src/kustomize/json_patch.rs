//! RFC 6902 JSON patches computed as the difference of two JSON values: applied to the
//! first, the operations give the second exactly.

use serde::Serialize;
use serde_json::Value;

/// One operation: `add`, `replace` or `remove` (which has no value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Op {
    pub op: &'static str,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// The operations that turn `before` into `after`, in the order they must be applied.
/// Mappings are compared key by key (removals, then changes in `after`'s key order);
/// sequences keep their common head and tail, compare the items in between index by
/// index, and remove (from the last) or add (from the first) what is left.
pub fn diff(before: &Value, after: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    walk(before, after, &mut String::new(), &mut ops);
    ops
}

/// A key as one RFC 6901 reference token: `~` is written `~0` and `/` is written `~1`.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn walk(before: &Value, after: &Value, path: &mut String, ops: &mut Vec<Op>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                ops.push(op("remove", &child(path, key), None));
            }
            for (key, value) in a {
                match b.get(key) {
                    Some(old) => within(path, key, |p| walk(old, value, p, ops)),
                    None => ops.push(op("add", &child(path, key), Some(value))),
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            let head = b.iter().zip(a).take_while(|(x, y)| x == y).count();
            let tail = b[head..]
                .iter()
                .rev()
                .zip(a[head..].iter().rev())
                .take_while(|(x, y)| x == y)
                .count();
            let (old, new) = (&b[head..b.len() - tail], &a[head..a.len() - tail]);
            let common = old.len().min(new.len());
            for (i, (x, y)) in old.iter().zip(new).enumerate() {
                within(path, &(head + i).to_string(), |p| walk(x, y, p, ops));
            }
            for i in (common..old.len()).rev() {
                ops.push(op("remove", &child(path, &(head + i).to_string()), None));
            }
            for (i, value) in new.iter().enumerate().skip(common) {
                let at = child(path, &(head + i).to_string());
                ops.push(op("add", &at, Some(value)));
            }
        }
        _ if before == after => {}
        _ => ops.push(op("replace", path, Some(after))),
    }
}

fn op(op: &'static str, path: &str, value: Option<&Value>) -> Op {
    Op {
        op,
        path: path.to_string(),
        value: value.cloned(),
    }
}

fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", escape(key))
}

/// Runs `f` with `key` appended to `path`, then takes it off again.
fn within(path: &mut String, key: &str, f: impl FnOnce(&mut String)) {
    let len = path.len();
    path.push('/');
    path.push_str(&escape(key));
    f(path);
    path.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Applies `ops` as RFC 6902 says (add, replace, remove on objects and arrays).
    fn apply(mut doc: Value, ops: &[Op]) -> Value {
        for o in ops {
            let tokens: Vec<String> = o.path[1..]
                .split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect();
            let (last, parents) = tokens.split_last().expect("no op on the root here");
            let mut at = &mut doc;
            for t in parents {
                at = match at {
                    Value::Object(m) => m.get_mut(t).expect("parent exists"),
                    Value::Array(a) => &mut a[t.parse::<usize>().expect("index")],
                    _ => panic!("scalar parent"),
                };
            }
            match (at, o.op) {
                (Value::Object(m), "remove") => {
                    m.shift_remove(last).expect("removed key exists");
                }
                (Value::Object(m), "replace") => {
                    assert!(m.contains_key(last), "replace needs the key");
                    m.insert(last.clone(), o.value.clone().expect("value"));
                }
                (Value::Object(m), "add") => {
                    m.insert(last.clone(), o.value.clone().expect("value"));
                }
                (Value::Array(a), "remove") => {
                    a.remove(last.parse().expect("index"));
                }
                (Value::Array(a), "replace") => {
                    a[last.parse::<usize>().expect("index")] = o.value.clone().expect("value");
                }
                (Value::Array(a), "add") => {
                    a.insert(
                        last.parse().expect("index"),
                        o.value.clone().expect("value"),
                    );
                }
                (_, op) => panic!("{op} on a scalar"),
            }
        }
        doc
    }

    fn paths(ops: &[Op]) -> Vec<(&str, &str)> {
        ops.iter().map(|o| (o.op, o.path.as_str())).collect()
    }

    #[test]
    fn annotation_keys_are_escaped() {
        let before = json!({"metadata": {"annotations": {"a~b": "1"}}});
        let after = json!({"metadata": {"annotations": {"sidecar.istio.io/inject": "true"}}});
        let ops = diff(&before, &after);
        assert_eq!(
            paths(&ops),
            [
                ("remove", "/metadata/annotations/a~0b"),
                ("add", "/metadata/annotations/sidecar.istio.io~1inject"),
            ]
        );
        assert_eq!(apply(before, &ops), after);
    }

    #[test]
    fn equal_values_need_no_operation() {
        let v = json!({"a": [1, {"b": "on"}], "c": null});
        assert!(diff(&v, &v.clone()).is_empty());
    }

    #[test]
    fn a_changed_type_is_replaced_and_a_string_stays_a_string() {
        let ops = diff(&json!({"a": {"x": 1}}), &json!({"a": "on"}));
        assert_eq!(ops, [op("replace", "/a", Some(&json!("on")))]);
    }

    #[test]
    fn sequences_keep_their_head_and_tail() {
        let before = json!({"c": [{"n": "app"}, {"n": "b"}]});
        let after = json!({"c": [{"n": "init"}, {"n": "app"}, {"n": "b"}]});
        let ops = diff(&before, &after);
        assert_eq!(paths(&ops), [("add", "/c/0")]);
        assert_eq!(apply(before, &ops), after);
    }

    #[test]
    fn items_are_removed_from_the_last() {
        let before = json!([1, 2, 3, 4, 5]);
        let after = json!({"x": [1, 5]});
        let ops = diff(&json!({"x": before}), &after);
        assert_eq!(
            paths(&ops),
            [("remove", "/x/3"), ("remove", "/x/2"), ("remove", "/x/1")]
        );
        assert_eq!(apply(json!({"x": [1, 2, 3, 4, 5]}), &ops), after);
    }

    proptest::proptest! {
        /// Whatever the two trees, the patch turns the first into the second.
        #[test]
        fn the_patch_gives_the_second_value(a in tree(), b in tree()) {
            let (a, b) = (json!({"t": a}), json!({"t": b}));
            let ops = diff(&a, &b);
            proptest::prop_assert_eq!(apply(a, &ops), b);
        }
    }

    fn tree() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..4).prop_map(|n| json!(n)),
            prop::sample::select(vec!["on", "a/b", "~", ""]).prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(
                    (prop::sample::select(vec!["a", "b/c", "d~e", "f"]), inner),
                    0..4
                )
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }
}
