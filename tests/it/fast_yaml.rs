//! The fast YAML path (`yaml::fast`) against the full parser: whenever the fast path takes a
//! document, the tree must be the full parser's, spans, styles and values alike. Checked on
//! every document of the corpus (`../shared/corpus`, skipped when missing), on hand-written
//! edge cases, and on generated block documents full of YAML's traps.

use crate::common;

use gunj_mesh::internals::yaml::{self, Kind, Limits, Node, fast};
use proptest::prelude::*;

/// The first difference between two trees, as a path and what differs.
fn diff(a: &Node, b: &Node, path: &str) -> Option<String> {
    if (a.start, a.end) != (b.start, b.end) {
        return Some(format!(
            "{path}: span {}..{} vs {}..{}",
            a.start, a.end, b.start, b.end
        ));
    }
    match (&a.kind, &b.kind) {
        (
            Kind::Scalar {
                value: v1,
                style: s1,
                tag: t1,
            },
            Kind::Scalar {
                value: v2,
                style: s2,
                tag: t2,
            },
        ) => (v1 != v2 || s1 != s2 || t1 != t2)
            .then(|| format!("{path}: {v1:?} {s1:?} {t1:?} vs {v2:?} {s2:?} {t2:?}")),
        (
            Kind::Map {
                flow: f1,
                entries: e1,
            },
            Kind::Map {
                flow: f2,
                entries: e2,
            },
        ) => {
            if f1 != f2 || e1.len() != e2.len() {
                return Some(format!(
                    "{path}: map flow {f1}/{f2}, {}/{} keys",
                    e1.len(),
                    e2.len()
                ));
            }
            e1.iter().zip(e2).find_map(|((k1, v1), (k2, v2))| {
                let key = k2.scalar().unwrap_or("?");
                diff(k1, k2, &format!("{path}.{key}(key)"))
                    .or_else(|| diff(v1, v2, &format!("{path}.{key}")))
            })
        }
        (
            Kind::Seq {
                flow: f1,
                items: i1,
            },
            Kind::Seq {
                flow: f2,
                items: i2,
            },
        ) => {
            if f1 != f2 || i1.len() != i2.len() {
                return Some(format!(
                    "{path}: seq flow {f1}/{f2}, {}/{} items",
                    i1.len(),
                    i2.len()
                ));
            }
            i1.iter()
                .zip(i2)
                .enumerate()
                .find_map(|(i, (x, y))| diff(x, y, &format!("{path}[{i}]")))
        }
        _ => Some(format!("{path}: different kinds")),
    }
}

/// Whether the fast path took `text`; panics when its tree is not the full parser's.
fn agrees(text: &str, what: &str) -> bool {
    let Some(fast) = fast::parse(text, Limits::default()) else {
        return false;
    };
    let full = match yaml::parse_full(text, Limits::default()) {
        Ok(Some(full)) => full,
        other => {
            panic!("{what}: the fast path took a document the full parser gives {other:?}:\n{text}")
        }
    };
    if let Some(d) = diff(&fast, &full, "$") {
        panic!("{what}: fast and full parsers differ at {d}:\n{text}");
    }
    true
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn corpus_documents_agree_and_most_workloads_take_the_fast_path() {
    let Some(dir) = common::corpus() else {
        return;
    };
    let paths = common::yaml_files(&dir);
    let (mut docs, mut fast, mut workloads, mut fast_workloads) = (0, 0, 0, 0);
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        for doc in gunj_mesh::internals::stream::split(0, &text) {
            if doc.header.empty {
                continue;
            }
            let what = format!("{} line {}", path.display(), doc.line);
            let took = agrees(&doc.text[doc.parse_from..], &what);
            docs += 1;
            fast += usize::from(took);
            let kind = doc.header.kind.unwrap_or_default();
            if gunj_mesh::internals::pod_kind(kind).is_some() {
                workloads += 1;
                fast_workloads += usize::from(took);
            }
        }
    }
    eprintln!("fast path: {fast} of {docs} documents, {fast_workloads} of {workloads} workloads");
    assert!(workloads > 50, "{workloads} workloads in the corpus");
    assert!(
        fast_workloads * 10 >= workloads * 6,
        "only {fast_workloads} of {workloads} workloads took the fast path"
    );
}

