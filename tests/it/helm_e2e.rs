//! End-to-end tests with the real Helm binaries that `scripts/install-tools.sh` puts in
//! `<repo>/.tools/bin` (`helm3`, `helm4`), rendering `tests/chart` through the gunj-mesh
//! binary built by cargo.
//!
//! - Helm 3 runs the binary itself (`--post-renderer <path>`), and sends no hooks.
//! - Helm 4 runs the plugin in `functions/helm/gunj-mesh` (`helm plugin install`), whose
//!   wrapper finds the binary as `gunj-mesh` on `PATH`; it sends hooks and tests too. The
//!   plugin installs under its own name from a directory, a `helm plugin package` tarball
//!   and git (the repository root's `plugin.yaml`), and `helm plugin update` updates the
//!   git install.
//!
//! Without the tools the tests are skipped, except under CI (the rule is in
//! [`common::needs`]).

use crate::common;
use gunj_mesh::internals::stream;
use gunj_mesh::internals::yaml::{self, Limits, Node};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const CHART: &str = "tests/chart";
/// The Helm 4 plugin, in a directory named as the plugin: Helm installs a directory under
/// its base name.
const PLUGIN: &str = "./functions/helm/gunj-mesh";
const LOKI: &str = "templates/loki.yaml";

const ISTIO: &str = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n";
const LINKERD: &str =
    "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: linkerd\n";
const ISTIO_HOOKS_INJECT: &str =
    "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  hooks: inject\n";
const UNKNOWN_FIELD: &str = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  sidecarMode: strict\n";

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "gunj-mesh-e2e-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` in the directory and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One Helm binary with private homes, plugin dir and `PATH`.
struct Helm {
    exe: PathBuf,
    dir: TempDir,
}

impl Helm {
    /// `.tools/bin/<name>` set up in a fresh temp dir, or `None` when skipping.
    fn new(name: &str) -> Option<Helm> {
        let exe = common::needs::tool(&format!("bin/{name}"))?;
        let dir = TempDir::new(name);
        for sub in ["data/plugins", "config", "cache", "bin", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create helm dirs");
        }
        std::os::unix::fs::symlink(common::run::bin(), dir.path().join("bin/gunj-mesh"))
            .expect("symlink gunj-mesh");
        Some(Helm { exe, dir })
    }

    /// Helm 4 with `functions/helm/gunj-mesh` installed as a plugin.
    fn with_plugin() -> Option<Helm> {
        let helm = Helm::new("helm4")?;
        let out = helm.run(&["plugin", "install", PLUGIN]);
        assert_ok(&out, &format!("helm4 plugin install {PLUGIN}"));
        helm.assert_installed("0.1.0");
        Some(helm)
    }

    /// `helm plugin list` names gunj-mesh at `version`, and the plugins directory holds
    /// it under that name and nothing else.
    fn assert_installed(&self, version: &str) {
        let list = self.run(&["plugin", "list"]);
        assert_ok(&list, "helm plugin list");
        let row = stdout(&list)
            .lines()
            .find(|l| l.starts_with("gunj-mesh"))
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
        assert_eq!(
            row.as_deref(),
            Some(format!("gunj-mesh {version} postrenderer/v1").as_str()),
            "{}",
            stdout(&list)
        );
        let entries: Vec<String> = common::files(&self.dir.path().join("data/plugins"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".tgz") && !n.ends_with(".prov"))
            .collect();
        assert_eq!(entries, ["gunj-mesh"], "installed under another name");
    }

    fn command(&self, args: &[&str]) -> Command {
        self.command_of(&self.exe, args)
    }

    /// `exe` (another Helm) with this one's homes, plugins and `PATH`.
    fn command_of(&self, exe: &Path, args: &[&str]) -> Command {
        let d = self.dir.path();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![d.join("bin")];
        paths.extend(std::env::split_paths(&path));
        // A cleared environment: none of the developer's HELM_* or GUNJ_MESH_* variables.
        let mut cmd = common::run::command(exe);
        cmd.args(args)
            .env("HELM_DATA_HOME", d.join("data"))
            .env("HELM_CONFIG_HOME", d.join("config"))
            .env("HELM_CACHE_HOME", d.join("cache"))
            // `helm plugin install <dir>` links into $HELM_DATA_HOME/plugins.
            .env("HELM_PLUGINS", d.join("data/plugins"))
            .env("PATH", std::env::join_paths(paths).expect("PATH"))
            .env("TMPDIR", d.join("tmp"))
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run helm")
    }

