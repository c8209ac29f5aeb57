//! The Argo CD config-management plugin (`functions/argocd`), run the way Argo CD's
//! repo-server sidecar (`argocd-cmp-server`) runs it: the `init` then the `generate`
//! command of the shipped `plugin.yaml` (`command` followed by `args`, no shell of its
//! own), in a copy of the Application's source directory, with the environment the
//! repo server passes (`ARGOCD_APP_*`, `KUBE_*`, `ARGOCD_ENV_*` for `plugin.env`,
//! `PARAM_*` for `plugin.parameters`) and a `PATH` holding `helm` (Helm 3, as Argo CD
//! ships, and Helm 4), gunj-mesh and the plugin's entry script, as the sidecar image does.

use crate::common::{self, TempDir};
use gunj_mesh::internals::stream;
use gunj_mesh::internals::yaml::{self, Limits};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const LINKERD: &str =
    "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: linkerd\n";
const UNKNOWN_FIELD: &str = "apiVersion: mesh.gunj.io/v1alpha1\nkind: ServiceMesh\nspec:\n  type: istio\n  sidecarMode: strict\n";

/// `spec.<step>` of the shipped plugin.yaml as an argv: `command` then `args`.
fn step(step: &str) -> Vec<String> {
    let text = std::fs::read_to_string(common::repo().join("functions/argocd/plugin.yaml"))
        .expect("functions/argocd/plugin.yaml");
    let plugin = yaml::parse(&text, Limits::default())
        .unwrap()
        .unwrap()
        .to_json();
    assert_eq!(plugin["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "gunj-mesh");
    let words = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|w| w.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut argv = words(&plugin["spec"][step]["command"]);
    argv.extend(words(&plugin["spec"][step]["args"]));
    assert!(!argv.is_empty(), "plugin.yaml has no spec.{step}.command");
    argv
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

/// The sidecar: a `PATH` with `helm` (`.tools/bin/<helm>`), gunj-mesh and the entry
/// script, Helm's homes and `TMPDIR` in a temp dir, and the Application's source
/// directory `app`, a copy of `tests/chart`.
struct Sidecar {
    dir: TempDir,
}

impl Sidecar {
    fn new(helm: &str) -> Option<Sidecar> {
        let helm = common::needs::tool(&format!("bin/{helm}"))?;
        let dir = TempDir::new("argocd");
        let root = PathBuf::from(dir.arg());
        let bin = root.join("bin");
        for sub in ["bin", "home", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let link = |from: &Path, name: &str| std::os::unix::fs::symlink(from, bin.join(name));
        link(&helm, "helm").unwrap();
        link(&common::run::bin(), "gunj-mesh").unwrap();
        link(
            &common::repo().join("functions/argocd/gunj-mesh-cmp"),
            "gunj-mesh-cmp",
        )
        .unwrap();
        copy_dir(&common::repo().join("tests/chart"), &root.join("app"));
        Some(Sidecar { dir })
    }

    fn root(&self) -> PathBuf {
        PathBuf::from(self.dir.arg())
    }

    fn app(&self) -> PathBuf {
        self.root().join("app")
    }

    /// Runs `spec.<name>` in the source directory with Argo CD's environment plus `env`.
    fn run(&self, name: &str, env: &[(&str, &str)]) -> Output {
        let argv = step(name);
        let root = self.root();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![root.join("bin")];
        paths.extend(std::env::split_paths(&path));
        let mut cmd = common::run::command(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(self.app())
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env("HOME", root.join("home"))
            .env("HELM_CACHE_HOME", root.join("home/cache"))
            .env("HELM_CONFIG_HOME", root.join("home/config"))
            .env("HELM_DATA_HOME", root.join("home/data"))
            .env("TMPDIR", root.join("tmp"))
            .env("ARGOCD_APP_NAME", "obs")
            .env("ARGOCD_APP_NAMESPACE", "monitoring")
            .env("ARGOCD_APP_PROJECT_NAME", "default")
            .env(
                "ARGOCD_APP_REVISION",
                "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8",
            )
            .env("ARGOCD_APP_REVISION_SHORT", "f913b6c")
            .env("ARGOCD_APP_SOURCE_PATH", "charts/obs")
            .env(
                "ARGOCD_APP_SOURCE_REPO_URL",
                "https://git.example.com/obs.git",
            )
            .env("ARGOCD_APP_SOURCE_TARGET_REVISION", "main")
            .env("KUBE_VERSION", "1.31.0")
            .env("KUBE_API_VERSIONS", "v1,apps/v1,batch/v1")
            .env("ARGOCD_APP_PARAMETERS", "[]");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run the plugin command")
    }

    /// `init` then `generate`, as the repo server runs them for one manifest generation.
    fn generate(&self, env: &[(&str, &str)]) -> Output {
        let init = self.run("init", env);
        assert!(
            init.status.success(),
            "init failed:\n{}",
            String::from_utf8_lossy(&init.stderr)
        );
        assert!(init.stdout.is_empty(), "init wrote to stdout");
        self.run("generate", env)
    }
}

/// Every document of `out`, parsed: stdout must be nothing but Kubernetes objects.
fn objects(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "generate failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout");
    let docs: Vec<Value> = stream::split(0, &text)
        .into_iter()
        .filter(|d| !d.header.empty)
        .map(|d| {
            yaml::parse(&d.text[d.parse_from..], Limits::default())
                .unwrap_or_else(|e| panic!("stdout is not YAML: {e}\n{}", d.text))
                .expect("a document")
                .to_json()
        })
        .collect();
    for doc in &docs {
        assert!(
            doc["apiVersion"].is_string() && doc["kind"].is_string(),
            "not a Kubernetes object: {doc}"
        );
    }
    docs
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the output"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The release name and namespace come from `ARGOCD_APP_NAME`/`ARGOCD_APP_NAMESPACE`, the
/// config from `ARGOCD_ENV_GUNJ_MESH_CONFIG`, values files from the `values-files`
/// parameter and extra Helm flags from `ARGOCD_ENV_HELM_ARGS`; the output is the meshed
/// chart and nothing else.
fn generate_case(helm: &str) {
    let Some(sidecar) = Sidecar::new(helm) else {
        return;
    };
    let app = sidecar.app();
    std::fs::write(app.join("mesh.yaml"), LINKERD).unwrap();
    std::fs::write(app.join("values-prod.yaml"), "grafana:\n  replicas: 2\n").unwrap();
    let out = sidecar.generate(&[
        ("ARGOCD_ENV_GUNJ_MESH_CONFIG", "mesh.yaml"),
        ("ARGOCD_ENV_HELM_ARGS", "--set loki.replicas=3"),
        ("PARAM_VALUES_FILES_0", "values-prod.yaml"),
        (
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"values-files","array":["values-prod.yaml"]}]"#,
        ),
    ]);
    let docs = objects(&out);
    let grafana = find(&docs, "Deployment", "obs-grafana");
    let loki = find(&docs, "StatefulSet", "obs-loki");
    for (workload, replicas) in [(grafana, 2), (loki, 3)] {
        assert_eq!(
            workload["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"], "enabled",
            "not meshed by the config: {workload}"
        );
        assert_eq!(workload["spec"]["replicas"], replicas);
    }
    // hostNetwork node-exporter stays out.
    let exporter = find(&docs, "DaemonSet", "obs-node-exporter");
    assert!(!exporter.to_string().contains("linkerd.io/inject"));
    for doc in &docs {
        assert_eq!(
            doc["metadata"]["namespace"], "monitoring",
            "{} {}",
            doc["kind"], doc["metadata"]["name"]
        );
    }
    // Hooks come too (Argo CD maps Helm hooks to its own), opted out of the mesh.
    let job = find(&docs, "Job", "obs-preflight");
    assert_eq!(
        job["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"],
        "disabled"
    );
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn generate_renders_and_meshes_with_argo_cds_environment_helm3() {
    generate_case("helm3");
}

#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn generate_renders_and_meshes_with_argo_cds_environment_helm4() {
    generate_case("helm4");
}

/// A bad config, a config parameter that beats a good env config, a path out of the
/// source directory, a directory that is no chart: non-zero exit, nothing on stdout (Argo
/// CD would otherwise apply, or prune to, a partial render), the reason on stderr.
#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn generate_fails_with_nothing_on_stdout_and_the_reason_on_stderr() {
    let Some(sidecar) = Sidecar::new("helm3") else {
        return;
    };
    let app = sidecar.app();
    std::fs::write(app.join("bad.yaml"), UNKNOWN_FIELD).unwrap();
    std::fs::write(app.join("good.yaml"), LINKERD).unwrap();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("ARGOCD_ENV_GUNJ_MESH_CONFIG", "bad.yaml")],
            "sidecarMode",
        ),
        (
            &[
                ("ARGOCD_ENV_GUNJ_MESH_CONFIG", "good.yaml"),
                ("PARAM_CONFIG", "bad.yaml"),
            ],
            "sidecarMode",
        ),
        (
            &[("ARGOCD_ENV_GUNJ_MESH_CONFIG", "../good.yaml")],
            "leaves the Application's source directory",
        ),
        (
            &[("PARAM_VALUES_FILES_0", "/tmp/values.yaml")],
            "leaves the Application's source directory",
        ),
        (
            &[("ARGOCD_ENV_VALUES_FILES", "values.yaml,../values.yaml")],
            "'../values.yaml' leaves the Application's source directory",
        ),
    ];
    for (env, reason) in cases {
        let out = sidecar.run("generate", env);
        assert!(!out.status.success(), "{env:?} succeeded");
        assert!(out.stdout.is_empty(), "{env:?} wrote to stdout");
        assert!(stderr(&out).contains(reason), "{env:?}: {}", stderr(&out));
    }
    // Helm's own failure stops it before gunj-mesh.
    let out = sidecar.run("generate", &[("ARGOCD_ENV_HELM_ARGS", "--no-such-flag")]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("helm template failed"),
        "{}",
        stderr(&out)
    );

    std::fs::remove_file(app.join("Chart.yaml")).unwrap();
    for step in ["init", "generate"] {
        let out = sidecar.run(step, &[]);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).contains("no Chart.yaml"), "{}", stderr(&out));
    }
}

