//! Linkerd policies.
//!
//! - Server (`policy.linkerd.io/v1beta3`), AuthorizationPolicy, MeshTLSAuthentication,
//!   NetworkAuthentication (`v1alpha1`): <https://linkerd.io/2-edge/reference/authorization-policy/>.
//!   A Server's `accessPolicy` (default `deny`) applies to traffic no AuthorizationPolicy allows.
//! - The proxy-admin scrape authorisation is what `linkerd viz allow-scrapes` emits
//!   (linkerd/linkerd2 `viz/cmd/allow-scrapes.go`).
//! - Retries and timeouts as Service annotations (Linkerd 2.16+):
//!   <https://linkerd.io/2-edge/reference/retries/>, <https://linkerd.io/2-edge/reference/timeouts/>;
//!   ServiceProfiles for older clusters: <https://linkerd.io/2-edge/reference/service-profiles/>.
//! - Circuit breaking (failure accrual): <https://linkerd.io/2-edge/reference/circuit-breaking/>.
//! - Opaque ports: <https://linkerd.io/2-edge/features/protocol-detection/>; the default list
//!   already holds 25, 587, 3306, 4444, 5432, 6379, 9300, 11211.
//! - Multi-cluster export: the Service label `mirror.linkerd.io/exported: "true"`
//!   (<https://linkerd.io/2-edge/features/multicluster/>).

mod types;

use super::open::{Caller, Opening, Openings};
use super::slug;
use crate::config::{Authorization, Spec, Traffic};
use crate::generate::{Additions, ObjectEdit, Resource, dns_name, metadata};
use crate::model::graph::flows::{Flow, Source};
use crate::model::ports::{self, Port, Proto};
use crate::model::stack::{Labels, Member, Service, Stack, qualified};
use crate::yaml::patch::Patch;
use std::collections::{BTreeMap, HashMap};
use types::*;

const POLICY: &str = "policy.linkerd.io/v1alpha1";
const SERVER: &str = "policy.linkerd.io/v1beta3";
const GROUP: &str = "policy.linkerd.io";

pub fn generate(
    stack: &Stack,
    spec: &Spec,
    flows: &[Flow],
    openings: &Openings,
    out: &mut Additions,
) {
    let global = spec.traffic_management.clone().unwrap_or_default();
    for service in &stack.services {
        let Some(component) = &service.component else {
            continue;
        };
        let traffic = global
            .merged(spec.components.overrides.get(component))
            .for_selector(&service.selector);
        service_edits(
            service,
            component,
            spec,
            &traffic,
            stack.single_pod(service),
            out,
        );
        if spec.linkerd.uses_service_profiles()
            && (traffic.retries.is_some() || traffic.timeout.is_some())
            && l7(service)
        {
            service_profile(service, component, &traffic, out);
        }
        if let Some(canary) = &traffic.canary
            && l7(service)
        {
            canary_route(stack, service, component, canary, &traffic.ab_testing, out);
        }
        for (set, what) in [
            (traffic.fault_injection.is_some(), "faultInjection"),
            (traffic.connection_pool.is_some(), "connectionPool"),
            (traffic.load_balancer.is_some(), "loadBalancer"),
        ] {
            if set {
                out.note(format!(
                    "{what} is not expressible in Linkerd (it balances by EWMA latency and has no fault injection); ignored for {component}"
                ));
            }
        }
    }
    if let Some(auth) = &spec.authorization {
        servers(stack, auth, flows, openings, out);
    }
    // Prometheus must still reach the proxies' metrics when inbound policy denies by
    // default: with authorization, or when the stack's mesh metrics are asked for.
    let metrics = spec
        .observability
        .as_ref()
        .is_some_and(|o| o.metrics.enabled);
    if (spec.authorization.is_some() || metrics) && stack.of("prometheus").next().is_some() {
        let networks = spec
            .authorization
            .as_ref()
            .map_or_else(crate::config::all_networks, |a| a.probe_networks.clone());
        proxy_admin(stack, &networks, out);
    }
}

