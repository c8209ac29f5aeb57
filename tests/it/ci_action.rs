//! The GitHub Action (`action.yml`, `functions/ci/gunj-mesh-action`) and the pre-commit
//! hook (`.pre-commit-hooks.yaml`), run the way their runners run them.
//!
//! - GitHub runs a composite action's `run` steps with `bash`, in `GITHUB_WORKSPACE`, with
//!   the step's `env` after substituting `${{ inputs.* }}` (defaults for inputs not given)
//!   and `${{ steps.*.outputs.* }}`, and with `GITHUB_ACTION_PATH`, `GITHUB_OUTPUT`,
//!   `GITHUB_STEP_SUMMARY` and `RUNNER_TOOL_CACHE` set. The steps and their env are read
//!   out of the shipped action.yml.
//! - pre-commit runs the hook's `entry`, split on blanks, then the user's `args`, then the
//!   staged file names, with the hook environment's `bin` (gunj-mesh) on `PATH`.

use crate::common::{self, TempDir};
use gunj_mesh::internals::yaml::{self, Limits};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn read_yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(common::repo().join(path)).unwrap();
    yaml::parse(&text, Limits::default())
        .unwrap()
        .unwrap()
        .to_json()
}

/// A runner's workspace: `rendered/` holds `manifests` (the example stream, meshed or
/// not), `mesh.yaml` the basic config, and `bin/` gunj-mesh.
struct Workspace {
    dir: TempDir,
}

impl Workspace {
    fn new(meshed: bool) -> Workspace {
        let dir = TempDir::new("ci-action");
        let root = PathBuf::from(dir.arg());
        for sub in ["rendered", "bin", "tool-cache", "runner-temp"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(common::run::bin(), root.join("bin/gunj-mesh")).unwrap();
        let config = common::repo().join("examples/basic.yaml");
        std::fs::copy(&config, root.join("mesh.yaml")).unwrap();
        let stream = common::repo().join("examples/stream/observability.yaml");
        let text = if meshed {
            let (code, out, err) = common::gunj(
                &[
                    "-q",
                    "-c",
                    config.to_str().unwrap(),
                    stream.to_str().unwrap(),
                ],
                "",
            );
            assert_eq!(code, 0, "{err}");
            out
        } else {
            std::fs::read_to_string(stream).unwrap()
        };
        std::fs::write(root.join("rendered/observability.yaml"), text).unwrap();
        Workspace { dir }
    }

    fn root(&self) -> PathBuf {
        PathBuf::from(self.dir.arg())
    }

    fn path_with_bin(&self) -> std::ffi::OsString {
        let mut paths = vec![self.root().join("bin")];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(paths).unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.root().join(name)).unwrap_or_default()
    }
}

/// What one run of the action left: its exit, `GITHUB_OUTPUT` as a map, the summary.
struct Run {
    out: Output,
    outputs: BTreeMap<String, String>,
    summary: String,
}

