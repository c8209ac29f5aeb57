//! The Linkerd resources gunj-mesh writes, as typed specs: field names and
//! optionality follow the CRDs (`../shared/schemas` in development).

use crate::model::stack::Labels;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    pub pod_selector: PodSelector,
    pub port: PortRef,
    pub proxy_protocol: &'static str,
    pub access_policy: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSelector {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: Labels,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<Expression>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Expression {
    pub key: String,
    pub operator: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    pub target_ref: Ref,
    pub required_authentication_refs: Vec<Ref>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ref {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'static str>,
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshTlsAuthentication {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identity_refs: Vec<Ref>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetworkAuthentication {
    pub networks: Vec<Network>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub cidr: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    pub parent_refs: Vec<ParentRef>,
    pub rules: Vec<RouteRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParentRef {
    pub group: &'static str,
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<RouteMatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<BackendRef>,
}

/// One Gateway API `HTTPRouteMatch`: every condition must hold.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteMatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<ValueMatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query_params: Vec<ValueMatch>,
}

/// A header or query parameter match: `Exact` or `RegularExpression`.
#[derive(Debug, Clone, Serialize)]
pub struct ValueMatch {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathValue {
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendRef {
    pub name: String,
    pub port: u16,
    pub weight: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProfile {
    pub routes: Vec<ProfileRoute>,
    pub retry_budget: RetryBudget,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRoute {
    pub name: String,
    pub condition: Condition,
    pub is_retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub path_regex: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryBudget {
    pub retry_ratio: f64,
    pub min_retries_per_second: u32,
    pub ttl: String,
}
