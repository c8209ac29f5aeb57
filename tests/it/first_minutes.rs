//! Issue #23's first five minutes: what a new user meets first. One regression test each.

use crate::common;

/// A config whose error sits after 60 two-byte characters on a line longer than a terminal.
fn long_line_config() -> String {
    format!(
        "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nmetadata: {{name: m}}\nspec: {{hooks: skip, clusterDomain: \"{}\", type: 7}}\n",
        "é".repeat(60)
    )
}

#[test]
fn an_error_says_error_once() {
    let (code, _, err) = common::gunj(&["-"], "apiVersion: v1\nkind: [\n");
    assert_eq!(code, 2);
    assert_eq!(err.matches("error").count(), 1, "{err}");
}

#[test]
fn stdin_is_named_stdin_in_errors() {
    let (code, _, err) = common::gunj(&["-"], "apiVersion: v1\nkind: [\n");
    assert_eq!(code, 2);
    assert!(
        err.starts_with("gunj-mesh: error: document 1 (<stdin>), line 2"),
        "{err}"
    );
}

#[test]
fn the_frame_names_the_file_and_its_caret_is_under_the_reported_column() {
    let dir = common::TempDir::new("first-minutes");
    let config = dir.write("mesh.yaml", &long_line_config());
    let (code, _, err) = common::gunj(&["-c", &config.display().to_string(), "-"], "");
    assert_eq!(code, 2, "{err}");
    let reported: usize = err
        .split(", column ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no column: {err}"));
    assert!(err.contains("mesh.yaml, line 4"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let shown = lines
        .iter()
        .position(|l| l.starts_with("  4 | "))
        .expect("line 4 quoted");
    let line = &lines[shown]["  4 | ".len()..];
    let caret = &lines[shown + 1]["    | ".len()..];
    // Characters, not bytes: the caret is under `7`, at the reported column.
    assert_eq!(caret.chars().count(), reported, "{err}");
    assert_eq!(line.chars().nth(reported - 1), Some('7'), "{err}");
}

#[test]
fn the_man_page_links_no_missing_page_and_has_the_usual_sections() {
    let (code, page, _) = common::gunj(&["man"], "");
    assert_eq!(code, 0);
    assert!(
        !page.contains("(1)\n"),
        "links to subcommand pages nothing generates"
    );
    for section in [
        ".SH SUBCOMMANDS",
        ".SH EXIT STATUS",
        ".SH ENVIRONMENT",
        ".SH EXAMPLES",
    ] {
        assert!(page.contains(section), "no {section}");
    }
    for name in ["explain", "check", "flows", "kustomize", "completions"] {
        assert!(
            page.contains(&format!("\\fBgunj\\-mesh {name}\\fR")),
            "no {name}"
        );
    }
    assert!(page.contains("GUNJ_MESH_LOG"));
}

#[test]
fn the_summary_folds_repeats_and_ends_with_totals() {
    let job = |name: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  namespace: monitoring\n  annotations: {{helm.sh/hook: test}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: t\n        image: grafana/grafana:10.0.0\n"
        )
    };
    let stream: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|n| job(n)).collect();
    let stream = format!("{}---\n{}", stream.join("---\n"), common::fixtures::GRAFANA);
    let (code, _, err) = common::gunj(&["--mesh", "istio", "-"], stream.clone());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.contains(&"job monitoring/a, b, c and 2 more (5 objects): skipped: Helm hook (hooks: skip); opted out"),
        "{err}"
    );
    assert_eq!(
        lines.last(),
        Some(&"gunj-mesh: 6 object(s) read, 1 edited, 0 generated, 5 skipped, 0 warning(s)"),
        "{err}"
    );
    let (_, _, quiet) = common::gunj(&["--mesh", "istio", "-q", "-"], stream);
    assert_eq!(quiet, "");
}

#[test]
fn readme_use_lists_every_subcommand() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let usage = &readme[readme.find("## Use").unwrap()..readme.find("## Configure").unwrap()];
    let (_, help, _) = common::gunj(&["--help"], "");
    let commands = &help[help.find("Commands:").unwrap()..help.find("Arguments:").unwrap()];
    // A command's line is indented two spaces; its wrapped description more.
    let names = commands
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect::<Vec<_>>();
    assert!(names.len() >= 9, "{commands}");
    for name in names {
        if name != "help" {
            assert!(
                usage.contains(&format!("gunj-mesh {name}")),
                "README Use lacks {name}"
            );
        }
    }
}
