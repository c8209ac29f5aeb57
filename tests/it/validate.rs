//! The validating scan (`yaml::check`, for the documents the filter does not parse) against
//! the parser (`yaml::parse`): whatever the text, the scan passes what the parser reads and
//! fails where the parser fails, with the same message, line and column. Checked on every
//! document of the corpus (`../shared/corpus`, skipped when missing), the examples and the
//! bad inputs, hand-written edge cases and generated documents, under the default limits
//! and tight ones.

use crate::common;
use gunj_mesh::internals::stream::split;
use gunj_mesh::internals::yaml::{Limits, check, parse};
use proptest::prelude::*;

/// Limits a small document can reach: nesting, aliases, key length.
const TIGHT: Limits = Limits {
    max_depth: 6,
    alias_budget: 12,
    max_input_bytes: usize::MAX,
    max_documents: usize::MAX,
    max_key_length: 5,
};

fn agrees(text: &str, what: &str) {
    for limits in [Limits::default(), TIGHT] {
        let parsed = parse(text, limits).map(|_| ());
        assert_eq!(
            check(text, limits),
            parsed,
            "{what} ({limits:?}): the scan and the parser differ on\n{text}"
        );
    }
}

/// Every document of the files under `dir`, as the filter splits them.
fn documents_agree(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for path in common::yaml_files(dir) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for doc in split(0, &text) {
            agrees(doc.body(), &format!("{} line {}", path.display(), doc.line));
            n += 1;
        }
    }
    n
}

#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn corpus_documents_agree() {
    let Some(dir) = common::corpus() else {
        return;
    };
    let n = documents_agree(&dir);
    assert!(n > 500, "{n} documents");
}

#[test]
fn examples_and_bad_inputs_agree() {
    let repo = common::repo();
    let n = documents_agree(&repo.join("examples")) + documents_agree(&repo.join("tests"));
    assert!(n > 50, "{n} documents");
}

#[test]
fn edge_cases_agree() {
    let cases = [
        "",
        "# only\n\n",
        "a: 1\n",
        "a:\nb: 1\n",
        "a:\n- b: 1\n  c:\n- d\n",
        "a:\n  - x\n  -   \"y\"\ne:\n-   z\n- w\n",
        "a: x # c\nb: 'it''s'\nc: \"q\"\nd: {}\ne: []\nf: x#y\ng: http://x:80\n",
        "a: b: c\n",
        "a: b:\n",
        "a:\n    b: 1\n  c: 2\n",
        "a: 1\na: 2\n",
        "a: 1\n\"a\": 2\n",
        "a: x\n  y\n",
        "- a\n",
        "  a: 1\n",
        "a: |\n  x\n",
        "a: |\n  x\n b: 1\n",
        "a: |\n    x\n  y\n",
        "a: |-\n  x\n\n\n  y\nb: >+\n  z\n\n",
        "a: |\n  # not a comment\n# a comment\nb: 1\n",
        "a: |\nb: 1\n",
        "a: |\n",
        "a: |\n   \n  x\n",
        "a: |\n  \n    x\n",
        "a: |2\n   x\n",
        "a: |-2\n  x\n",
        "a: |x\n",
        "a: |#c\n",
        "a: | #c\n  x\n",
        "a: |++\n",
        "- |\n  x\n- >\n  y\n",
        "a:\n- |\n  x\n- y\n",
        "a:\n- |\nx: 1\n",
        "a:\n- |\n x\nb: 1\n",
        "- a: |\n    x\n  b: 1\n",
        "- a: |\n   x\n",
        "a: \"\\t\\n\\\\\\\"\\/\\e\\N\\_\\L\\P\\0\\ \"\n",
        "a: \"\\q\"\n",
        "a: \"\\x41\\u0041\\U00000041\"\n",
        "a: \"x\\\n  y\"\n",
        "\"a\\\"b\": 1\n",
        "'a''b': 1\n'a''b': 2\n",
        "a: [a, b]\nb: [\"x\", 'y']\nc: [ a ]\nd: [a,b]\ne: [a, ]\nf: [a, [b]]\n",
        "a: [a]x\n",
        "a:\n  {}\nb:\n  []\nc:\n  value\nd:\n  \"q\"\n",
        "a:\n  x\n  y\n",
        "a:\n  |\n    x\n",
        "a: x:y\nb: x: y\n",
        // Found by fuzzing: a comment ends a plain scalar that went on over lines.
        "a:\n t: x\n  y #\n      z\n",
        "a: x:\n",
        "a: -\n",
        "a: ---\n",
        "a: 1\n...\n",
        "---\na: 1\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: 1\u{7f}\n",
        "a: \u{85}\n",
        "a: x\r\nb:\r\n  - y\r\n",
        "a: x\rb: 1\n",
        "a: |\r\n  x\r\n\r\nb: 1\r\n",
        "a:\tb\n",
        "a: b\t\n",
        "\ta: b\n",
        "a: \u{feff}\n",
        "é: ü\nb: 日本\n",
        "<<: {a: 1}\nb: 2\n",
        "a: &x [1, 2]\nb: *x\nc: *y\n",
        "a: !!binary aGk=\n",
        "a: @x\n",
        "a: `x\n",
        "? a\n: b\n",
        "a:\n  b:\n    c:\n      d:\n        e:\n          f: 1\n",
        "a:\n- - - - - - x\n",
        "abcdef: 1\n",
        "a: {abcdef: 1}\n",
        "a: &a [x, x, x, x]\nb: [*a, *a, *a, *a]\n",
    ];
    for case in cases {
        agrees(case, &format!("{case:?}"));
    }
}

/// A line of a generated document: indentation, then a key, a dash or bare text, and a
/// value full of YAML's traps, block scalar headers among them.
fn line() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[a-z]{1,6}",
        Just("".to_string()),
        Just("x: y".to_string()),
        Just("x:".to_string()),
        Just("a #b".to_string()),
        Just("a#b".to_string()),
        Just("-".to_string()),
        Just("- x".to_string()),
        Just("'it''s'".to_string()),
        Just("\"a\\\"b\\n\"".to_string()),
        Just("\"\\x4\"".to_string()),
        Just("{}".to_string()),
        Just("[a, 'b']".to_string()),
        Just("[a,]".to_string()),
        Just("{a: b}".to_string()),
        Just("&a x".to_string()),
        Just("*a".to_string()),
        Just("!t x".to_string()),
        Just("|".to_string()),
        Just("|-".to_string()),
        Just(">+".to_string()),
        Just("|2".to_string()),
        Just("| # c".to_string()),
        Just("|x".to_string()),
        Just("# c".to_string()),
        Just("\t".to_string()),
        Just(":x".to_string()),
        Just("?x".to_string()),
        Just("'a".to_string()),
        Just("b'".to_string()),
        Just("\"a".to_string()),
        Just("b\" # c".to_string()),
        Just("\"a\\".to_string()),
    ];
    let body = prop_oneof![
        ("[a-c]{1,2}", value.clone()).prop_map(|(k, v)| format!("{k}: {v}")),
        value.clone().prop_map(|v| format!("- {v}")),
        ("[a-c]{1,2}", value.clone()).prop_map(|(k, v)| format!("- {k}: {v}")),
        value,
    ];
    (0usize..7, body, prop::bool::weighted(0.1)).prop_map(|(indent, body, crlf)| {
        format!(
            "{}{body}{}",
            " ".repeat(indent),
            if crlf { "\r\n" } else { "\n" }
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn generated_documents_agree(lines in prop::collection::vec(line(), 1..14)) {
        agrees(&lines.concat(), "generated");
    }
}
