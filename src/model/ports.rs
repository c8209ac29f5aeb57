//! Container ports, and what protocol a component port speaks for the meshes' protocol
//! selection.
//!
//! - Istio reads `appProtocol` first, then a port name `<protocol>[-<suffix>]`, and sniffs
//!   the rest; server-first protocols break sniffing and PERMISSIVE mTLS
//!   (<https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/>).
//! - Loki's Istio guide sets `appProtocol: tcp` on memberlist (7946) and on the gRPC
//!   load-balancing port `grpclb` (<https://grafana.com/docs/loki/latest/setup/install/istio/>).
//! - Gossip (memberlist 7946, Alertmanager cluster 9094) and server-first protocols must be
//!   opaque to Linkerd (<https://linkerd.io/2-edge/features/protocol-detection/>).
//! - gRPC: Loki/Tempo/Mimir 9095, OTLP 4317, Thanos StoreAPI 10901, Jaeger 14250.
//! - TLS: 443 and the webhook and secure-metrics ports of controller-runtime operators
//!   (8443: the OpenTelemetry operator's metrics, 9443: webhooks) carry the application's
//!   own TLS whatever they are named; `http` is never hinted for them.
//! - Alloy and Grafana Agent cluster over HTTP/2 on their HTTP port (12345), to peers'
//!   pod IPs through a headless Service: Istio must treat the port as TCP on every Service
//!   that reaches it, or clustering fails (grafana/alloy#1846,
//!   <https://istio.io/latest/docs/ops/common-problems/network-issues/#503-error-while-accessing-headless-services>).

use crate::yaml::Node;

/// A container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub name: Option<String>,
    pub number: u16,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
}

impl Port {
    /// A port entry (`name`, `protocol`, default TCP) numbered by the first of
    /// `number_keys` it has: `containerPort` of a container's, `targetPort` or `port` of a
    /// Service's.
    pub fn of_entry(node: &Node, number_keys: &[&str]) -> Option<Port> {
        Some(Port {
            name: node.get("name").and_then(Node::scalar).map(str::to_string),
            number: number_keys
                .iter()
                .find_map(|k| node.get(k))?
                .scalar()?
                .parse()
                .ok()?,
            protocol: node
                .get("protocol")
                .and_then(Node::scalar)
                .unwrap_or("TCP")
                .to_string(),
        })
    }

    /// A named TCP port.
    pub fn tcp(name: impl Into<String>, number: u16) -> Port {
        Port {
            name: Some(name.into()),
            number,
            protocol: "TCP".into(),
        }
    }
}

/// A port's protocol as the meshes should treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// Plain TCP: gossip, server-first or client-preamble-less protocols.
    Tcp,
    Grpc,
    Http,
    /// Not known: left to the mesh's detection.
    Unknown,
}

impl Proto {
    /// The Kubernetes `appProtocol` value Istio reads.
    pub fn app_protocol(self) -> Option<&'static str> {
        match self {
            Proto::Tcp => Some("tcp"),
            Proto::Grpc => Some("grpc"),
            Proto::Http => Some("http"),
            Proto::Unknown => None,
        }
    }
}

/// Gossip ports: memberlist (Loki, Tempo, Mimir) and the Alertmanager cluster.
pub const GOSSIP: &[u16] = &[7946, 9094];
/// Server-first or no-preamble protocols: SMTP, MySQL, PostgreSQL, Redis, Memcached, MongoDB.
const SERVER_FIRST: &[u16] = &[25, 3306, 5432, 6379, 11211, 27017];
const GRPC: &[u16] = &[9095, 4317, 10901, 14250];
/// Ports that carry the application's own TLS unless declared otherwise.
pub const TLS: &[u16] = &[443, 6443, 8443, 9443];
/// The HTTP port Alloy and Grafana Agent also cluster on.
pub const AGENT_CLUSTER: u16 = 12345;
const HTTP: &[u16] = &[
    80, 3000, 3100, 3200, 4318, 8080, 9090, 9091, 9093, 9115, 9411, 10902, 14268, 16686,
];

/// Istio's protocol prefixes for port names.
const NAMED: &[&str] = &[
    "http", "http2", "https", "tcp", "tls", "grpc", "grpc-web", "mongo", "mysql", "redis", "udp",
];

/// The protocol a port name declares to Istio (`http-metrics` → `http`), if any.
pub fn declared(name: Option<&str>) -> Option<&'static str> {
    let name = name?;
    NAMED
        .iter()
        .rev()
        .find(|p| {
            name.strip_prefix(**p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        })
        .copied()
}

