//! The Istio resources gunj-mesh writes, as typed specs: field names and
//! optionality follow the CRDs (`../shared/schemas` in development).

use crate::model::stack::Labels;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    pub match_labels: Labels,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mode {
    pub mode: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerAuthentication {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    pub mtls: Mode,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub port_level_mtls: BTreeMap<String, Mode>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRule {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_policy: Option<TrafficPolicy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subsets: Vec<Subset>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_pool: Option<ConnectionPool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Mode>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simple: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistent_hash: Option<ConsistentHash>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsistentHash {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_header_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_source_ip: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpPool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpPool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpPool {
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http1_max_pending_requests: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http2_max_requests: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutlierDetection {
    pub consecutive_5xx_errors: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<u32>,
    pub min_health_percent: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Subset {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VirtualService {
    pub hosts: Vec<String>,
    pub http: Vec<HttpRoute>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HttpRoute {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HttpMatch>,
    pub route: Vec<RouteDestination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<Retries>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
}

/// One `http[].match` entry: every condition must hold.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpMatch {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, StringMatch>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub query_params: BTreeMap<String, StringMatch>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StringMatch {
    Exact(String),
    Regex(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteDestination {
    pub destination: Destination,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Destination {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retries {
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort: Option<Abort>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delay {
    pub fixed_delay: String,
    pub percentage: Percent,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Abort {
    pub http_status: u16,
    pub percentage: Percent,
}

#[derive(Debug, Clone, Serialize)]
pub struct Percent {
    pub value: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<TargetRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

/// A policy attached to a Service is enforced by its waypoint.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRef {
    pub group: &'static str,
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<From>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<To>,
}

#[derive(Debug, Clone, Serialize)]
pub struct To {
    pub operation: Operation,
}

#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct From {
    pub source: PrincipalSource,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrincipalSource {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}
