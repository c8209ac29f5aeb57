//! `check --output sarif` is what GitHub code scanning takes: valid against the SARIF 2.1.0
//! schema, and within GitHub's documented rules for an upload ("SARIF support for code
//! scanning", docs.github.com): a location on every result, repository-relative paths, rule
//! ids the run defines, fingerprints.

use crate::common;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Validates SARIF logs against the SARIF 2.1.0 JSON Schema (`.tools/`) in one python run;
/// returns without checking when a need is missing ([`common::needs`]).
pub fn assert_schema_valid(logs: &[PathBuf]) {
    let Some(schema) = common::needs::tool("sarif-2.1.0.json") else {
        return;
    };
    if !common::needs::python3(&["jsonschema"]) {
        return;
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json,sys,jsonschema\nschema=json.load(open(sys.argv[1]))\nfor p in sys.argv[2:]:\n    try: jsonschema.validate(json.load(open(p)), schema)\n    except jsonschema.ValidationError as e: sys.exit(p + ': ' + str(e)[:2000])",
        ])
        .arg(&schema)
        .args(logs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "SARIF invalid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What GitHub would refuse or misplace in a SARIF `log` whose `%SRCROOT%` is `root`:
/// empty when an upload would take every result and place it on a line of a file in the
/// repository.
pub fn github_upload_problems(log: &Value, root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |p: String| problems.push(p);
    if log["version"] != "2.1.0" {
        problem(format!("version is {}, not 2.1.0", log["version"]));
    }
    let runs = log["runs"].as_array().cloned().unwrap_or_default();
    if runs.is_empty() || runs.len() > 20 {
        problem(format!("{} runs (1 to 20 allowed)", runs.len()));
    }
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    for run in &runs {
        let driver = &run["tool"]["driver"];
        if driver["name"].as_str().is_none_or(str::is_empty) {
            problem("the run has no tool.driver.name".into());
        }
        let rules = driver["rules"].as_array().cloned().unwrap_or_default();
        let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
        if ids.len() != rules.len() || ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
            problem(format!("rule ids missing or repeated: {ids:?}"));
        }
        for rule in &rules {
            let id = rule["id"].as_str().unwrap_or("?");
            if rule["shortDescription"]["text"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                problem(format!("rule {id} has no shortDescription"));
            }
            match rule["helpUri"].as_str().and_then(|u| u.split_once('#')) {
                Some((base, anchor))
                    if base.starts_with("https://") && base.ends_with("/README.md") =>
                {
                    if !readme_anchors(&readme).contains(anchor) {
                        problem(format!("rule {id}: the README has no heading #{anchor}"));
                    }
                }
                _ => problem(format!(
                    "rule {id}: helpUri {} is not into the README",
                    rule["helpUri"]
                )),
            }
            if !matches!(
                rule["defaultConfiguration"]["level"].as_str(),
                Some("error" | "warning" | "note")
            ) {
                problem(format!("rule {id} has no default level"));
            }
        }
        let results = run["results"].as_array().cloned().unwrap_or_default();
        if results.len() > 25_000 {
            problem(format!("{} results (25000 allowed)", results.len()));
        }
        let mut fingerprints = BTreeSet::new();
        for (i, r) in results.iter().enumerate() {
            let what = format!("result {i} ({})", r["ruleId"]);
            if !r["ruleId"].as_str().is_some_and(|id| ids.contains(&id)) {
                problem(format!("{what}: ruleId is not a rule of the run"));
            }
            if r["message"]["text"].as_str().is_none_or(str::is_empty) {
                problem(format!("{what}: no message.text"));
            }
            if !matches!(r["level"].as_str(), Some("error" | "warning" | "note")) {
                problem(format!("{what}: level {}", r["level"]));
            }
            match r["partialFingerprints"].as_object() {
                Some(f) if !f.is_empty() && f.values().all(Value::is_string) => {
                    if !fingerprints.insert((
                        r["ruleId"].to_string(),
                        Value::Object(f.clone()).to_string(),
                    )) {
                        problem(format!(
                            "{what}: the same fingerprint as another result: GitHub would merge them"
                        ));
                    }
                }
                _ => problem(format!("{what}: no partialFingerprints")),
            }
            let locations = r["locations"].as_array().cloned().unwrap_or_default();
            if locations.len() != 1 {
                problem(format!("{what}: {} locations, not 1", locations.len()));
                continue;
            }
            let physical = &locations[0]["physicalLocation"];
            let artifact = &physical["artifactLocation"];
            let uri = artifact["uri"].as_str().unwrap_or_default();
            if artifact["uriBaseId"] != "%SRCROOT%"
                || uri.is_empty()
                || uri.starts_with('/')
                || uri.contains("://")
                || uri.split('/').any(|part| part == ".." || part == ".")
            {
                problem(format!(
                    "{what}: {artifact} is not a path relative to the repository"
                ));
                continue;
            }
            let line = physical["region"]["startLine"].as_u64().unwrap_or(0);
            let column = physical["region"]["startColumn"].as_u64().unwrap_or(1);
            match std::fs::read_to_string(root.join(uri)) {
                Ok(text) if line >= 1 && line as usize <= text.lines().count() => {
                    let length = text.lines().nth(line as usize - 1).unwrap_or("").len();
                    if column < 1 || column as usize > length + 1 {
                        problem(format!(
                            "{what}: column {column} is past the end of {uri}:{line}"
                        ));
                    }
                }
                Ok(text) => problem(format!(
                    "{what}: line {line} is not a line of {uri} ({} lines)",
                    text.lines().count()
                )),
                Err(e) => problem(format!(
                    "{what}: {uri} is not a file of the repository: {e}"
                )),
            }
        }
    }
    problems
}

