//! gunj-mesh's settings merged into pod annotations that hold a document of their own
//! (Istio's `proxy.istio.io/config`, a ProxyConfig in YAML or JSON, and
//! `sidecar.istio.io/userVolumeMount`, a JSON list): the user's settings stay, and so do
//! the value's style and every line the merge does not need
//! (<https://istio.io/latest/docs/reference/config/annotations/>).

use crate::yaml::patch::Patch;
use crate::yaml::{self, Limits, Node, edit};
use serde_json::Value;

/// `value` with `proxyMetadata.<key>: <want>` merged in, or `None` when it says so already
/// or is not a mapping (it is then left as it is).
pub fn proxy_metadata(value: Option<&str>, key: &str, want: &str) -> Option<String> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Some(format!("proxyMetadata:\n  {key}: {want}\n"));
    };
    let node = yaml::parse(value, Limits::default()).ok()??;
    node.entries()?;
    let current = node.at(&["proxyMetadata", key]).and_then(Node::scalar);
    if current == Some(want) {
        return None;
    }
    let mut patch = Patch::new();
    patch.set(&["proxyMetadata", key], want);
    let splices = edit::splices(value, &node, &patch).ok()?;
    Some(edit::apply(value, &splices))
}

/// The JSON list `value` with the object `item` (JSON text) appended unless an item of
/// the same `name` is in it, written after the last item (the rest of the text kept);
/// `None` when nothing changes or the value is not a JSON list.
pub fn json_list_item(value: Option<&str>, item_text: &str) -> Option<String> {
    let item: Value = serde_json::from_str(item_text).ok()?;
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Some(format!("[{item_text}]"));
    };
    let list: Vec<Value> = serde_json::from_str(value).ok()?;
    if list.iter().any(|i| i.get("name") == item.get("name")) {
        return None;
    }
    let close = value.rfind(']')?;
    let before = value[..close].trim_end();
    let sep = if list.is_empty() { "" } else { ", " };
    Some(format!(
        "{before}{sep}{item_text}{}",
        &value[before.len()..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_config_keeps_the_users_settings_and_lines() {
        let want = "/etc/istio-output-certs";
        assert_eq!(
            proxy_metadata(None, "OUTPUT_CERTS", want).as_deref(),
            Some("proxyMetadata:\n  OUTPUT_CERTS: /etc/istio-output-certs\n")
        );
        let user = "holdApplicationUntilProxyStarts: true\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: \"true\"\n";
        assert_eq!(
            proxy_metadata(Some(user), "OUTPUT_CERTS", want).as_deref(),
            Some(
                "holdApplicationUntilProxyStarts: true\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: \"true\"\n  OUTPUT_CERTS: \"/etc/istio-output-certs\"\n"
            )
        );
        let json = r#"{"holdApplicationUntilProxyStarts": true}"#;
        let merged = proxy_metadata(Some(json), "OUTPUT_CERTS", want).unwrap();
        assert!(
            merged.starts_with(r#"{"holdApplicationUntilProxyStarts": true, "#),
            "{merged}"
        );
        let done = "proxyMetadata:\n  OUTPUT_CERTS: /etc/istio-output-certs\n";
        assert_eq!(proxy_metadata(Some(done), "OUTPUT_CERTS", want), None);
        assert_eq!(proxy_metadata(Some("[1]"), "OUTPUT_CERTS", want), None);
    }

    #[test]
    fn json_lists_get_the_item_after_the_last() {
        let item = r#"{"name": "istio-certs", "mountPath": "/etc/istio-output-certs"}"#;
        assert_eq!(
            json_list_item(Some(r#"[{"name":"extra","mountPath":"/etc/extra"}]"#), item).as_deref(),
            Some(
                r#"[{"name":"extra","mountPath":"/etc/extra"}, {"name": "istio-certs", "mountPath": "/etc/istio-output-certs"}]"#
            )
        );
        assert_eq!(
            json_list_item(Some("[ ]"), item).as_deref(),
            Some(r#"[{"name": "istio-certs", "mountPath": "/etc/istio-output-certs"} ]"#)
        );
        assert_eq!(
            json_list_item(
                Some(r#"[{"name": "istio-certs", "mountPath": "/x"}]"#),
                item
            ),
            None
        );
    }
}