    /// `helm template r tests/chart <extra>`, which must succeed.
    fn template(&self, extra: &[&str]) -> String {
        let mut args = vec!["template", "r", CHART];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert_ok(&out, &format!("helm {}", args.join(" ")));
        stdout(&out)
    }

    /// Writes a config file into the temp dir.
    fn config(&self, name: &str, text: &str) -> String {
        self.dir.write(name, text).display().to_string()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One document of a rendered stream: its exact text and its tree.
struct Doc {
    text: String,
    node: Node<'static>,
}

impl Doc {
    fn kind(&self) -> &str {
        self.node
            .get("kind")
            .and_then(Node::str)
            .unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.node
            .at(&["metadata", "name"])
            .and_then(Node::str)
            .unwrap_or_default()
    }

    /// The text without its `---` line, which Helm adds or drops between documents.
    fn body(&self) -> &str {
        self.text
            .strip_prefix("---\n")
            .unwrap_or(&self.text)
            .trim_end()
    }

    /// The pod template's metadata (the object's own for a Pod).
    fn pod_meta(&self, map: &str) -> Option<&Node<'static>> {
        match self.kind() {
            "Pod" => self.node.at(&["metadata", map]),
            _ => self.node.at(&["spec", "template", "metadata", map]),
        }
    }

    /// A pod label, when it is a string (a quoted `"true"`, not the boolean).
    fn pod_label(&self, key: &str) -> Option<&str> {
        self.pod_meta("labels")?.get(key)?.str()
    }

    fn pod_annotation(&self, key: &str) -> Option<&str> {
        self.pod_meta("annotations")?.get(key)?.str()
    }

    /// Every key under the pod's labels and annotations.
    fn pod_keys(&self) -> Vec<&str> {
        ["labels", "annotations"]
            .iter()
            .filter_map(|m| self.pod_meta(m))
            .flat_map(|m| m.string_map().into_iter().map(|(k, _)| k))
            .collect()
    }
}

/// Splits and parses a multi-document stream, leaving out empty documents.
fn docs(stream: &str) -> Vec<Doc> {
    stream::split(0, stream)
        .into_iter()
        .filter(|d| !d.header.empty)
        .map(|d| {
            let node = yaml::parse(&d.text[d.parse_from..], Limits::default())
                .unwrap_or_else(|e| panic!("bad YAML in output: {e}\n{}", d.text))
                .expect("a non-empty document")
                .into_owned();
            Doc {
                text: d.text.to_string(),
                node,
            }
        })
        .collect()
}

fn find<'a>(docs: &'a [Doc], kind: &str, name: &str) -> &'a Doc {
    docs.iter()
        .find(|d| d.kind() == kind && d.name() == name)
        .unwrap_or_else(|| {
            let have: Vec<String> = docs
                .iter()
                .map(|d| format!("{}/{}", d.kind(), d.name()))
                .collect();
            panic!("no {kind} {name} in the output; it has {have:?}")
        })
}

fn source_lines(stream: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = stream
        .lines()
        .filter(|l| l.starts_with("# Source: "))
        .collect();
    lines.sort_unstable();
    lines
}