/// The anchors GitHub gives the README's headings: lowercased, spaces to `-`, punctuation
/// but `-` and `_` dropped.
fn readme_anchors(readme: &str) -> BTreeSet<String> {
    readme
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with('#'))
        })
        .map(|heading| {
            heading
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// Every corpus chart's SARIF (each file, in both meshes, with the example configs) is
/// valid, and GitHub would take every result, placed on a line of the chart's file: the
/// missing policies (GM002) at the workload that needs them.
#[test]
#[cfg_attr(
    gunj_no_shared,
    ignore = "needs ../shared (corpus, schemas, tools beside the clone): see README, Development"
)]
fn every_corpus_charts_sarif_is_valid_and_located_as_github_code_scanning_asks() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let out_dir = common::TempDir::new("sarif-corpus");
    let mut logs = Vec::new();
    let mut missing = 0;
    for folder in crate::corpus::FOLDERS {
        for file in common::files(&corpus.join(folder)) {
            let name = format!("{folder}/{}", file.file_name().unwrap().to_string_lossy());
            for config in ["istio-advanced", "linkerd"] {
                // Run from the corpus, as CI runs from the repository's root.
                let out = common::gunj_process()
                    .current_dir(&corpus)
                    .args(["check", "-q", "--output", "sarif", "-c"])
                    .arg(common::repo().join(format!("examples/{config}.yaml")))
                    .arg(&name)
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                match out.status.code() {
                    Some(0 | 1) => {}
                    Some(2) if err.contains("nothing recognised") => {
                        assert!(out.stdout.is_empty(), "{name}");
                        continue;
                    }
                    code => panic!("{name} ({config}): exit {code:?}: {err}"),
                }
                let log: Value = serde_json::from_slice(&out.stdout).unwrap();
                let problems = github_upload_problems(&log, &corpus);
                assert!(
                    problems.is_empty(),
                    "{name} ({config}):\n{}",
                    problems.join("\n")
                );
                let results = log["runs"][0]["results"].as_array().unwrap();
                missing += results.iter().filter(|r| r["ruleId"] == "GM002").count();
                let path = out_dir.write(
                    &format!("{}-{config}.sarif", name.replace('/', "-")),
                    &String::from_utf8_lossy(&out.stdout),
                );
                logs.push(path);
            }
        }
    }
    assert!(missing > 100, "only {missing} missing-policy results");
    assert_schema_valid(&logs);
}

/// The validator catches what GitHub refuses: a result without a location (what every
/// GM002 result was), a path outside the repository, a line past the file's end.
#[test]
fn the_upload_rules_catch_a_result_without_a_location() {
    let dir = common::TempDir::new("sarif-rules");
    dir.write("a.yaml", "kind: Pod\nmetadata: {name: x}\n");
    let (code, out, err) = common::gunj(
        &["check", "--mesh", "istio", "--output", "sarif", "-"],
        common::fixtures::GRAFANA_HELM,
    );
    assert_eq!(code, 1, "{err}");
    let log: Value = serde_json::from_str(&out).unwrap();
    let mut good = log.clone();
    let location = serde_json::json!([{"physicalLocation": {
        "artifactLocation": {"uri": "a.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 2, "startColumn": 1},
    }}]);
    for r in good["runs"][0]["results"].as_array_mut().unwrap() {
        r["locations"] = location.clone();
    }
    assert_eq!(
        github_upload_problems(&good, Path::new(&dir.arg())),
        Vec::<String>::new()
    );
    for (change, expected) in [
        (serde_json::json!(null), "0 locations"),
        (
            serde_json::json!([{"physicalLocation": {"artifactLocation": {"uri": "../a.yaml", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 1}}}]),
            "not a path relative to the repository",
        ),
        (
            serde_json::json!([{"physicalLocation": {"artifactLocation": {"uri": "a.yaml", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 3}}}]),
            "line 3 is not a line of a.yaml",
        ),
    ] {
        let mut bad = good.clone();
        bad["runs"][0]["results"][0]["locations"] = change;
        let problems = github_upload_problems(&bad, Path::new(&dir.arg()));
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected}: {problems:?}"
        );
    }
}
