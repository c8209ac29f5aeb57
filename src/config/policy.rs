//! The policy sections of the config: `mtls`, `trafficManagement` (global and per component),
//! `authorization` and `multiCluster`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Mutual TLS between the components.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mtls {
    /// Istio `PeerAuthentication` mode for the namespaces in scope.
    #[serde(default)]
    pub mode: MtlsMode,
    /// Container ports that also accept plaintext (kubelet, scrapers outside the mesh).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_exceptions: Vec<u16>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum MtlsMode {
    #[default]
    Strict,
    Permissive,
    Disable,
}

impl MtlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Strict => "STRICT",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Disable => "DISABLE",
        }
    }
}

/// Retries, timeouts, circuit breaking, load balancing, canaries, A/B tests and faults. Set
/// globally in `trafficManagement` and per component in `components.overrides.<name>`,
/// whose fields replace the global ones.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Traffic {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<Retries>,
    /// Request timeout, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_pool: Option<ConnectionPool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_injection: Option<FaultInjection>,
    /// A/B testing: requests that match a route go to its subset of `canary.subsets`, in
    /// order; the others follow `canary.weights`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ab_testing: Vec<AbRoute>,
}

impl Traffic {
    /// `self` with the fields `over` sets replaced.
    pub fn merged(&self, over: Option<&Traffic>) -> Traffic {
        let Some(o) = over else { return self.clone() };
        Traffic {
            retries: o.retries.clone().or(self.retries.clone()),
            timeout: o.timeout.clone().or(self.timeout.clone()),
            circuit_breaker: o.circuit_breaker.clone().or(self.circuit_breaker.clone()),
            connection_pool: o.connection_pool.clone().or(self.connection_pool.clone()),
            load_balancer: o.load_balancer.clone().or(self.load_balancer.clone()),
            canary: o.canary.clone().or(self.canary.clone()),
            fault_injection: o.fault_injection.clone().or(self.fault_injection.clone()),
            ab_testing: if o.ab_testing.is_empty() {
                self.ab_testing.clone()
            } else {
                o.ab_testing.clone()
            },
        }
    }

    /// The settings for a Service that selects pods by `selector`: without the canary
    /// split and A/B routes when the selector already picks one subset (a per-subset
    /// Service, which Linkerd's split sends to), where the other subsets have no pods.
    pub fn for_selector(mut self, selector: &BTreeMap<String, String>) -> Traffic {
        let pinned = self.canary.as_ref().is_some_and(|c| {
            c.subsets
                .values()
                .any(|labels| labels.iter().all(|(k, v)| selector.get(k) == Some(v)))
        });
        if pinned {
            self.canary = None;
            self.ab_testing.clear();
        }
        self
    }

    /// Settings that need an L7 proxy on the path (a VirtualService, or an ambient waypoint).
    pub fn has_routing(&self) -> bool {
        self.retries.is_some()
            || self.timeout.is_some()
            || self.canary.is_some()
            || self.fault_injection.is_some()
            || !self.ab_testing.is_empty()
    }
}

/// One A/B route: the requests that match every condition given go to `subset`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AbRoute {
    /// The subset of `canary.subsets` these requests go to.
    pub subset: String,
    /// Request header → exact value; header names in lowercase, e.g. `x-variant: b`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// One cookie → exact value, e.g. `variant: b` (a match on the `cookie` header).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cookies: BTreeMap<String, String>,
    /// Query parameter → exact value, e.g. `variant: b`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_params: BTreeMap<String, String>,
}

impl AbRoute {
    /// The conditions, as `header x-variant=b, cookie variant=b, query variant=b`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (what, map) in [
            ("header", &self.headers),
            ("cookie", &self.cookies),
            ("query", &self.query_params),
        ] {
            parts.extend(map.iter().map(|(k, v)| format!("{what} {k}={v}")));
        }
        parts.join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retries {
    /// How many retries per request.
    pub attempts: u32,
    /// Timeout per try, e.g. `2s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    /// Istio `retryOn` conditions, e.g. `5xx,reset,connect-failure`. Linkerd takes the
    /// HTTP status part (`5xx`, `gateway-error`, `xxx-yyy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<String>,
}

/// Outlier detection: eject a backend after consecutive errors. The last healthy
/// backends are never ejected: under Istio, below `minHealthPercent` healthy backends the
/// proxies balance over all of them again; Linkerd has no such floor, so a Service in front
/// of a single pod gets no failure accrual.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CircuitBreaker {
    pub consecutive_errors: u32,
    /// How often backends are checked, e.g. `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// How long an ejected backend stays out, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<String>,
    /// At most this percentage of backends is ejected (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<u32>,
    /// Istio: outlier detection stops while fewer than this percentage of backends is
    /// healthy (1–100; default 50, Envoy's own panic threshold), so a Service is never left
    /// without endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_health_percent: Option<u32>,
}