/// Opaque ports, retry/timeout/failure-accrual annotations and the multi-cluster export
/// label, as one edit per Service.
fn service_edits(
    service: &Service,
    component: &str,
    spec: &Spec,
    t: &Traffic,
    single: bool,
    out: &mut Additions,
) {
    let mut patch = Patch::new();
    let mut why = Vec::new();
    let opaque: Vec<u16> = service
        .ports
        .iter()
        .filter(|p| p.protocol != "UDP" && p.numbers().into_iter().any(ports::is_opaque))
        .map(|p| p.port)
        .collect();
    let key = "config.linkerd.io/opaque-ports";
    if spec.linkerd.proxy.opaque_ports.is_none()
        && let Some(value) =
            ports::opaque_annotation(&opaque, service.annotations.get(key).map(String::as_str))
    {
        patch.set(&["metadata", "annotations", key], &value);
        why.push(format!("opaque ports {value}"));
    }
    if !spec.linkerd.uses_service_profiles() && l7(service) {
        if t.circuit_breaker.is_some() && single {
            out.note(format!(
                "circuitBreaker: service {} fronts a single pod; failure accrual would leave it without endpoints, so it gets none",
                qualified(service.namespace.as_deref(), &service.name)
            ));
        }
        let mut set = |key: &str, value: String, what: &str| {
            patch.set(&["metadata", "annotations", key], &value);
            if !why.iter().any(|w| w == what) {
                why.push(what.to_string());
            }
        };
        if let Some(r) = &t.retries {
            let conditions = retry_conditions(r.retry_on.as_deref());
            set("retry.linkerd.io/http", conditions, "retries");
            // gRPC failures come back as HTTP 200 with a `grpc-status`: only the gRPC
            // annotation retries them.
            if grpc(service) {
                let conditions = grpc_retry_conditions(r.retry_on.as_deref());
                set("retry.linkerd.io/grpc", conditions, "retries");
            }
            set("retry.linkerd.io/limit", r.attempts.to_string(), "retries");
            if let Some(timeout) = &r.per_try_timeout {
                set("retry.linkerd.io/timeout", timeout.clone(), "retries");
            }
        }
        if let Some(timeout) = &t.timeout {
            set("timeout.linkerd.io/request", timeout.clone(), "timeout");
        }
        // Failure accrual has no floor: the only endpoint, once marked unavailable, leaves
        // every caller failing until the penalty ends
        // (<https://linkerd.io/2-edge/reference/circuit-breaking/>).
        if let Some(cb) = t.circuit_breaker.as_ref().filter(|_| !single) {
            set(
                "balancer.linkerd.io/failure-accrual",
                "consecutive".into(),
                "circuit breaker",
            );
            set(
                "balancer.linkerd.io/failure-accrual-consecutive-max-failures",
                cb.consecutive_errors.to_string(),
                "circuit breaker",
            );
            if let Some(t) = &cb.base_ejection_time {
                set(
                    "balancer.linkerd.io/failure-accrual-consecutive-min-penalty",
                    t.clone(),
                    "circuit breaker",
                );
            }
        }
    }
    if spec
        .multi_cluster
        .as_ref()
        .is_some_and(|mc| service.exported(mc))
    {
        patch.set(
            &["metadata", "labels", "mirror.linkerd.io/exported"],
            "true",
        );
        why.push("exported to other clusters".into());
    }
    if !why.is_empty() {
        out.edit(ObjectEdit {
            object: service.object,
            component: component.to_string(),
            reason: why.join(", "),
            patch,
        });
    }
}

