//! What protocol a component port speaks, for the meshes' protocol selection.
//!
//! - Istio reads `appProtocol` first, then a port name `<protocol>[-<suffix>]`, and sniffs
//!   the rest; server-first protocols break sniffing and PERMISSIVE mTLS
//!   (<https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/>).
//! - Loki's Istio guide sets `appProtocol: tcp` on memberlist (7946) and on the gRPC
//!   load-balancing port `grpclb` (<https://grafana.com/docs/loki/latest/setup/install/istio/>).
//! - Gossip (memberlist 7946, Alertmanager cluster 9094) and server-first protocols must be
//!   opaque to Linkerd (<https://linkerd.io/2-edge/features/protocol-detection/>).
//! - gRPC: Loki/Tempo/Mimir 9095, OTLP 4317, Thanos StoreAPI 10901, Jaeger 14250.

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
        .find(|p| name == **p || name.starts_with(&format!("{p}-")))
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
    if any(GRPC) {
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
        assert_eq!(classify(&[12345], None), Proto::Unknown);
        assert_eq!(declared(Some("grpc-web-ui")), Some("grpc-web"));
        assert_eq!(declared(Some("grpclb")), None);
    }
}