/// Classifies a port by its number (Service port and target) and name.
pub fn classify(numbers: &[u16], name: Option<&str>) -> Proto {
    let any = |set: &[u16]| numbers.iter().any(|n| set.contains(n));
    if any(GOSSIP) || any(SERVER_FIRST) || name == Some("grpclb") {
        return Proto::Tcp;
    }
    match declared(name) {
        Some("grpc" | "grpc-web") => return Proto::Grpc,
        Some("http" | "http2") => return Proto::Http,
        Some(_) => return Proto::Unknown,
        None => {}
    }
    if any(TLS) {
        Proto::Unknown
    } else if any(GRPC) {
        Proto::Grpc
    } else if any(HTTP)
        || name.is_some_and(|n| n.contains("http") || n.contains("web") || n.contains("metrics"))
    {
        Proto::Http
    } else {
        Proto::Unknown
    }
}

/// True for gossip or server-first ports, which Linkerd must treat as opaque.
pub fn is_opaque(number: u16) -> bool {
    GOSSIP.contains(&number) || SERVER_FIRST.contains(&number)
}

/// Linkerd's default opaque ports.
const DEFAULT_OPAQUE: &[u16] = &[25, 587, 3306, 4444, 5432, 6379, 9300, 11211];

/// The `config.linkerd.io/opaque-ports` value that makes `opaque` ports opaque, given the
/// value already there (kept, entries and ranges alike, with the missing ports added), or
/// `None` when nothing needs saying. A value replaces Linkerd's default list, so once one is
/// written it names every opaque port, default ones included.
pub fn opaque_annotation(opaque: &[u16], existing: Option<&str>) -> Option<String> {
    let listed: Vec<&str> = existing
        .map(|e| {
            e.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let covered = |p: u16| {
        listed.iter().any(|t| match t.split_once('-') {
            Some((a, b)) => {
                a.parse::<u16>().is_ok_and(|a| a <= p) && b.parse::<u16>().is_ok_and(|b| p <= b)
            }
            None => t.parse() == Ok(p),
        })
    };
    let mut missing: Vec<u16> = opaque.iter().copied().filter(|p| !covered(*p)).collect();
    missing.sort();
    missing.dedup();
    let defaults_do = existing.is_none() && missing.iter().all(|p| DEFAULT_OPAQUE.contains(p));
    if missing.is_empty() || defaults_do {
        return None;
    }
    let all: Vec<String> = listed
        .into_iter()
        .map(str::to_string)
        .chain(missing.iter().map(u16::to_string))
        .collect();
    Some(all.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(&[7946], Some("tcp")), Proto::Tcp);
        assert_eq!(classify(&[7946], Some("http-memberlist")), Proto::Tcp);
        assert_eq!(classify(&[9096], Some("grpclb")), Proto::Tcp);
        assert_eq!(classify(&[9095], Some("grpc")), Proto::Grpc);
        assert_eq!(classify(&[4317], Some("otlp")), Proto::Grpc);
        assert_eq!(classify(&[80, 3000], Some("service")), Proto::Http);
        assert_eq!(classify(&[3100], Some("http-metrics")), Proto::Http);
        assert_eq!(classify(&[443], Some("https")), Proto::Unknown);
        assert_eq!(classify(&[8443], Some("metrics")), Proto::Unknown);
        assert_eq!(classify(&[443, 9443], Some("webhook")), Proto::Unknown);
        assert_eq!(classify(&[8443], Some("http-metrics")), Proto::Http);
        assert_eq!(classify(&[12345], None), Proto::Unknown);
        assert_eq!(declared(Some("grpc-web-ui")), Some("grpc-web"));
        assert_eq!(declared(Some("grpclb")), None);
    }

    #[test]
    fn opaque_annotations_keep_what_is_there() {
        assert_eq!(opaque_annotation(&[7946], None).as_deref(), Some("7946"));
        assert_eq!(opaque_annotation(&[11211], None), None);
        assert_eq!(
            opaque_annotation(&[27017, 11211], None).as_deref(),
            Some("11211,27017")
        );
        assert_eq!(
            opaque_annotation(&[7946], Some("7946,9095")),
            None,
            "a chart's own list already covers it"
        );
        assert_eq!(
            opaque_annotation(&[7946, 11211], Some("9095, 7000-8000")).as_deref(),
            Some("9095,7000-8000,11211")
        );
    }
}