/// The `minHealthPercent` used when the config gives none.
pub const MIN_HEALTH_PERCENT: u32 = 50;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConnectionPool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http1_max_pending_requests: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2_max_requests: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadBalancer {
    pub algorithm: Algorithm,
    /// For `CONSISTENT_HASH`: the HTTP header to hash, or `sourceIP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Algorithm {
    RoundRobin,
    LeastRequest,
    Random,
    ConsistentHash,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "ROUND_ROBIN",
            Algorithm::LeastRequest => "LEAST_REQUEST",
            Algorithm::Random => "RANDOM",
            Algorithm::ConsistentHash => "CONSISTENT_HASH",
        }
    }
}

/// A weighted split between pod subsets (Istio) or between per-subset Services (Linkerd:
/// `<service>-<subset>`, which the chart must provide).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Canary {
    /// Subset name → the pod labels that select it, e.g. `stable: {version: v1}`.
    pub subsets: BTreeMap<String, BTreeMap<String, String>>,
    /// Subset name → weight; the weights add up to 100.
    pub weights: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FaultInjection {
    /// A fixed delay added to requests, e.g. `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// The HTTP status returned instead of forwarding, e.g. `503`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<u16>,
    /// The percentage of requests affected (0–100).
    pub percentage: f64,
}

/// Who may call whom. When this section is present, every component that some flow reaches
/// accepts only its allowed callers.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Authorization {
    /// Also deny everything not allowed to every component in scope (an Istio
    /// `<workload>-allow-nothing` policy on each workload no other policy reaches; Linkerd
    /// `Server`s with `accessPolicy: deny`).
    #[serde(default)]
    pub default_deny: bool,
    /// Allow the flows the stack needs: Grafana → datasources, Prometheus → everything,
    /// agents → Loki/Tempo/Mimir/Prometheus, any mesh workload → OpenTelemetry Collector,
    /// each component → itself (rings, gossip, Alertmanager peers), ingress → Grafana.
    #[serde(default = "super::yes")]
    pub defaults: bool,
    /// More flows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<Allow>,
    /// The callers in other releases (the stack is often several Helm releases in one
    /// namespace): each is a catalog component whose flows to the components here are
    /// allowed from the identities named. Unset: a flow whose caller is not in the stream
    /// is allowed from every identity of its target's namespace, with a warning; `[]`:
    /// from nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<Peer>>,
    /// Ingress identities (`namespace/serviceaccount`) that may reach Grafana. Default: the
    /// Istio ingress gateway; none for Linkerd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<String>>,
    /// Also generate a Kubernetes NetworkPolicy per reached component.
    #[serde(default)]
    pub network_policies: bool,
    /// Linkerd: the networks kubelet probes come from (a NetworkAuthentication).
    #[serde(default = "all_networks")]
    pub probe_networks: Vec<String>,
    /// The networks the kube-apiserver connects from, to reach webhooks and aggregated APIs
    /// in the mesh: a Linkerd NetworkAuthentication and a NetworkPolicy `ipBlock` per
    /// network (the apiserver is outside the mesh and usually outside the pod network).
    #[serde(default = "all_networks")]
    pub api_server_networks: Vec<String>,
}

/// One flow: `from` is a component name, `namespace/serviceaccount`, or `*` (any mesh
/// workload); `to` is a component name.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Allow {
    pub from: String,
    pub to: String,
}

/// A component outside the stream that calls into it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Peer {
    /// The catalog component it is (`grafana`, `prometheus`, `promtail`, …).
    pub component: String,
    /// Its ServiceAccounts, `namespace/name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
    /// Namespaces every identity of which may call as it. With neither this nor
    /// `serviceAccounts`: the target's own namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// Spanning clusters.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MultiCluster {
    #[serde(default)]
    pub enabled: bool,
    /// Istio `global.multiCluster.clusterName` (reported; set on the control plane).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Istio network: `topology.istio.io/network` on the namespaces in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Services (by name, or a component's Services that serve its API: not headless, no
    /// gossip or cache port) that other clusters may call: Linkerd
    /// `mirror.linkerd.io/exported: "true"`, and with `authorization` their pods admit the
    /// `linkerd-multicluster/linkerd-gateway` identity the requests arrive with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub export_services: Vec<String>,
}

/// Every IPv4 and IPv6 address: where kubelet probes may come from.
pub fn all_networks() -> Vec<String> {
    vec!["0.0.0.0/0".into(), "::/0".into()]
}