#[test]
fn edge_cases_agree_or_go_to_the_full_parser() {
    let cases = [
        "a: 1\n",
        "a:\nb: 1\n",
        "a:\n  b:\n  c: 1\n\n# end\n\n",
        "a:\n- b: 1\n  c:\n- d\n",
        "a:\n  - x\n  -   \"y\"\ne:\n-   z\n- w\n",
        "a: x # c\nb: 'it''s'\nc: \"q\"\nd: {}\ne: []\nf: x#y\ng: http://x:80\n",
        "a: b: c\n",
        "a: b:\n",
        "a:\n    b: 1\n  c: 2\n",
        "a: 1\na: 2\n",
        "a: x\n  y\n",
        "a:\n- x\n  y\n",
        "- a\n",
        "  a: 1\n",
        "a: \"x\\ty\"\n",
        "a: 'x\n  y'\n",
        "a: [x]\n",
        "a: {}x\n",
        "a: \"x\"y\n",
        "a: \"x\"#y\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: |\n  x\n",
        "? a\n: b\n",
        "a:\n-\n",
        "a:\n- - x\n",
        "a:\n  -- x\n",
        "a:\n- --x\n- -1\n",
        "a:\n  - name: x\n    args: [\"--y\"]\n",
        "\"a\": 1\n'b': 2\n\"a b\": 3\n",
        "a : 1\n",
        "a:1\n",
        "a #b: 1\n",
        "a: ---\n",
        "a: x\n---\nb: y\n",
        "a: 1\n...\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: 'x' # c\nb: '' \nc: \"\"\n",
        "a:\n  b:\n    c:\n  d: 1\n",
        "a: -\n",
        "a: ~\nb: null\nc: \"on\"\nd: 0755\n",
        "a:\n  # comment\n  b: 1\n  # another\nc: 2\n",
        "a: 1   \nb:   2   # x\n",
        "é: ü\nb: 日本\n",
        "a: [a, b]\n",
        "a: [a,b]\n",
        "a: [ a ]\n",
        "a: [\"x\", 'y']\n",
        "a: [a, ]\n",
        "a: [a b]\n",
        "a: [a:b]\n",
        "a: [a, [b]]\n",
        "a: [ReadWriteOnce] # c\n",
        "a: [a]x\n",
        "a: [a, {b: c}]\n",
        "a:\n  {}\n",
        "a:\n  []\n",
        "a:\n  value\n",
        "a:\n  \"q\"\n",
        "a:\n  x\n  y\n",
        "a:\n  [x]\nb:\n  - c\n",
        // Keys alike in length and first and last byte (the duplicate check's fingerprint).
        "axb: 1\nayb: 2\naxb: 3\n",
        "a: x:y\nb: x: y\n",
        "a: x:\n",
        "a: x #y: z\n",
        "a: x#y: z\n",
        "a: 1\u{7f}\n",
        "a: \u{85}\n",
    ];
    for case in cases {
        agrees(case, &format!("{case:?}"));
    }
    // Documents that must take the fast path, or it would be of no use.
    for case in [
        "a: [a, b]\nb: [\"x\", 'y']\nc:\n  {}\nd:\n  value\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: {}\nspec:\n  containers:\n  - name: a\n    args:\n      - --x\n",
        "a:\n- b: 1\n  c:\n- d\n",
        "axb: 1\nayb: 2\nab: 3\nb: x:y\n",
    ] {
        assert!(agrees(case, case), "not taken: {case}");
    }
}

/// One line of a generated document: a key or a dash, a value full of traps.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}",
        Just("x: y".to_string()),
        Just("x:".to_string()),
        Just("a #b".to_string()),
        Just("a#b".to_string()),
        Just("--flag=1".to_string()),
        Just("-".to_string()),
        Just("- x".to_string()),
        Just("'q'".to_string()),
        Just("'it''s'".to_string()),
        Just("\"d\"".to_string()),
        Just("\"a\\\"b\"".to_string()),
        Just("{}".to_string()),
        Just("[]".to_string()),
        Just("[a]".to_string()),
        Just("[a, b]".to_string()),
        Just("[ a ]".to_string()),
        Just("[a,b]".to_string()),
        Just("['a', \"b\"]".to_string()),
        Just("&a x".to_string()),
        Just("*a".to_string()),
        Just("|".to_string()),
        Just("''".to_string()),
        Just("http://h:1/p".to_string()),
        Just("~".to_string()),
        Just("".to_string()),
    ]
}

fn line() -> impl Strategy<Value = String> {
    (
        0usize..4,
        prop::bool::ANY,
        "[a-c]{1,2}",
        scalar(),
        prop::bool::ANY,
    )
        .prop_map(|(indent, dash, key, value, comment)| {
            let pad = "  ".repeat(indent);
            let body = if dash {
                format!("- {value}")
            } else {
                format!("{key}: {value}")
            };
            let tail = if comment { " # c" } else { "" };
            format!("{pad}{body}{tail}\n")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_documents_agree(lines in prop::collection::vec(line(), 1..12)) {
        let text: String = lines.concat();
        agrees(&text, "generated");
    }
}