/// Substitutes `${{ inputs.NAME }}` and `${{ steps.ID.outputs.NAME }}` in `text`.
fn substitute(
    text: &str,
    inputs: &BTreeMap<String, String>,
    steps: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find("}}").expect("unclosed ${{") + at;
        let expr = rest[at + 3..end].trim();
        let value = if let Some(name) = expr.strip_prefix("inputs.") {
            inputs
                .get(name)
                .unwrap_or_else(|| panic!("action.yml has no input {name}"))
        } else if expr.starts_with("steps.") {
            // A skipped step's outputs are empty strings to GitHub.
            steps.get(expr).map_or("", String::as_str)
        } else {
            panic!("unknown expression {expr}")
        };
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Runs action.yml's steps, as a composite action, with `given` inputs. The cache step
/// (`uses:`) is GitHub's; a run without it has an empty tool cache.
fn run_action(ws: &Workspace, given: &[(&str, &str)]) -> Run {
    let action = read_yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let mut inputs: BTreeMap<String, String> = action["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["default"].as_str().unwrap_or("").to_string()))
        .collect();
    for (k, v) in given {
        assert!(inputs.contains_key(*k), "action.yml has no input {k}");
        inputs.insert(k.to_string(), v.to_string());
    }
    let root = ws.root();
    let mut step_outputs: BTreeMap<String, String> = BTreeMap::new();
    let mut last = None;
    for step in action["runs"]["steps"].as_array().unwrap() {
        if let Some(cond) = step["if"].as_str() {
            let (lhs, rhs) = cond
                .split_once("==")
                .expect("only `inputs.x == 'v'` conditions");
            let name = lhs.trim().strip_prefix("inputs.").unwrap();
            if inputs[name] != rhs.trim().trim_matches('\'') {
                continue;
            }
        }
        let Some(script) = step["run"].as_str() else {
            assert!(step["uses"].as_str().unwrap().starts_with("actions/cache@"));
            continue;
        };
        assert_eq!(step["shell"], "bash");
        let output_file = root.join("github-output");
        std::fs::write(&output_file, "").unwrap();
        let mut cmd = common::run::command("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
            .arg(substitute(script, &inputs, &step_outputs))
            .current_dir(&root)
            .env("PATH", ws.path_with_bin())
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", &root)
            .env("GITHUB_ACTION_PATH", common::repo())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", root.join("step-summary.md"))
            .env("RUNNER_TOOL_CACHE", root.join("tool-cache"))
            .env("RUNNER_TEMP", root.join("runner-temp"));
        if let Some(env) = step["env"].as_object() {
            for (k, v) in env {
                cmd.env(k, substitute(v.as_str().unwrap(), &inputs, &step_outputs));
            }
        }
        let out = cmd.output().unwrap();
        let outputs: BTreeMap<String, String> = std::fs::read_to_string(&output_file)
            .unwrap()
            .lines()
            .map(|l| {
                let (k, v) = l
                    .split_once('=')
                    .expect("GITHUB_OUTPUT lines are name=value");
                (k.to_string(), v.to_string())
            })
            .collect();
        if let Some(id) = step["id"].as_str() {
            for (k, v) in &outputs {
                step_outputs.insert(format!("steps.{id}.outputs.{k}"), v.clone());
            }
        }
        last = Some((out, outputs));
    }
    let (out, outputs) = last.expect("action.yml ran no step");
    Run {
        out,
        outputs,
        summary: ws.read("step-summary.md"),
    }
}

fn sarif(ws: &Workspace) -> Value {
    serde_json::from_str(&ws.read("gunj-mesh.sarif")).expect("the SARIF file is JSON")
}

/// A mesh-ready set passes: exit 0, GITHUB_OUTPUT with zero counts and the SARIF file, an
/// empty SARIF run, a summary that says so.
#[test]
fn action_passes_a_mesh_ready_set() {
    let ws = Workspace::new(true);
    let run = run_action(
        &ws,
        &[
            ("paths", "rendered"),
            ("config", "mesh.yaml"),
            ("version", "path"),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.out.stderr);
    assert_eq!(run.out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("gunj-mesh: gunj-mesh "), "{stderr}");
    let want = [
        ("errors", "0"),
        ("exit-code", "0"),
        ("notes", "0"),
        ("sarif", "gunj-mesh.sarif"),
        ("warnings", "0"),
    ];
    assert_eq!(
        run.outputs,
        want.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    );
    let sarif = sarif(&ws);
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 0);
    assert!(
        run.summary.contains("gunj-mesh check: mesh-ready"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("0 error(s), 0 warning(s), 0 note(s)"));
}

/// An unmeshed set fails the step: exit 1, `::error` annotations on the files with paths
/// relative to the workspace, the counts, and SARIF with the findings for upload.
#[test]
fn action_fails_an_unmeshed_set_and_still_writes_sarif() {
    let ws = Workspace::new(false);
    let run = run_action(
        &ws,
        &[
            ("paths", "rendered"),
            ("config", "mesh.yaml"),
            ("version", "path"),
        ],
    );
    let stdout = String::from_utf8_lossy(&run.out.stdout);
    assert_eq!(
        run.out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.out.stderr)
    );
    assert!(
        stdout.contains("::error file=rendered/observability.yaml,line="),
        "{stdout}"
    );
    assert_eq!(run.outputs["exit-code"], "1");
    assert_eq!(run.outputs["errors"], "5");
    assert_eq!(run.outputs["warnings"], "5");
    assert_eq!(run.outputs["sarif"], "gunj-mesh.sarif");
    let results = sarif(&ws)["runs"][0]["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 10);
    assert!(results.iter().any(|r| r["ruleId"] == "GM001"));
    assert!(run.summary.contains("findings at or above warning"));

    // fail-on note: the same findings, the same failure; sarif empty: no file.
    let ws2 = Workspace::new(false);
    let run = run_action(
        &ws2,
        &[
            ("paths", "rendered"),
            ("config", "mesh.yaml"),
            ("version", "path"),
            ("sarif", ""),
            ("fail-on", "error"),
        ],
    );
    assert_eq!(run.out.status.code(), Some(1));
    assert!(!run.outputs.contains_key("sarif"));
    assert!(!ws2.root().join("gunj-mesh.sarif").exists());
}

/// Input check cannot read (no Kubernetes object), and inputs the action refuses: exit
/// 2, no SARIF left behind to upload, the reason as an annotation.
#[test]
fn action_exits_2_on_bad_input_and_leaves_no_sarif() {
    let ws = Workspace::new(true);
    std::fs::write(
        ws.root().join("rendered/observability.yaml"),
        "just: values\n",
    )
    .unwrap();
    let run = run_action(&ws, &[("paths", "rendered"), ("version", "path")]);
    assert_eq!(run.out.status.code(), Some(2));
    assert_eq!(run.outputs.get("exit-code").map(String::as_str), Some("2"));
    assert!(!run.outputs.contains_key("sarif"));
    assert!(!ws.root().join("gunj-mesh.sarif").exists());
    assert!(run.summary.contains("could not check"), "{}", run.summary);

    let run = run_action(&ws, &[("fail-on", "fatal"), ("version", "path")]);
    assert_eq!(run.out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.out.stdout)
            .contains("::error title=gunj-mesh action::input fail-on is 'fatal'")
    );
}

/// `version: action` (the default): the key step names a tool-cache root keyed by the
/// action's sources, and a gunj-mesh cached there (as actions/cache restores it) is the
/// one that runs; without it, cargo builds the action's source into that root.
#[test]
fn action_uses_its_cached_build() {
    let ws = Workspace::new(true);
    std::fs::remove_file(ws.root().join("bin/gunj-mesh")).unwrap();
    // A cargo that records its arguments and fails, in place of a real build.
    let cargo = ws.root().join("bin/cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho \"$@\" >\"$GITHUB_WORKSPACE/cargo-args\"\nexit 101\n",
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let key = keyed_root(&ws);
    // Nothing cached: the action builds its own source into the keyed root.
    let first = run_action(&ws, &[("paths", "rendered"), ("config", "mesh.yaml")]);
    assert_eq!(first.out.status.code(), Some(101));
    assert_eq!(
        ws.read("cargo-args").trim(),
        format!(
            "install --locked --path {} --root {}",
            common::repo().display(),
            key.display()
        )
    );
    std::fs::remove_file(ws.root().join("cargo-args")).unwrap();
    // Restored by actions/cache: that binary runs, and cargo does not.
    std::fs::create_dir_all(key.join("bin")).unwrap();
    std::os::unix::fs::symlink(common::run::bin(), key.join("bin/gunj-mesh")).unwrap();
    let run = run_action(&ws, &[("paths", "rendered"), ("config", "mesh.yaml")]);
    assert_eq!(
        run.out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.out.stderr)
    );
    assert_eq!(run.outputs["exit-code"], "0");
    assert!(
        !ws.root().join("cargo-args").exists(),
        "cargo ran over a cached build"
    );
}

/// The root the action's key step names, run on its own.
fn keyed_root(ws: &Workspace) -> PathBuf {
    let out_file = ws.root().join("key-output");
    let out = common::run::command("bash")
        .arg(common::repo().join("functions/ci/gunj-mesh-action"))
        .arg("key")
        .env("GITHUB_OUTPUT", &out_file)
        .env("RUNNER_TOOL_CACHE", ws.root().join("tool-cache"))
        .env("GITHUB_ACTION_PATH", common::repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(out_file).unwrap();
    let key = text.lines().find_map(|l| l.strip_prefix("key=")).unwrap();
    assert!(key.starts_with("gunj-mesh-"), "{key}");
    let root = text.lines().find_map(|l| l.strip_prefix("root=")).unwrap();
    assert_eq!(
        Path::new(root),
        ws.root().join("tool-cache/gunj-mesh").join(key)
    );
    PathBuf::from(root)
}

/// The hook as pre-commit runs it: entry, the user's args, the staged files. A staged
/// mesh-ready manifest passes; an unmeshed one fails with the findings on its lines.
#[test]
fn pre_commit_hook_checks_the_staged_files() {
    let hooks = read_yaml(".pre-commit-hooks.yaml");
    let hook = hooks
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "gunj-mesh-check")
        .expect("hook gunj-mesh-check");
    assert_eq!(hook["language"], "rust");
    assert!(hook["pass_filenames"].as_bool().unwrap_or(true));
    let types: Vec<&str> = hook["types_or"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(types.contains(&"yaml"));
    let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
    let run = |ws: &Workspace| {
        common::run::command(entry[0])
            .args(&entry[1..])
            .args(["--config", "mesh.yaml"])
            .arg("rendered/observability.yaml")
            .current_dir(ws.root())
            .env("PATH", ws.path_with_bin())
            .output()
            .unwrap()
    };
    let ready = Workspace::new(true);
    let out = run(&ready);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let unmeshed = Workspace::new(false);
    let out = run(&unmeshed);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("rendered/observability.yaml:"), "{stdout}");
    assert!(stdout.contains("error[GM001]"), "{stdout}");
}