/// `init` builds the chart's dependencies (here a `file://` one, so no network), which
/// `generate` then renders; without `init`, Helm refuses the chart.
#[test]
#[cfg_attr(
    gunj_no_tools,
    ignore = "needs .tools/bin/helm3 and helm4: run scripts/install-tools.sh"
)]
fn init_builds_chart_dependencies() {
    let Some(sidecar) = Sidecar::new("helm3") else {
        return;
    };
    let lib = sidecar.root().join("lib");
    std::fs::create_dir_all(lib.join("templates")).unwrap();
    std::fs::write(
        lib.join("Chart.yaml"),
        "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        lib.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-lib\ndata:\n  a: b\n",
    )
    .unwrap();
    let chart = sidecar.app().join("Chart.yaml");
    let mut text = std::fs::read_to_string(&chart).unwrap();
    text.push_str(
        "dependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n",
    );
    std::fs::write(&chart, text).unwrap();

    let out = sidecar.run("generate", &[]);
    assert!(!out.status.success(), "rendered without the dependency");
    assert!(out.stdout.is_empty());

    let docs = objects(&sidecar.generate(&[]));
    find(&docs, "ConfigMap", "obs-lib");
    assert_eq!(
        find(&docs, "Deployment", "obs-grafana")["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"],
        "true",
        "no config: gunj-mesh's defaults (Istio)"
    );
}