/// The HTTP status conditions of `retryOn` that Linkerd understands (`5xx` when none).
fn retry_conditions(retry_on: Option<&str>) -> String {
    let ok = |c: &&str| {
        *c == "5xx"
            || *c == "gateway-error"
            || c.split('-')
                .all(|p| p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let list: Vec<&str> = retry_on
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(ok)
        .collect();
    if list.is_empty() {
        "5xx".into()
    } else {
        list.join(",")
    }
}

/// The gRPC status conditions of `retryOn` that Linkerd understands (Istio spells them
/// the same); `cancelled,unavailable`, the gRPC part of Istio's default, when none.
fn grpc_retry_conditions(retry_on: Option<&str>) -> String {
    const GRPC: &[&str] = &[
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    ];
    let list: Vec<&str> = retry_on
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| GRPC.contains(c))
        .collect();
    if list.is_empty() {
        "cancelled,unavailable".into()
    } else {
        list.join(",")
    }
}

/// True when the Service has a gRPC port.
fn grpc(service: &Service) -> bool {
    service.ports.iter().any(|p| {
        p.protocol != "UDP" && ports::classify(&p.numbers(), p.name.as_deref()) == Proto::Grpc
    })
}

/// True when the Service has a port that may carry HTTP or gRPC.
fn l7(service: &Service) -> bool {
    service.ports.iter().any(|p| {
        p.protocol != "UDP" && ports::classify(&p.numbers(), p.name.as_deref()) != Proto::Tcp
    })
}

/// A ServiceProfile has a route timeout over all tries and a retry budget, but no limit
/// of attempts and no per-try timeout: with `perTryTimeout` and no `timeout`, the route's
/// timeout is what the tries may take together, `perTryTimeout × (attempts + 1)`, and a
/// note says what is approximated.
fn service_profile(service: &Service, component: &str, t: &Traffic, out: &mut Additions) {
    let mut timeout = t.timeout.clone();
    if let Some(r) = &t.retries {
        let per_try = r.per_try_timeout.as_deref();
        if let (None, Some(per_try)) = (&timeout, per_try.and_then(crate::config::millis)) {
            timeout = Some(format!("{}ms", per_try * (u64::from(r.attempts) + 1)));
        }
        out.note(format!(
            "linkerd.serviceProfiles: service {} retries within the ServiceProfile's retry budget (20% more requests), not retries.attempts ({}){}",
            qualified(service.namespace.as_deref(), &service.name),
            r.attempts,
            match (per_try, &t.timeout) {
                (Some(p), None) => format!(
                    "; retries.perTryTimeout {p} bounds all tries together as the route timeout {}",
                    timeout.as_deref().unwrap_or_default()
                ),
                (Some(p), Some(_)) => format!(
                    "; retries.perTryTimeout {p} has no equivalent and the route timeout (timeout) bounds all tries"
                ),
                (None, _) => String::new(),
            }
        ));
    }
    out.add(
        component,
        format!(
            "linkerd.serviceProfiles: retries/timeout for service {}",
            service.name
        ),
        Resource {
            api_version: "linkerd.io/v1alpha2",
            kind: "ServiceProfile",
            metadata: metadata(&service.host(), service.namespace.as_deref(), component),
            spec: ServiceProfile {
                routes: vec![ProfileRoute {
                    name: "all".into(),
                    condition: Condition {
                        path_regex: ".*".into(),
                    },
                    is_retryable: t.retries.is_some(),
                    timeout,
                }],
                retry_budget: RetryBudget {
                    retry_ratio: 0.2,
                    min_retries_per_second: 10,
                    ttl: "10s".into(),
                },
            },
        },
    );
}

/// Canary weights: an HTTPRoute on the Service splitting to `<service>-<subset>` Services;
/// before them, one rule per A/B route sending the requests it matches to its subset's
/// Service (Gateway API: the rule with the most matching conditions wins, and a rule
/// without matches takes the rest).
fn canary_route(
    stack: &Stack,
    service: &Service,
    component: &str,
    canary: &crate::config::Canary,
    ab_testing: &[crate::config::AbRoute],
    out: &mut Additions,
) {
    let Some(port) = service.ports.iter().find(|p| p.protocol != "UDP") else {
        return;
    };
    let backend = |subset: &str, weight: u32| BackendRef {
        name: format!("{}-{subset}", service.name),
        port: port.port,
        weight,
    };
    let backends: Vec<BackendRef> = canary
        .weights
        .iter()
        .map(|(subset, weight)| backend(subset, *weight))
        .collect();
    let mut rules: Vec<RouteRule> = ab_testing
        .iter()
        .map(|ab| RouteRule {
            matches: vec![ab_match(ab)],
            backend_refs: vec![backend(&ab.subset, 1)],
        })
        .collect();
    let mut names: Vec<&str> = backends.iter().map(|b| b.name.as_str()).collect();
    let ab_names: Vec<String> = rules
        .iter()
        .flat_map(|r| r.backend_refs.iter().map(|b| b.name.clone()))
        .collect();
    names.extend(ab_names.iter().map(String::as_str));
    names.sort_unstable();
    names.dedup();
    for name in names {
        if !stack
            .services
            .iter()
            .any(|s| s.name == name && s.namespace == service.namespace)
        {
            out.note(format!(
                "canary: Linkerd splits traffic between Services; create Service {} selecting the subset's pods",
                qualified(service.namespace.as_deref(), name)
            ));
        }
    }
    let mut why = vec!["canary weights".to_string()];
    why.extend(
        ab_testing
            .iter()
            .map(|ab| format!("A/B: {} → {}-{}", ab.describe(), service.name, ab.subset)),
    );
    rules.push(RouteRule {
        matches: Vec::new(),
        backend_refs: backends,
    });
    out.add(
        component,
        format!("{} for service {}", why.join(", "), service.name),
        Resource {
            api_version: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: metadata(
                &format!("{}-canary", service.name),
                service.namespace.as_deref(),
                component,
            ),
            spec: HttpRoute {
                parent_refs: vec![ParentRef {
                    group: "core",
                    kind: "Service",
                    name: service.name.clone(),
                    port: Some(port.port),
                }],
                rules,
            },
        },
    );
}

/// An A/B route's conditions as one `HTTPRouteMatch`; its cookie is a regular expression
/// on the `cookie` header.
fn ab_match(ab: &crate::config::AbRoute) -> RouteMatch {
    let exact = |(name, value): (&String, &String)| ValueMatch {
        kind: "Exact",
        name: name.clone(),
        value: value.clone(),
    };
    let mut headers: Vec<ValueMatch> = ab.headers.iter().map(exact).collect();
    headers.extend(ab.cookies.iter().map(|(name, value)| ValueMatch {
        kind: "RegularExpression",
        name: "cookie".into(),
        value: super::cookie_regex(name, value),
    }));
    RouteMatch {
        path: None,
        headers,
        query_params: ab.query_params.iter().map(exact).collect(),
    }
}

/// A ServiceAccount: (namespace, name).
type Account = (Option<String>, String);

/// A Server per port of every component some flow reaches (or every component, with
/// `defaultDeny`), and per flow an AuthorizationPolicy naming a MeshTLSAuthentication. The
/// ports callers without a mesh identity reach ([`Openings`]) are authorized by network:
/// a NetworkAuthentication of the kube-apiserver's, the kubelet's (probe) or every network,
/// as Linkerd's own charts do for their webhooks (`linkerd-viz` tap-injector).
fn servers(
    stack: &Stack,
    auth: &Authorization,
    flows: &[Flow],
    openings: &Openings,
    out: &mut Additions,
) {
    let mut authentications: BTreeMap<(Option<String>, String), Vec<Ref>> = BTreeMap::new();
    let mut networks: BTreeMap<(Option<String>, String), Vec<String>> = BTreeMap::new();
    // A flow's callers into a namespace, worked out once for all its targets there.
    let mut accounts: HashMap<(&Source, Option<&str>), Vec<Account>> = HashMap::new();
    for (i, m) in stack.members.iter().enumerate().filter(|(_, m)| m.serves) {
        let reached: Vec<&Flow> = flows.iter().filter(|f| f.to == m.component).collect();
        let open = openings.get(&i).map(Vec::as_slice).unwrap_or_default();
        if (reached.is_empty() && open.is_empty() && !auth.default_deny) || m.selector.is_empty() {
            continue;
        }
        if m.component == "grafana"
            && auth.ingress.is_none()
            && (auth.default_deny || !m.ports.is_empty())
        {
            out.warn(format!(
                "authorization: {} {} (grafana) admits only the callers spec.authorization allows, and spec.authorization.ingress names no ingress (Linkerd has no default): Grafana is unreachable from the ingress. Set spec.authorization.ingress to the ingress controller's identities (namespace/serviceaccount)",
                m.kind.to_lowercase(),
                qualified(m.namespace.as_deref(), &m.name)
            ));
        }
        if m.ports.is_empty() {
            out.note(format!(
                "{} {} declares no container ports: Linkerd Servers need them, so its inbound traffic is not restricted",
                m.kind.to_lowercase(),
                qualified(m.namespace.as_deref(), &m.name)
            ));
        }
        // The declared ports, and the ports callers outside the mesh reach that it does not
        // declare (an operator's health port, say).
        let mut ports: Vec<Port> = m
            .ports
            .iter()
            .filter(|p| p.protocol != "UDP")
            .cloned()
            .collect();
        for o in open {
            if !ports.iter().any(|p| p.number == o.port) {
                ports.push(Port {
                    name: None,
                    number: o.port,
                    protocol: "TCP".into(),
                });
            }
        }
        for port in &ports {
            let here: Vec<&Opening> = open.iter().filter(|o| o.port == port.number).collect();
            let tls = here.iter().any(|o| o.tls && o.caller == Caller::ApiServer);
            let server = server(m, port, tls, out);
            for flow in &reached {
                let authn = format!("from-{}", slug(&flow.from));
                let refs = match &flow.from {
                    Source::Any => Vec::new(),
                    Source::Namespace(ns) => vec![Ref {
                        group: None,
                        kind: "Namespace",
                        name: ns.clone(),
                        namespace: None,
                    }],
                    Source::OwnNamespace => m
                        .namespace
                        .iter()
                        .map(|ns| Ref {
                            group: None,
                            kind: "Namespace",
                            name: ns.clone(),
                            namespace: None,
                        })
                        .collect(),
                    from => accounts
                        .entry((from, m.namespace.as_deref()))
                        .or_insert_with(|| from.accounts(stack, m.namespace.as_deref()))
                        .clone()
                        .into_iter()
                        .map(|(ns, sa)| Ref {
                            group: None,
                            kind: "ServiceAccount",
                            name: sa,
                            namespace: ns,
                        })
                        .collect(),
                };
                if refs.is_empty() && flow.from != Source::Any {
                    continue;
                }
                authentications.insert((m.namespace.clone(), authn.clone()), refs);
                let authn = dns_name(&stack.release.scoped(&authn));
                authorize(
                    m,
                    &server,
                    &slug(&flow.from),
                    format!("allow {}: {}", slug(&flow.from), flow.reason),
                    "MeshTLSAuthentication",
                    &authn,
                    out,
                );
            }
            let mut callers: Vec<&Caller> = here.iter().map(|o| &o.caller).collect();
            callers.sort();
            callers.dedup_by(|a, b| a.slug() == b.slug());
            for caller in callers {
                let (name, cidrs) = match caller {
                    Caller::ApiServer => ("kube-apiserver", auth.api_server_networks.clone()),
                    Caller::Kubelet => ("kubelet", auth.probe_networks.clone()),
                    Caller::Workload(_) => ("plaintext", crate::config::all_networks()),
                };
                networks.insert((m.namespace.clone(), name.into()), cidrs);
                let authn = dns_name(&stack.release.scoped(name));
                let why: Vec<&str> = here
                    .iter()
                    .filter(|o| o.caller.slug() == caller.slug())
                    .map(|o| o.why.as_str())
                    .collect();
                authorize(
                    m,
                    &server,
                    name,
                    format!("allow {name} without a mesh identity: {}", why.join("; ")),
                    "NetworkAuthentication",
                    &authn,
                    out,
                );
            }
        }
    }
    for ((ns, name), refs) in authentications {
        let any = refs.is_empty();
        out.add(
            "stack",
            format!(
                "the mesh identities of {}",
                name.trim_start_matches("from-")
            ),
            Resource {
                api_version: POLICY,
                kind: "MeshTLSAuthentication",
                metadata: metadata(&stack.release.scoped(&name), ns.as_deref(), "stack"),
                spec: MeshTlsAuthentication {
                    identities: if any { vec!["*".into()] } else { Vec::new() },
                    identity_refs: refs,
                },
            },
        );
    }
    for ((ns, name), cidrs) in networks {
        out.add(
            "stack",
            format!("the networks {name} connects from"),
            Resource {
                api_version: POLICY,
                kind: "NetworkAuthentication",
                metadata: metadata(&stack.release.scoped(&name), ns.as_deref(), "stack"),
                spec: NetworkAuthentication {
                    networks: cidrs.into_iter().map(|cidr| Network { cidr }).collect(),
                },
            },
        );
    }
}

/// An AuthorizationPolicy on a Server requiring one authentication, named
/// `<server>-from-<who>`.
fn authorize(
    m: &Member,
    server: &str,
    who: &str,
    reason: String,
    kind: &'static str,
    authn: &str,
    out: &mut Additions,
) {
    out.add(
        &m.component,
        reason,
        Resource {
            api_version: POLICY,
            kind: "AuthorizationPolicy",
            metadata: metadata(
                &format!("{server}-from-{who}"),
                m.namespace.as_deref(),
                &m.component,
            ),
            spec: AuthorizationPolicy {
                target_ref: Ref {
                    group: Some(GROUP),
                    kind: "Server",
                    name: server.to_string(),
                    namespace: None,
                },
                required_authentication_refs: vec![Ref {
                    group: Some(GROUP),
                    kind,
                    name: authn.to_string(),
                    namespace: None,
                }],
            },
        },
    );
}

/// The Server of one port of a member: `TLS` where the kube-apiserver calls it (webhooks
/// and aggregated APIs terminate their own TLS), else by the port's protocol.
fn server(m: &Member, port: &Port, tls: bool, out: &mut Additions) -> String {
    let label = port.name.clone().unwrap_or_else(|| port.number.to_string());
    let name = dns_name(&format!("{}-{label}", m.slug));
    let proto = match ports::classify(&[port.number], port.name.as_deref()) {
        _ if tls => "TLS",
        Proto::Tcp => "opaque",
        Proto::Grpc => "gRPC",
        _ => "unknown",
    };
    out.add(
        &m.component,
        format!("port {} of {} ({proto})", port.number, m.name),
        Resource {
            api_version: SERVER,
            kind: "Server",
            metadata: metadata(&name, m.namespace.as_deref(), &m.component),
            spec: Server {
                pod_selector: PodSelector {
                    match_labels: m.selector.clone(),
                    match_expressions: Vec::new(),
                },
                port: match &port.name {
                    Some(n) => PortRef::Name(n.clone()),
                    None => PortRef::Number(port.number),
                },
                proxy_protocol: proto,
                access_policy: "deny",
            },
        },
    );
    name
}

/// What `linkerd viz allow-scrapes` emits, per namespace: Prometheus may scrape the proxies'
/// `/metrics` on `linkerd-admin` (4191), and kubelet may probe `/live` and `/ready`. Its
/// Server selects every meshed pod of the namespace, and Linkerd admits one Server per pod
/// port: so the set keeps its own names, not the release's, and is emitted by the release
/// that holds Prometheus (a second such release fails on owning `proxy-admin`, loudly).
fn proxy_admin(stack: &Stack, probe_networks: &[String], out: &mut Additions) {
    // The stack's Prometheus and linkerd-viz's own; `identityRefs` match any of them, where
    // several `requiredAuthenticationRefs` would all have to match.
    for ns in &stack.namespaces {
        let mut scrapers = Source::Component("prometheus".into()).accounts(stack, ns.as_deref());
        scrapers.push((Some("linkerd-viz".into()), "prometheus".into()));
        scrapers.sort();
        scrapers.dedup();
        out.add(
            "prometheus",
            "the Prometheus servers that scrape the proxies".into(),
            Resource {
                api_version: POLICY,
                kind: "MeshTLSAuthentication",
                metadata: metadata("prometheus-scrapers", ns.as_deref(), "prometheus"),
                spec: MeshTlsAuthentication {
                    identities: Vec::new(),
                    identity_refs: scrapers
                        .iter()
                        .map(|(ns, sa)| Ref {
                            group: None,
                            kind: "ServiceAccount",
                            name: sa.clone(),
                            namespace: ns.clone(),
                        })
                        .collect(),
                },
            },
        );
        let reason = "Prometheus scrapes the Linkerd proxies (linkerd viz allow-scrapes)";
        out.add(
            "prometheus",
            reason.into(),
            Resource {
                api_version: SERVER,
                kind: "Server",
                metadata: metadata("proxy-admin", ns.as_deref(), "prometheus"),
                spec: Server {
                    pod_selector: PodSelector {
                        match_labels: Labels::default(),
                        match_expressions: vec![Expression {
                            key: "linkerd.io/control-plane-ns".into(),
                            operator: "Exists",
                        }],
                    },
                    port: PortRef::Name("linkerd-admin".into()),
                    proxy_protocol: "HTTP/1",
                    access_policy: "deny",
                },
            },
        );
        for (route, paths) in [
            ("proxy-metrics", vec!["/metrics"]),
            ("proxy-probes", vec!["/live", "/ready"]),
        ] {
            out.add(
                "prometheus",
                reason.into(),
                Resource {
                    api_version: SERVER,
                    kind: "HTTPRoute",
                    metadata: metadata(route, ns.as_deref(), "prometheus"),
                    spec: HttpRoute {
                        parent_refs: vec![ParentRef {
                            group: GROUP,
                            kind: "Server",
                            name: "proxy-admin".into(),
                            port: None,
                        }],
                        rules: vec![RouteRule {
                            matches: paths
                                .into_iter()
                                .map(|p| RouteMatch {
                                    path: Some(PathValue { value: p.into() }),
                                    ..RouteMatch::default()
                                })
                                .collect(),
                            backend_refs: Vec::new(),
                        }],
                    },
                },
            );
        }
        out.add(
            "prometheus",
            "kubelet probes reach the proxies".into(),
            Resource {
                api_version: POLICY,
                kind: "NetworkAuthentication",
                metadata: metadata("kubelet", ns.as_deref(), "prometheus"),
                spec: NetworkAuthentication {
                    networks: probe_networks
                        .iter()
                        .map(|c| Network { cidr: c.clone() })
                        .collect(),
                },
            },
        );
        for (name, route, kind, authn) in [
            (
                "prometheus-scrape",
                "proxy-metrics",
                "MeshTLSAuthentication",
                "prometheus-scrapers",
            ),
            (
                "proxy-probes",
                "proxy-probes",
                "NetworkAuthentication",
                "kubelet",
            ),
        ] {
            let refs = vec![Ref {
                group: Some(GROUP),
                kind,
                name: authn.into(),
                namespace: None,
            }];
            out.add(
                "prometheus",
                reason.into(),
                Resource {
                    api_version: POLICY,
                    kind: "AuthorizationPolicy",
                    metadata: metadata(name, ns.as_deref(), "prometheus"),
                    spec: AuthorizationPolicy {
                        target_ref: Ref {
                            group: Some(GROUP),
                            kind: "HTTPRoute",
                            name: route.into(),
                            namespace: None,
                        },
                        required_authentication_refs: refs,
                    },
                },
            );
        }
    }
}