fn no_mesh_keys(doc: &Doc) {
    let keys: Vec<&str> = doc
        .pod_keys()
        .into_iter()
        .filter(|k| k.contains("istio.io") || k.contains("linkerd.io"))
        .collect();
    assert!(
        keys.is_empty(),
        "{} {} got mesh keys {keys:?}:\n{}",
        doc.kind(),
        doc.name(),
        doc.text
    );
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mesh {
    Istio,
    Linkerd,
}

/// The grafana Deployment and loki StatefulSet are injected; node-exporter (hostNetwork)
/// and the ConfigMap are left as rendered.
fn assert_workloads(mesh: Mesh, out: &[Doc], plain: &[Doc], bytes_kept: bool) {
    for (kind, name) in [("Deployment", "r-grafana"), ("StatefulSet", "r-loki")] {
        let d = find(out, kind, name);
        match mesh {
            Mesh::Istio => assert_eq!(
                d.pod_label("sidecar.istio.io/inject"),
                Some("true"),
                "{kind} {name}:\n{}",
                d.text
            ),
            Mesh::Linkerd => {
                assert_eq!(
                    d.pod_annotation("linkerd.io/inject"),
                    Some("enabled"),
                    "{kind} {name}:\n{}",
                    d.text
                );
                assert!(
                    !d.pod_keys().iter().any(|k| k.contains("istio.io")),
                    "{}",
                    d.text
                );
            }
        }
        // Everything else about the object is as rendered.
        let before = find(plain, kind, name).node.to_json();
        let mut after = d.node.to_json();
        let pod_meta = after["spec"]["template"]["metadata"]
            .as_object_mut()
            .expect("pod template metadata");
        for map in ["labels", "annotations"] {
            if let Some(m) = pod_meta.get_mut(map).and_then(|m| m.as_object_mut()) {
                m.retain(|k, _| !k.contains("istio.io") && !k.contains("linkerd.io"));
                // A map the mesh keys needed is created by the filter.
                if m.is_empty() && before["spec"]["template"]["metadata"].get(map).is_none() {
                    pod_meta.remove(map);
                }
            }
        }
        assert_eq!(after, before, "{kind} {name} changed beyond mesh keys");
    }
    let exporter = find(out, "DaemonSet", "r-node-exporter");
    no_mesh_keys(exporter);
    assert_eq!(
        exporter.node.to_json(),
        find(plain, "DaemonSet", "r-node-exporter").node.to_json()
    );
    let cm = find(out, "ConfigMap", "r-settings");
    let plain_cm = find(plain, "ConfigMap", "r-settings");
    assert_eq!(cm.node.to_json(), plain_cm.node.to_json());
    if bytes_kept {
        assert_eq!(cm.body(), plain_cm.body(), "the ConfigMap's bytes changed");
        assert_eq!(
            exporter.body(),
            find(plain, "DaemonSet", "r-node-exporter").body()
        );
    }
    // YAML 1.1 readers (client-go) must still see strings.
    for quoted in [
        "enabled: \"on\"",
        "answer: \"yes\"",
        "mode: \"0755\"",
        "date: \"2024-01-01\"",
    ] {
        assert!(cm.text.contains(quoted), "lost {quoted}:\n{}", cm.text);
    }
}

fn helm3_case(mesh: Mesh, config: &str) {
    let Some(helm) = Helm::new("helm3") else {
        return;
    };
    let config = helm.config("mesh.yaml", config);
    let bin = common::run::bin().display().to_string();
    let arg = format!("--post-renderer-args={config}");
    let post = [
        "--post-renderer",
        bin.as_str(),
        "--post-renderer-args=--config",
        arg.as_str(),
    ];
    let plain_text = helm.template(&[]);
    let out_text = helm.template(&post);
    let (plain, out) = (docs(&plain_text), docs(&out_text));
    assert_workloads(mesh, &out, &plain, true);
    assert_eq!(
        source_lines(&out_text),
        source_lines(&plain_text),
        "# Source: lines differ"
    );
    // Helm 3 sends no hooks to the post-renderer: they come back as rendered.
    for (kind, name) in [("Job", "r-preflight"), ("Pod", "r-test-connection")] {
        assert_eq!(
            find(&out, kind, name).body(),
            find(&plain, kind, name).body()
        );
    }
    assert_eq!(out.len(), plain.len());
    // So the pipeline's output fails check on its hooks, unless --helm3 says why they are
    // as they are.
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "-q", "--config", config.as_str()];
        args.extend_from_slice(extra);
        args.push("-");
        common::gunj(&args, out_text.as_str())
    };
    let (code, text, _) = check(&[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("[GM001]: document 8: pod default/r-test-connection"),
        "{text}"
    );
    let (code, text, _) = check(&["--helm3"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("0 error(s), 0 warning(s), 2 note(s)"),
        "{text}"
    );

    let mut args = post.to_vec();
    args.extend(["--show-only", LOKI]);
    let only = docs(&helm.template(&args));
    let loki = find(&only, "StatefulSet", "r-loki");
    assert!(
        only.iter()
            .all(|d| d.kind() == "StatefulSet" || d.kind() == "Service"),
        "--show-only {LOKI} returned other documents"
    );
    match mesh {
        Mesh::Istio => assert_eq!(loki.pod_label("sidecar.istio.io/inject"), Some("true")),
        Mesh::Linkerd => assert_eq!(loki.pod_annotation("linkerd.io/inject"), Some("enabled")),
    }
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm3_post_renderer_istio() {
    helm3_case(Mesh::Istio, ISTIO);
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm3_post_renderer_linkerd() {
    helm3_case(Mesh::Linkerd, LINKERD);
}

/// Helm 4's own bookkeeping must not leak: every document is back in its template file.
fn assert_helm4_bookkeeping(text: &str) {
    assert!(
        !text.contains("postrenderer.helm.sh/postrender-filename"),
        "Helm's filename annotation leaked into the output"
    );
    assert!(
        !text.contains("generated-by-postrender"),
        "a document lost its filename annotation:\n{text}"
    );
}

fn helm4_show_only_loki(helm: &Helm, post: &[&str], mesh: Mesh) {
    let mut args = post.to_vec();
    args.extend(["--show-only", LOKI]);
    let only = docs(&helm.template(&args));
    assert_eq!(
        only.len(),
        3,
        "loki.yaml holds a StatefulSet and two Services"
    );
    let loki = find(&only, "StatefulSet", "r-loki");
    match mesh {
        Mesh::Istio => assert_eq!(loki.pod_label("sidecar.istio.io/inject"), Some("true")),
        Mesh::Linkerd => assert_eq!(loki.pod_annotation("linkerd.io/inject"), Some("enabled")),
    }
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm4_plugin_default_config_is_istio_and_opts_hooks_out() {
    let Some(helm) = Helm::with_plugin() else {
        return;
    };
    let post = ["--post-renderer", "gunj-mesh"];
    let plain_text = helm.template(&[]);
    let out_text = helm.template(&post);
    assert_helm4_bookkeeping(&out_text);
    let (plain, out) = (docs(&plain_text), docs(&out_text));
    // Helm 4 re-serialises the post-renderer's output, so only the ConfigMap, which it
    // happens to keep as is, is compared byte for byte.
    assert_workloads(Mesh::Istio, &out, &plain, false);
    assert_eq!(
        find(&out, "ConfigMap", "r-settings").body(),
        find(&plain, "ConfigMap", "r-settings").body()
    );
    assert_eq!(source_lines(&out_text), source_lines(&plain_text));
    assert_eq!(out.len(), plain.len());
    // Hooks (default `hooks: skip`): an explicit opt-out, nothing else.
    for (kind, name) in [("Job", "r-preflight"), ("Pod", "r-test-connection")] {
        let d = find(&out, kind, name);
        assert_eq!(
            d.pod_label("sidecar.istio.io/inject"),
            Some("false"),
            "{kind} {name} is not opted out:\n{}",
            d.text
        );
        assert_eq!(d.pod_annotation("sidecar.istio.io/nativeSidecar"), None);
        assert_eq!(
            d.pod_keys()
                .iter()
                .filter(|k| k.contains("istio.io"))
                .count(),
            1
        );
    }
    helm4_show_only_loki(&helm, &post, Mesh::Istio);
    // The test Pod is still a test, in its own template file.
    let tests = docs(&helm.template(&[
        "--post-renderer",
        "gunj-mesh",
        "--show-only",
        "templates/tests/test-connection.yaml",
    ]));
    assert_eq!(tests.len(), 1);
    assert_eq!(
        find(&tests, "Pod", "r-test-connection").pod_label("sidecar.istio.io/inject"),
        Some("false")
    );
}

/// Renders the chart through the plugin with a config passed by `--post-renderer-args`:
/// the post-renderer arguments, the plain render and the filtered one.
fn helm4_render(helm: &Helm, file: &str, config: &str) -> (Vec<String>, Vec<Doc>, Vec<Doc>) {
    let config = helm.config(file, config);
    let post = vec![
        "--post-renderer".to_string(),
        "gunj-mesh".to_string(),
        "--post-renderer-args=--config".to_string(),
        format!("--post-renderer-args={config}"),
    ];
    let args: Vec<&str> = post.iter().map(String::as_str).collect();
    let plain = docs(&helm.template(&[]));
    let out_text = helm.template(&args);
    assert_helm4_bookkeeping(&out_text);
    (post, plain, docs(&out_text))
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm4_plugin_with_args_linkerd() {
    let Some(helm) = Helm::with_plugin() else {
        return;
    };
    let (post, plain, out) = helm4_render(&helm, "linkerd.yaml", LINKERD);
    let post: Vec<&str> = post.iter().map(String::as_str).collect();
    assert_workloads(Mesh::Linkerd, &out, &plain, false);
    for (kind, name) in [("Job", "r-preflight"), ("Pod", "r-test-connection")] {
        let d = find(&out, kind, name);
        assert_eq!(
            d.pod_annotation("linkerd.io/inject"),
            Some("disabled"),
            "{kind} {name} is not opted out:\n{}",
            d.text
        );
        assert_eq!(d.pod_label("sidecar.istio.io/inject"), None);
    }
    helm4_show_only_loki(&helm, &post, Mesh::Linkerd);
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm4_plugin_hooks_inject_gives_jobs_native_sidecars() {
    let Some(helm) = Helm::with_plugin() else {
        return;
    };
    let (post, plain, out) = helm4_render(&helm, "hooks.yaml", ISTIO_HOOKS_INJECT);
    let post: Vec<&str> = post.iter().map(String::as_str).collect();
    assert_workloads(Mesh::Istio, &out, &plain, false);
    for (kind, name) in [("Job", "r-preflight"), ("Pod", "r-test-connection")] {
        let d = find(&out, kind, name);
        assert_eq!(
            d.pod_label("sidecar.istio.io/inject"),
            Some("true"),
            "{kind} {name}:\n{}",
            d.text
        );
        assert_eq!(
            d.pod_annotation("sidecar.istio.io/nativeSidecar"),
            Some("true"),
            "{kind} {name} runs to completion, so it needs a native sidecar:\n{}",
            d.text
        );
    }
    // Long-running workloads get no native sidecar.
    let grafana = find(&out, "Deployment", "r-grafana");
    assert_eq!(
        grafana.pod_annotation("sidecar.istio.io/nativeSidecar"),
        None
    );
    helm4_show_only_loki(&helm, &post, Mesh::Istio);
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm4_failure_is_logged_where_the_readme_says() {
    let Some(helm) = Helm::with_plugin() else {
        return;
    };
    let config = helm.config("bad.yaml", UNKNOWN_FIELD);
    let arg = format!("--post-renderer-args={config}");
    let args = [
        "template",
        "r",
        CHART,
        "--post-renderer",
        "gunj-mesh",
        "--post-renderer-args=--config",
        arg.as_str(),
    ];

    // $GUNJ_MESH_LOG when set.
    let log = helm.dir.path().join("gunj-mesh.log");
    let out = helm
        .command(&args)
        .env("GUNJ_MESH_LOG", &log)
        .output()
        .expect("run helm4");
    assert!(
        !out.status.success(),
        "helm4 template succeeded with a bad config:\n{}",
        stdout(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gunj-mesh"),
        "Helm's error does not name the plugin:\n{stderr}"
    );
    let text = std::fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("no log at {}: {e}; helm said:\n{stderr}", log.display()));
    assert!(
        text.contains("sidecarMode"),
        "the log lacks the field:\n{text}"
    );
    assert!(text.contains("gunj-mesh: error:"), "{text}");

    // Else $TMPDIR/gunj-mesh-UID/error.log.
    let out = helm.run(&args);
    assert!(!out.status.success());
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(helm.dir.path()).unwrap());
    let default_log = helm
        .dir
        .path()
        .join(format!("tmp/gunj-mesh-{uid}/error.log"));
    let text = std::fs::read_to_string(&default_log)
        .unwrap_or_else(|e| panic!("no log at {}: {e}", default_log.display()));
    assert!(text.contains("sidecarMode"), "{text}");
}

/// A stream with nothing to do comes back byte for byte (never empty, which Helm 4 would
/// reject).
#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn nothing_to_do_comes_back_unchanged() {
    let Some(helm) = Helm::new("helm3") else {
        return;
    };
    for only in ["templates/configmap.yaml", "templates/node-exporter.yaml"] {
        let rendered = helm.template(&["--show-only", only]);
        assert!(!rendered.trim().is_empty());
        let out = common::gunj_cmd()
            .arg("--quiet")
            .write_stdin(rendered.as_bytes())
            .output()
            .expect("run gunj-mesh");
        assert_ok(&out, &format!("gunj-mesh on --show-only {only}"));
        assert_eq!(stdout(&out), rendered, "{only} changed");
    }
}

/// Renders the chart through the installed plugin (default config, Istio): the Grafana
/// Deployment comes back injected.
fn assert_plugin_renders(helm: &Helm) {
    let out = docs(&helm.template(&["--post-renderer", "gunj-mesh"]));
    assert_eq!(
        find(&out, "Deployment", "r-grafana").pod_label("sidecar.istio.io/inject"),
        Some("true")
    );
}

/// Installed from a directory, the plugin is named `gunj-mesh` on disk too, whatever the
/// checkout is called. Installing it again is refused by Helm, as for every plugin, and
/// the documented re-install (uninstall, install) and a `helm plugin package` tarball
/// install both work and install it under the same name.
#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm4_plugin_installs_and_reinstalls_as_gunj_mesh() {
    let Some(helm) = Helm::with_plugin() else {
        return;
    };
    let link = helm.dir.path().join("data/plugins/gunj-mesh");
    assert_eq!(
        std::fs::read_link(&link).expect("a directory install is a symlink"),
        common::repo().join("functions/helm/gunj-mesh")
    );
    assert_plugin_renders(&helm);

    let again = helm.run(&["plugin", "install", PLUGIN]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("plugin already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    assert_ok(
        &helm.run(&["plugin", "uninstall", "gunj-mesh"]),
        "helm4 plugin uninstall gunj-mesh",
    );
    assert!(common::files(&helm.dir.path().join("data/plugins")).is_empty());
    assert_ok(&helm.run(&["plugin", "install", PLUGIN]), "re-install");
    helm.assert_installed("0.1.0");
    assert_plugin_renders(&helm);

    // A tarball, as a release would ship it: unpacked, not linked, same name.
    let dest = helm.dir.path().join("dist");
    let dest = dest.to_str().unwrap();
    let package = helm.run(&["plugin", "package", "--sign=false", "-d", dest, PLUGIN]);
    assert_ok(&package, "helm4 plugin package");
    let tgz = format!("{dest}/gunj-mesh-0.1.0.tgz");
    assert!(Path::new(&tgz).is_file(), "{}", stdout(&package));
    assert_ok(
        &helm.run(&["plugin", "uninstall", "gunj-mesh"]),
        "uninstall",
    );
    assert_ok(
        &helm.run(&["plugin", "install", "--verify=false", &tgz]),
        "helm4 plugin install <tarball>",
    );
    helm.assert_installed("0.1.0");
    assert!(
        std::fs::symlink_metadata(&link).unwrap().is_dir(),
        "a tarball install is a copy"
    );
    assert_plugin_renders(&helm);
}

/// `git` with a cleared environment in `dir`; panics unless it succeeds.
fn git(dir: &Path, args: &[&str]) {
    let out = common::run::command("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=gunj-mesh tests",
            "-c",
            "user.email=tests@invalid",
        ])
        .args(args)
        .output()
        .expect("run git");
    assert_ok(&out, &format!("git {}", args.join(" ")));
}

/// `helm plugin update` updates only plugins Helm cloned from git. The repository root's
/// `plugin.yaml` is that install: a git repository holding it and the plugin's script at
/// their paths (the shipped files) installs as `gunj-mesh`, renders, and a new commit
/// there is picked up by `helm plugin update gunj-mesh`.
#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm4_plugin_from_git_updates() {
    let Some(helm) = Helm::new("helm4") else {
        return;
    };
    let has_git = common::run::command("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !common::needs::require("git", "install git", has_git) {
        return;
    }
    let origin = helm.dir.path().join("remote/gunj-mesh");
    let script = "functions/helm/gunj-mesh/gunj-mesh.sh";
    std::fs::create_dir_all(origin.join("functions/helm/gunj-mesh")).unwrap();
    std::fs::copy(
        common::repo().join("plugin.yaml"),
        origin.join("plugin.yaml"),
    )
    .unwrap();
    // `fs::copy` keeps the mode, and git records the executable bit.
    std::fs::copy(common::repo().join(script), origin.join(script)).unwrap();
    git(&origin, &["init", "-q"]);
    git(&origin, &["add", "."]);
    git(&origin, &["commit", "-q", "-m", "plugin"]);

    let url = format!("file://{}", origin.display());
    let out = helm.run(&["plugin", "install", "--verify=false", &url]);
    assert_ok(&out, "helm4 plugin install <git URL>");
    helm.assert_installed("0.1.0");
    assert_plugin_renders(&helm);

    let manifest = std::fs::read_to_string(origin.join("plugin.yaml")).unwrap();
    let bumped = manifest.replace("version: 0.1.0", "version: 0.1.1");
    assert_ne!(bumped, manifest);
    std::fs::write(origin.join("plugin.yaml"), bumped).unwrap();
    git(&origin, &["commit", "-q", "-a", "-m", "0.1.1"]);
    let out = helm.run(&["plugin", "update", "gunj-mesh"]);
    assert_ok(&out, "helm4 plugin update gunj-mesh");
    assert!(stdout(&out).contains("Updated plugin: gunj-mesh"));
    helm.assert_installed("0.1.1");
    assert_plugin_renders(&helm);
}

/// Helm 3 cannot read a `postrenderer/v1` manifest: with the Helm 4 plugin in the plugins
/// directory they share, every Helm 3 command warns and `helm plugin list` fails. With its
/// own `HELM_PLUGINS` (functions/helm/README.md), Helm 3 on the same `HELM_DATA_HOME`
/// says nothing on stderr and post-renders with the binary.
#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm3_beside_the_helm4_plugin_is_quiet_with_its_own_plugins_dir() {
    let Some(helm) = Helm::with_plugin() else {
        return;
    };
    let Some(helm3) = common::needs::tool("bin/helm3") else {
        return;
    };
    let shared = helm
        .command_of(&helm3, &["plugin", "list"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shared.stderr).contains("unknown field \"apiVersion\""),
        "Helm 3 now reads the plugin: the README's advice is stale:\n{}",
        String::from_utf8_lossy(&shared.stderr)
    );

    let own = helm.dir.path().join("data/plugins-helm3");
    std::fs::create_dir_all(&own).unwrap();
    let run3 = |args: &[&str]| {
        helm.command_of(&helm3, args)
            .env("HELM_PLUGINS", &own)
            .output()
            .unwrap()
    };
    let bin = common::run::bin().display().to_string();
    for args in [
        vec!["plugin", "list"],
        vec!["version", "--short"],
        vec!["template", "r", CHART, "--post-renderer", bin.as_str()],
    ] {
        let out = run3(&args);
        assert_ok(&out, &format!("helm3 {}", args.join(" ")));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "helm3 {} warned",
            args.join(" ")
        );
    }
    let out = docs(&stdout(&run3(&[
        "template",
        "r",
        CHART,
        "--post-renderer",
        bin.as_str(),
    ])));
    assert_eq!(
        find(&out, "Deployment", "r-grafana").pod_label("sidecar.istio.io/inject"),
        Some("true")
    );
    // Helm 4 still has its plugin.
    helm.assert_installed("0.1.0");
}

/// The repository root's `plugin.yaml` (git installs) is the plugin in
/// `functions/helm/gunj-mesh` but for the command's path, which points at the same
/// script; the plugin's version is the package's.
#[test]
fn helm4_plugin_manifests_agree() {
    let read = |path: &str| {
        let text = std::fs::read_to_string(common::repo().join(path)).unwrap();
        yaml::parse(&text, Limits::default())
            .unwrap()
            .unwrap()
            .to_json()
    };
    let mut root = read("plugin.yaml");
    let mut dir = read("functions/helm/gunj-mesh/plugin.yaml");
    let command = |v: &mut serde_json::Value| {
        v["runtimeConfig"]["platformCommand"][0]["command"]
            .take()
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        command(&mut root),
        "${HELM_PLUGIN_DIR}/functions/helm/gunj-mesh/gunj-mesh.sh"
    );
    assert_eq!(command(&mut dir), "${HELM_PLUGIN_DIR}/gunj-mesh.sh");
    assert_eq!(root, dir);
    assert_eq!(root["name"], "gunj-mesh");
    assert_eq!(root["version"], env!("CARGO_PKG_VERSION"));
}

/// A config whose output held namespace-wide resources before they were per workload or
/// named after the release: STRICT mTLS, default-deny authorization, telemetry, dashboards.
const NAMESPACE_WIDE: &str = "apiVersion: mesh.gunj.io/v1alpha1
kind: ServiceMesh
spec:
  type: MESH
  mtls: {mode: STRICT}
  authorization: {defaultDeny: true}
  observability:
    accessLogs: {}
    dashboards: {}
";

/// Two releases of the chart rendered into one namespace through the post-renderer
/// (`post`): no kind/namespace/name is in both, so the second `helm install` does not fail
/// on ownership, and what each generates carries its release.
fn two_releases(helm: &Helm, post: &[&str]) {
    let render = |release: &str| {
        let mut args = vec!["template", release, CHART, "-n", "monitoring"];
        args.extend_from_slice(post);
        let out = helm.run(&args);
        assert_ok(&out, &format!("helm template {release}"));
        docs(&stdout(&out))
    };
    let (logs, metrics) = (render("logs"), render("metrics"));
    let ids = |docs: &[Doc]| -> std::collections::BTreeSet<String> {
        docs.iter()
            .map(|d| {
                let ns = d
                    .node
                    .at(&["metadata", "namespace"])
                    .and_then(Node::scalar)
                    .unwrap_or("")
                    .to_string();
                format!("{} {ns}/{}", d.kind(), d.name())
            })
            .collect()
    };
    let (a, b) = (ids(&logs), ids(&metrics));
    let both: Vec<&String> = a.intersection(&b).collect();
    assert!(both.is_empty(), "in both releases: {both:?}");
    let generated = |docs: &[Doc]| -> Vec<String> {
        docs.iter()
            .filter(|d| d.text.contains("mesh.gunj.io/component"))
            .map(|d| format!("{} {}", d.kind(), d.name()))
            .collect()
    };
    for (release, docs) in [("logs", &logs), ("metrics", &metrics)] {
        let mine = generated(docs);
        assert!(mine.len() > 3, "{release}: {mine:?}");
        assert!(
            mine.iter()
                .all(|g| g.split_once(' ').unwrap().1.starts_with(release)),
            "{release}: {mine:?}"
        );
    }
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm3_renders_two_releases_into_one_namespace() {
    let Some(helm) = Helm::new("helm3") else {
        return;
    };
    for mesh in ["istio", "linkerd"] {
        let config = helm.config("mesh.yaml", &NAMESPACE_WIDE.replace("MESH", mesh));
        let bin = common::run::bin().display().to_string();
        let arg = format!("--post-renderer-args={config}");
        two_releases(
            &helm,
            &[
                "--post-renderer",
                bin.as_str(),
                "--post-renderer-args=--config",
                arg.as_str(),
            ],
        );
    }
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn helm4_renders_two_releases_into_one_namespace() {
    let Some(helm) = Helm::with_plugin() else {
        return;
    };
    for mesh in ["istio", "linkerd"] {
        let config = helm.config("mesh.yaml", &NAMESPACE_WIDE.replace("MESH", mesh));
        let arg = format!("--post-renderer-args={config}");
        two_releases(
            &helm,
            &[
                "--post-renderer",
                "gunj-mesh",
                "--post-renderer-args=--config",
                arg.as_str(),
            ],
        );
    }
}
