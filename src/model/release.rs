//! The release a run's output belongs to. Generated resources that are not named after a
//! workload or Service carry its scope, so that several releases in one namespace (the
//! usual kube-prometheus-stack, loki, tempo and promtail) never generate the same
//! kind/namespace/name.

use super::object::Object;
use crate::io::stream::HELM4_FILENAME;
use crate::yaml::Node;
use std::collections::BTreeMap;

/// The prefix of a run's generated names, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub scope: String,
    /// Said in the summary when the scope is not the only release the stream shows.
    pub note: Option<String>,
}

impl Default for Release {
    fn default() -> Self {
        Release {
            scope: "gunj-mesh".into(),
            note: None,
        }
    }
}

impl Release {
    /// `<scope>-<name>`.
    pub fn scoped(&self, name: &str) -> String {
        format!("{}-{name}", self.scope)
    }
}

/// The scope: `--release NAME` (`flag`), else the `app.kubernetes.io/instance` label the
/// stream's objects carry most (the Helm release), each with the top chart of the
/// documents' `# Source:` paths (`sources`), the objects' Helm 4 filename annotations or
/// their `helm.sh/chart` labels, made a name the way Helm's
/// `fullname` helper does: the release when it contains the chart's name, else
/// `<release>-<chart>`. Without a release: the chart, else the config's name
/// (`fallback`).
pub fn find(
    objects: &[Object],
    sources: &[Option<String>],
    flag: Option<&str>,
    fallback: &str,
) -> Release {
    let instances = count(
        objects
            .iter()
            .filter_map(|o| label(o, "app.kubernetes.io/instance")),
    );
    let charts = count(
        sources
            .iter()
            .flatten()
            .filter_map(|s| top_chart(s))
            .map(str::to_string)
            .chain(objects.iter().filter_map(|o| {
                let path = o
                    .node
                    .at(&["metadata", "annotations", HELM4_FILENAME])
                    .and_then(Node::scalar)?;
                top_chart(path).map(str::to_string)
            }))
            .chain(
                objects
                    .iter()
                    .filter_map(|o| label(o, "helm.sh/chart").and_then(chart_name)),
            ),
    );
    let chart = most(&charts);
    let mut note = None;
    let release = match flag {
        Some(name) => Some(name.to_string()),
        None => {
            let found = most(&instances);
            if instances.len() > 1 {
                note = Some(format!(
                    "the stream shows {} releases ({}): generated names carry `{}`; pass --release NAME to choose",
                    instances.len(),
                    instances.keys().cloned().collect::<Vec<_>>().join(", "),
                    found.as_deref().unwrap_or_default(),
                ));
            }
            found
        }
    };
    let scope = match (release, chart) {
        (Some(r), Some(c)) if !r.contains(c.as_str()) => format!("{r}-{c}"),
        (Some(r), _) => r,
        (None, Some(c)) => c,
        (None, None) => fallback.to_string(),
    };
    Release { scope, note }
}

fn label<'a>(o: &Object<'a>, key: &str) -> Option<&'a str> {
    o.node
        .at(&["metadata", "labels"])
        .and_then(|l| l.get(key))
        .and_then(Node::scalar)
        .filter(|v| !v.is_empty())
}

fn count<I: IntoIterator<Item = S>, S: Into<String>>(values: I) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for v in values {
        *counts.entry(v.into()).or_default() += 1;
    }
    counts
}

/// The most frequent value; the first in order among equals.
fn most(counts: &BTreeMap<String, usize>) -> Option<String> {
    let best = counts.values().max()?;
    counts
        .iter()
        .find(|(_, n)| *n == best)
        .map(|(v, _)| v.clone())
}

/// The chart of a Helm `# Source:` path (`loki/templates/…`, `loki/charts/minio/…`: the top
/// chart, `loki`).
fn top_chart(path: &str) -> Option<&str> {
    let (chart, rest) = path.split_once('/')?;
    (rest.starts_with("templates/") || rest.starts_with("charts/")).then_some(chart)
}

/// The chart's name in a `helm.sh/chart` label, `<name>-<version>`.
fn chart_name(label: &str) -> Option<String> {
    let (name, version) = label.rsplit_once('-')?;
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_come_from_source_paths_and_chart_labels() {
        assert_eq!(
            top_chart("loki/templates/gateway/deployment.yaml"),
            Some("loki")
        );
        assert_eq!(
            top_chart("kube-prometheus-stack/charts/grafana/templates/x.yaml"),
            Some("kube-prometheus-stack")
        );
        assert_eq!(top_chart("manifests/x.yaml"), None);
        assert_eq!(chart_name("loki-6.30.1").as_deref(), Some("loki"));
        assert_eq!(
            chart_name("kube-prometheus-stack-75.0.0").as_deref(),
            Some("kube-prometheus-stack")
        );
        assert_eq!(chart_name("custom"), None);
    }

    #[test]
    fn the_most_frequent_value_wins_and_ties_go_to_the_first() {
        let counts = count(["b", "a", "b", "c"]);
        assert_eq!(most(&counts).as_deref(), Some("b"));
        assert_eq!(most(&count(["b", "a"])).as_deref(), Some("a"));
        assert_eq!(most(&BTreeMap::new()), None);
    }
}
