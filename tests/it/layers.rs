//! The library's floors (docs/ARCHITECTURE.md): every `crate::` path in `src/` points to a
//! lower floor, never up and never to a sibling on the same floor. The binary
//! (`src/bin/`) sits above them all and sees only the library's face.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module of the library and its floor, bottom up.
const FLOORS: &[(&str, usize)] = &[
    ("yaml", 0),
    ("parallel", 0),
    ("error", 1),
    ("config", 2),
    ("io", 2),
    ("model", 3),
    ("decide", 4),
    ("generate", 4),
    ("verify", 4),
    ("report", 5),
    ("plan", 6),
    ("krm", 7),
    ("kustomize", 7),
    ("pipeline", 8),
    ("lib", 9),
];

fn floor(module: &str) -> usize {
    FLOORS
        .iter()
        .find(|(m, _)| *m == module)
        .unwrap_or_else(|| {
            panic!("module `{module}` has no floor: add it to FLOORS and docs/ARCHITECTURE.md")
        })
        .1
}

/// The top-level modules a line of code names through `crate::`, grouped imports included.
fn targets(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            out.push(item);
        } else {
            out.push(rest.to_string());
        }
    }
    out.iter()
        .map(|t| {
            t.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|t| !t.is_empty() && t != "self")
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn imports_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen = 0;
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        if first == "bin" {
            continue;
        }
        let module = first.trim_end_matches(".rs").to_string();
        let from = floor(&module);
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for target in targets(line) {
                seen += 1;
                if target == module {
                    continue;
                }
                let to = floor(&target);
                if to >= from {
                    let how = if to == from { "sideways" } else { "up" };
                    wrong
                        .entry(relative.display().to_string())
                        .or_default()
                        .push(format!(
                            "line {}: {how} to `{target}` (floor {from} -> {to})",
                            n + 1
                        ));
                }
            }
        }
    }
    assert!(
        seen > 100,
        "the scan found only {seen} crate paths: is it reading src/?"
    );
    assert!(
        wrong.is_empty(),
        "imports that do not point down: {wrong:#?}"
    );
}

#[test]
fn the_scan_reads_grouped_imports() {
    assert_eq!(
        targets("use crate::{io::stream::{Doc, split}, model, yaml::Node};"),
        ["io", "model", "yaml"]
    );
    assert_eq!(
        targets("let x = crate::parallel::map(a, crate::yaml::to_string);"),
        ["parallel", "yaml"]
    );
}
