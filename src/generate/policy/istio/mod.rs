//! Istio policies, as the served storage versions `security.istio.io/v1` and
//! `networking.istio.io/v1`.
//!
//! - PeerAuthentication: <https://istio.io/latest/docs/reference/config/security/peer_authentication/>
//!   (`portLevelMtls` needs a workload selector).
//! - DestinationRule: <https://istio.io/latest/docs/reference/config/networking/destination-rule/>
//!   (`outlierDetection.minHealthPercent`: below it, outlier detection is off and the
//!   proxy balances over every host, healthy or not).
//! - VirtualService: <https://istio.io/latest/docs/reference/config/networking/virtual-service/>.
//! - AuthorizationPolicy: <https://istio.io/latest/docs/reference/config/security/authorization-policy/>;
//!   an ALLOW policy without rules (`<workload>-allow-nothing`) denies everything to the
//!   workload it selects
//!   (<https://istio.io/latest/docs/ops/best-practices/security/#use-default-deny-patterns>).
//! - Ambient: L7 settings need a waypoint, which a Service opts into with the label
//!   `istio.io/use-waypoint` (<https://istio.io/latest/docs/ambient/usage/waypoint/>).

mod frontends;
mod types;

/// Shared with the Istio Telemetry resources ([`crate::generate::telemetry`]).
pub(crate) use types::{Selector, TargetRef};

use super::open::{Opening, Openings};
use super::slug;
use crate::config::{Algorithm, MIN_HEALTH_PERCENT, MtlsMode, Spec, Traffic};
use crate::generate::dns_name;
use crate::generate::{Additions, ObjectEdit, Resource, metadata};
use crate::model::graph::flows::{Flow, Source};
use crate::model::mesh::{ISTIO_V1_APIS, istio_principal};
use crate::model::ports::{self, Proto};
use crate::model::stack::{Member, Service, ServicePort, Stack, qualified};
use crate::yaml::patch::Patch;
use std::collections::{BTreeMap, HashMap};
use types::*;

/// What the control plane the config names reads: the API versions its release serves
/// (`v1` from Istio 1.22, `v1beta1` before) and its trust domain.
#[derive(Debug, Clone, Copy)]
struct Plane<'s> {
    security: &'static str,
    networking: &'static str,
    trust_domain: &'s str,
}

impl Plane<'_> {
    fn of(spec: &Spec) -> Plane<'_> {
        let v1 = spec.istio.release() >= ISTIO_V1_APIS;
        Plane {
            security: if v1 {
                "security.istio.io/v1"
            } else {
                "security.istio.io/v1beta1"
            },
            networking: if v1 {
                "networking.istio.io/v1"
            } else {
                "networking.istio.io/v1beta1"
            },
            trust_domain: &spec.trust_domain,
        }
    }
}

pub fn generate(
    stack: &Stack,
    spec: &Spec,
    ambient: bool,
    flows: &[Flow],
    openings: &Openings,
    out: &mut Additions,
) {
    let plane = Plane::of(spec);
    protocol_hints(stack, out);
    frontends::generate(stack, out);
    if let Some(mtls) = &spec.mtls {
        peer_authentications(stack, mtls, openings, plane, out);
    }
    let global = spec.traffic_management.clone().unwrap_or_default();
    // Services whose traffic goes through a waypoint (ambient mode with L7 settings).
    let mut waypointed: Vec<&Service> = Vec::new();
    for service in &stack.services {
        let Some(component) = &service.component else {
            continue;
        };
        // Headless Services reach pods directly (an original-destination cluster): load
        // balancing, pools, outlier detection and routes do not apply. The kube-apiserver
        // calls webhooks and aggregated APIs from outside the mesh, and a TLS-only Service
        // is opaque to the proxies: no L7 setting, nor a waypoint, applies to either.
        if service.headless || service.api_server || tls_only(service) {
            continue;
        }
        let traffic = global
            .merged(spec.components.overrides.get(component))
            .for_selector(&service.selector);
        let mut l7 = destination_rule(service, component, spec, &traffic, ambient, plane, out);
        if traffic.has_routing() && has_l7_port(service) {
            virtual_service(service, component, &traffic, plane, out);
            l7 = true;
        }
        if ambient && l7 {
            let mut patch = Patch::new();
            patch.set(&["metadata", "labels", "istio.io/use-waypoint"], "waypoint");
            out.edit(ObjectEdit {
                object: service.object,
                component: component.clone(),
                reason: "L7 traffic settings in ambient mode need a waypoint".into(),
                patch,
            });
            out.waypoints.insert(service.namespace.clone());
            out.note(match &service.namespace {
                Some(ns) => format!(
                    "deploy a waypoint in namespace {ns}: `istioctl waypoint apply -n {ns} --name waypoint`"
                ),
                None => "deploy a waypoint in the release namespace: `istioctl waypoint apply -n <namespace> --name waypoint`".into(),
            });
            waypointed.push(service);
        }
    }
    if let Some(auth) = &spec.authorization {
        authorization_policies(stack, flows, auth.default_deny, &waypointed, plane, out);
        plaintext_ports(stack, spec.mtls.as_ref(), openings, plane, out);
    }
    if let Some(mc) = spec.multi_cluster.as_ref().filter(|m| m.enabled) {
        if let Some(cluster) = &mc.cluster_name {
            out.note(format!(
                "multi-cluster: install the control plane with `global.multiCluster.clusterName={cluster}`"
            ));
        }
        if let Some(network) = &mc.network {
            out.note(format!(
                "multi-cluster: install the control plane with `global.network={network}` and label namespace istio-system `topology.istio.io/network={network}`"
            ));
        }
        if !mc.export_services.is_empty() {
            out.note("multi-cluster: Istio serves every Service to every cluster of the mesh; multiCluster.exportServices applies to Linkerd only".into());
        }
    }
}

/// `appProtocol` on component Service ports whose protocol Istio would otherwise guess.
fn protocol_hints(stack: &Stack, out: &mut Additions) {
    for service in &stack.services {
        let Some(component) = &service.component else {
            continue;
        };
        let mut patch = Patch::new();
        let mut set = Vec::new();
        for port in &service.ports {
            let numbers = port.numbers();
            if port.protocol == "UDP" {
                if numbers.iter().any(|n| ports::GOSSIP.contains(n)) {
                    out.note(format!(
                        "service {} port {} is UDP gossip: Istio does not proxy UDP, so it stays outside the mesh (Alertmanager clustering also needs TCP 9094)",
                        qualified(service.namespace.as_deref(), &service.name),
                        port.port
                    ));
                }
                continue;
            }
            if port.app_protocol.is_some() {
                continue;
            }
            let proto = ports::classify(&numbers, port.name.as_deref());
            let named = ports::declared(port.name.as_deref());
            // Loki's Istio guide declares its gRPC port TCP too: its clients balance over
            // pod IPs, which Istio's gRPC routing does not allow.
            let loki_grpc = component == "loki" && numbers.contains(&9095);
            // Alloy's and Grafana Agent's clustering, whatever the port is named.
            let agent_cluster = matches!(component.as_str(), "alloy" | "grafana-agent")
                && numbers.contains(&ports::AGENT_CLUSTER);
            let hint = match (proto, named) {
                (Proto::Tcp, _) => Some("tcp"),
                _ if loki_grpc || agent_cluster => Some("tcp"),
                (p, None) => p.app_protocol(),
                _ => None,
            };
            if let Some(hint) = hint {
                *patch
                    .field("spec")
                    .field("ports")
                    .item(port.index)
                    .field("appProtocol") = Patch::Str(hint.into());
                set.push(format!("{} → {hint}", port.port));
            }
        }
        if !set.is_empty() {
            out.edit(ObjectEdit {
                object: service.object,
                component: component.clone(),
                reason: format!("protocol hints (appProtocol {})", set.join(", ")),
                patch,
            });
        }
    }
}

/// True when some port may carry HTTP (a VirtualService's `http` routes apply to it).
fn has_l7_port(service: &Service) -> bool {
    service.ports.iter().any(|p| {
        p.protocol != "UDP"
            && !carries_tls(p)
            && !matches!(ports::classify(&p.numbers(), p.name.as_deref()), Proto::Tcp)
    })
}

/// True when every TCP port of a Service carries the application's own TLS.
fn tls_only(service: &Service) -> bool {
    let mut tcp = service
        .ports
        .iter()
        .filter(|p| p.protocol != "UDP")
        .peekable();
    tcp.peek().is_some() && tcp.all(carries_tls)
}

/// True for a Service port that carries the application's own TLS: `appProtocol` or a
/// name that declares `https` or `tls` (Istio's protocol selection), or a TLS port
/// ([`ports::TLS`]: 443, where the kube-apiserver calls webhooks and aggregated APIs by
/// default, 8443, 9443) with neither saying otherwise. Istio routes TLS by SNI at most: a VirtualService's `http` routes
/// never apply, and a waypoint passes it through at L4, so no L7 setting needs one
/// (<https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/>).
fn carries_tls(p: &ServicePort) -> bool {
    let declared = p
        .app_protocol
        .as_deref()
        .map(str::to_ascii_lowercase)
        .or_else(|| ports::declared(p.name.as_deref()).map(str::to_string));
    match declared.as_deref() {
        Some("https" | "tls") => true,
        Some(_) => false,
        None => p.numbers().iter().any(|n| ports::TLS.contains(n)),
    }
}

/// One PeerAuthentication per workload in the mesh, named `<workload>-mtls`: the mode,
/// and under STRICT the ports that also accept plaintext. Workload selectors, not a
/// namespace-wide `default`, so that the releases of one namespace never replace each
/// other's (or the namespace owner's) policy; a workload-specific policy takes precedence
/// over the namespace's, and `portLevelMtls` needs a selector anyway.
fn peer_authentications(
    stack: &Stack,
    mtls: &crate::config::Mtls,
    openings: &Openings,
    plane: Plane,
    out: &mut Additions,
) {
    let mode = mtls.mode.as_str();
    // Jobs serve nothing: no caller reaches them, so their inbound mTLS mode is moot.
    for (i, m) in stack.members.iter().enumerate().filter(|(_, m)| m.serves) {
        if m.selector.is_empty() {
            out.warn(format!(
                "mtls.mode {mode}: {} has no matchLabels selector to choose its pods by, so its pods keep the namespace's mTLS mode",
                m.name
            ));
            continue;
        }
        let ports = if mtls.mode == MtlsMode::Strict {
            plaintext(m, Some(mtls), openings.get(&i))
        } else {
            Vec::new()
        };
        let mut reason = format!("mtls.mode {mode} for {}", m.name);
        if !ports.is_empty() {
            let list: Vec<String> = ports.iter().map(|(p, _)| p.to_string()).collect();
            let why: Vec<&str> = ports.iter().map(|(_, why)| why.as_str()).collect();
            reason = format!(
                "{reason}; ports {} also accept plaintext ({})",
                list.join(", "),
                why.join("; ")
            );
        }
        out.add(
            &m.component,
            reason,
            Resource {
                api_version: plane.security,
                kind: "PeerAuthentication",
                metadata: metadata(
                    &format!("{}-mtls", m.slug),
                    m.namespace.as_deref(),
                    &m.component,
                ),
                spec: PeerAuthentication {
                    selector: Some(Selector {
                        match_labels: m.selector.clone(),
                    }),
                    mtls: Mode { mode },
                    port_level_mtls: ports
                        .iter()
                        .map(|(p, _)| (p.to_string(), Mode { mode: "PERMISSIVE" }))
                        .collect(),
                },
            },
        );
    }
}

/// The ports of a member that accept plaintext: `mtls.portExceptions` it declares, and the
/// ports callers without a mesh identity reach ([`Openings`]); each with why, in port order.
fn plaintext(
    m: &Member,
    mtls: Option<&crate::config::Mtls>,
    openings: Option<&Vec<Opening>>,
) -> Vec<(u16, String)> {
    let mut ports: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for p in &m.ports {
        if mtls.is_some_and(|t| t.port_exceptions.contains(&p.number)) {
            ports
                .entry(p.number)
                .or_default()
                .push("mtls.portExceptions".into());
        }
    }
    for o in openings.into_iter().flatten() {
        let why = format!("{} calls it: {}", o.caller.slug(), o.why);
        let list = ports.entry(o.port).or_default();
        if !list.contains(&why) {
            list.push(why);
        }
    }
    ports
        .into_iter()
        .map(|(p, why)| (p, why.join(", ")))
        .collect()
}

/// A DestinationRule when some setting asks for one; true when it holds settings that an
/// ambient waypoint must apply.
fn destination_rule(
    service: &Service,
    component: &str,
    spec: &Spec,
    traffic: &Traffic,
    ambient: bool,
    plane: Plane,
    out: &mut Additions,
) -> bool {
    let mut policy = TrafficPolicy::default();
    let mut why: Vec<String> = Vec::new();
    // Auto mTLS already sends ISTIO_MUTUAL to sidecars (and plaintext to pods without one);
    // only DISABLE needs saying.
    if let Some(mtls) = &spec.mtls
        && mtls.mode == MtlsMode::Disable
        && !ambient
    {
        policy.tls = Some(Mode { mode: "DISABLE" });
        why.push("tls DISABLE".into());
    }
    if let Some(lb) = &traffic.load_balancer {
        policy.load_balancer = Some(match lb.algorithm {
            Algorithm::ConsistentHash => {
                let key = lb.hash_key.clone().unwrap_or_default();
                LoadBalancer {
                    simple: None,
                    consistent_hash: Some(if key == "sourceIP" {
                        ConsistentHash {
                            http_header_name: None,
                            use_source_ip: Some(true),
                        }
                    } else {
                        ConsistentHash {
                            http_header_name: Some(key),
                            use_source_ip: None,
                        }
                    }),
                }
            }
            a => LoadBalancer {
                simple: Some(a.as_str()),
                consistent_hash: None,
            },
        });
        why.push("load balancer".into());
    }
    if let Some(cp) = &traffic.connection_pool {
        let http = (cp.http1_max_pending_requests.is_some() || cp.http2_max_requests.is_some())
            .then_some(HttpPool {
                http1_max_pending_requests: cp.http1_max_pending_requests,
                http2_max_requests: cp.http2_max_requests,
            });
        policy.connection_pool = Some(ConnectionPool {
            tcp: cp.max_connections.map(|n| TcpPool { max_connections: n }),
            http,
        });
        why.push("connection pool".into());
    }
    if let Some(cb) = &traffic.circuit_breaker {
        policy.outlier_detection = Some(OutlierDetection {
            consecutive_5xx_errors: cb.consecutive_errors,
            interval: cb.interval.clone(),
            base_ejection_time: cb.base_ejection_time.clone(),
            max_ejection_percent: cb.max_ejection_percent,
            // Istio's default is 0: five 5xx from a single pod eject it, and every caller
            // gets 503 until `baseEjectionTime` passes. Below this share of healthy hosts
            // the proxy balances over all of them again (Envoy's panic threshold).
            min_health_percent: cb.min_health_percent.unwrap_or(MIN_HEALTH_PERCENT),
        });
        why.push("circuit breaker".into());
    }
    let subsets: Vec<Subset> = traffic
        .canary
        .iter()
        .flat_map(|c| &c.subsets)
        .map(|(name, labels)| Subset {
            name: name.clone(),
            labels: labels.clone(),
        })
        .collect();
    if !subsets.is_empty() {
        why.push("canary subsets".into());
    }
    if why.is_empty() {
        return false;
    }
    let empty = policy.tls.is_none()
        && policy.load_balancer.is_none()
        && policy.connection_pool.is_none()
        && policy.outlier_detection.is_none();
    out.add(
        component,
        format!("{} for service {}", why.join(", "), service.name),
        Resource {
            api_version: plane.networking,
            kind: "DestinationRule",
            metadata: metadata(&service.name, service.namespace.as_deref(), component),
            spec: DestinationRule {
                host: service.host(),
                traffic_policy: (!empty).then_some(policy),
                subsets,
            },
        },
    );
    true
}

fn virtual_service(
    service: &Service,
    component: &str,
    traffic: &Traffic,
    plane: Plane,
    out: &mut Additions,
) {
    let host = service.host();
    let route = match &traffic.canary {
        Some(c) => c
            .weights
            .iter()
            .map(|(subset, weight)| RouteDestination {
                destination: Destination {
                    host: host.clone(),
                    subset: Some(subset.clone()),
                },
                weight: Some(*weight),
            })
            .collect(),
        None => vec![RouteDestination {
            destination: Destination {
                host: host.clone(),
                subset: None,
            },
            weight: None,
        }],
    };
    let fault = traffic.fault_injection.as_ref().map(|f| Fault {
        delay: f.delay.clone().map(|d| Delay {
            fixed_delay: d,
            percentage: Percent {
                value: f.percentage,
            },
        }),
        abort: f.abort.map(|s| Abort {
            http_status: s,
            percentage: Percent {
                value: f.percentage,
            },
        }),
    });
    let mut why = Vec::new();
    for (set, what) in [
        (traffic.retries.is_some(), "retries"),
        (traffic.timeout.is_some(), "timeout"),
        (traffic.fault_injection.is_some(), "fault injection"),
        (traffic.canary.is_some(), "canary weights"),
    ] {
        if set {
            why.push(what.to_string());
        }
    }
    let retries = traffic.retries.as_ref().map(|r| Retries {
        attempts: r.attempts,
        per_try_timeout: r.per_try_timeout.clone(),
        retry_on: r.retry_on.clone(),
    });
    // A/B routes first: Istio takes the first `http` entry that matches.
    let mut http: Vec<HttpRoute> = Vec::new();
    for ab in &traffic.ab_testing {
        why.push(format!("A/B: {} → subset {}", ab.describe(), ab.subset));
        http.push(HttpRoute {
            name: Some(dns_name(&format!("ab-{}", ab.subset))),
            matches: vec![ab_match(ab)],
            route: vec![RouteDestination {
                destination: Destination {
                    host: host.clone(),
                    subset: Some(ab.subset.clone()),
                },
                weight: None,
            }],
            retries: retries.clone(),
            timeout: traffic.timeout.clone(),
            fault: fault.clone(),
        });
    }
    http.push(HttpRoute {
        name: (!http.is_empty()).then(|| "default".to_string()),
        matches: Vec::new(),
        route,
        retries,
        timeout: traffic.timeout.clone(),
        fault,
    });
    out.add(
        component,
        format!("{} for service {}", why.join(", "), service.name),
        Resource {
            api_version: plane.networking,
            kind: "VirtualService",
            metadata: metadata(&service.name, service.namespace.as_deref(), component),
            spec: VirtualService {
                hosts: vec![host],
                http,
            },
        },
    );
}

/// An A/B route's conditions as one `http[].match` entry; its cookie (one, validated) is
/// a regular expression on the `cookie` header, which carries them all.
fn ab_match(ab: &crate::config::AbRoute) -> HttpMatch {
    let mut m = HttpMatch::default();
    for (k, v) in &ab.headers {
        m.headers.insert(k.clone(), StringMatch::Exact(v.clone()));
    }
    for (name, value) in &ab.cookies {
        let re = super::cookie_regex(name, value);
        m.headers.insert("cookie".into(), StringMatch::Regex(re));
    }
    for (k, v) in &ab.query_params {
        m.query_params
            .insert(k.clone(), StringMatch::Exact(v.clone()));
    }
    m
}

/// One ALLOW policy per flow and target workload, naming the callers' identities. Behind a
/// waypoint the destination sees the waypoint's identity, so callers are checked by a policy
/// on the Service (enforced by the waypoint) and the pods admit the waypoint
/// (<https://istio.io/latest/docs/ambient/usage/l4-policy/>).
fn authorization_policies(
    stack: &Stack,
    flows: &[Flow],
    default_deny: bool,
    waypointed: &[&Service],
    plane: Plane,
    out: &mut Additions,
) {
    let allow = |source: PrincipalSource| Rule {
        from: vec![From { source }],
        to: Vec::new(),
    };
    // Who a flow's source is to Istio: principals, or a namespace's every identity.
    let source = |from: &Source, ns: Option<&str>| -> PrincipalSource {
        let principals = match from {
            Source::Any => vec!["*".into()],
            Source::Namespace(ns) => {
                return PrincipalSource {
                    principals: Vec::new(),
                    namespaces: vec![ns.clone()],
                };
            }
            Source::OwnNamespace => {
                return PrincipalSource {
                    principals: Vec::new(),
                    namespaces: ns.map(str::to_string).into_iter().collect(),
                };
            }
            from => from
                .accounts(stack, ns)
                .into_iter()
                .map(|(ns, sa)| istio_principal(plane.trust_domain, ns.as_deref(), &sa))
                .collect(),
        };
        PrincipalSource {
            principals,
            namespaces: Vec::new(),
        }
    };
    let nobody = |s: &PrincipalSource| s.principals.is_empty() && s.namespaces.is_empty();
    // Workloads no policy allows anything to: like Linkerd's Servers with no authorization,
    // they admit nobody. Those some flow reaches, and with `defaultDeny` every workload
    // that serves: an ALLOW policy on each, not a namespace-wide `allow-nothing`, so that
    // other releases' and the namespace owner's workloads are left as they are
    // (<https://istio.io/latest/docs/reference/config/security/authorization-policy/>:
    // a workload with an ALLOW policy denies what none of them allows).
    let mut unreached: std::collections::BTreeMap<(Option<&str>, &str), &Member> = if default_deny {
        stack
            .servers()
            .filter(|m| !m.selector.is_empty())
            .map(|m| ((m.namespace.as_deref(), m.name.as_str()), m))
            .collect()
    } else {
        flows
            .iter()
            .flat_map(|f| {
                stack
                    .of(&f.to)
                    .filter(|m| m.serves && !m.selector.is_empty())
            })
            .map(|m| ((m.namespace.as_deref(), m.name.as_str()), m))
            .collect()
    };
    if default_deny {
        for m in stack.servers().filter(|m| m.selector.is_empty()) {
            out.warn(format!(
                "authorization.defaultDeny: {} has no matchLabels selector to choose its pods by, so no policy denies what it does not allow",
                m.name
            ));
        }
    }
    for flow in flows {
        let reason = format!("allow {}: {}", slug(&flow.from), flow.reason);
        let suffix = format!("from-{}", slug(&flow.from));
        // The callers of a namespace, worked out once for all its targets.
        let mut by_namespace: HashMap<Option<&str>, PrincipalSource> = HashMap::new();
        for target in stack.of(&flow.to).filter(|m| m.serves) {
            let ns = target.namespace.as_deref();
            let from = by_namespace
                .entry(ns)
                .or_insert_with(|| source(&flow.from, ns))
                .clone();
            if target.selector.is_empty() || nobody(&from) {
                continue;
            }
            unreached.remove(&(target.namespace.as_deref(), target.name.as_str()));
            let rules = vec![allow(from)];
            workload_policy(out, plane, target, &suffix, reason.clone(), rules);
        }
        for service in waypointed
            .iter()
            .filter(|s| s.component.as_deref() == Some(&flow.to))
        {
            let from = source(&flow.from, service.namespace.as_deref());
            if nobody(&from) {
                continue;
            }
            out.add(
                &flow.to,
                format!("{reason} (through the waypoint)"),
                Resource {
                    api_version: plane.security,
                    kind: "AuthorizationPolicy",
                    metadata: metadata(
                        &format!("{}-service-from-{}", service.name, slug(&flow.from)),
                        service.namespace.as_deref(),
                        &flow.to,
                    ),
                    spec: AuthorizationPolicy {
                        target_refs: vec![TargetRef {
                            group: "",
                            kind: "Service",
                            name: service.name.clone(),
                        }],
                        action: Some("ALLOW"),
                        rules: vec![allow(from)],
                        ..AuthorizationPolicy::default()
                    },
                },
            );
        }
    }
    for target in unreached.into_values() {
        let reason = "authorization: no flow reaches this workload, so nothing is allowed";
        workload_policy(
            out,
            plane,
            target,
            "allow-nothing",
            reason.into(),
            Vec::new(),
        );
    }
    for target in stack.servers() {
        if target.selector.is_empty()
            || !waypointed.iter().any(|s| {
                s.component.as_deref() == Some(&target.component) && s.namespace == target.namespace
            })
        {
            continue;
        }
        let waypoint = vec![allow(PrincipalSource {
            principals: vec![istio_principal(
                plane.trust_domain,
                target.namespace.as_deref(),
                "waypoint",
            )],
            namespaces: Vec::new(),
        })];
        let reason = "the waypoint forwards the Service's traffic";
        workload_policy(out, plane, target, "from-waypoint", reason.into(), waypoint);
    }
}

/// Ports that accept plaintext carry no identity: with authorization on, they are allowed
/// to anyone (NetworkPolicies, when generated, still limit who reaches them), or the
/// exception would be dead and the callers outside the mesh denied.
fn plaintext_ports(
    stack: &Stack,
    mtls: Option<&crate::config::Mtls>,
    openings: &Openings,
    plane: Plane,
    out: &mut Additions,
) {
    for (i, m) in stack.members.iter().enumerate().filter(|(_, m)| m.serves) {
        let ports = plaintext(m, mtls, openings.get(&i));
        if ports.is_empty() || m.selector.is_empty() {
            continue;
        }
        let list: Vec<String> = ports.iter().map(|(p, _)| p.to_string()).collect();
        let why: Vec<&str> = ports.iter().map(|(_, why)| why.as_str()).collect();
        let reason = format!(
            "anyone may reach port(s) {} without a mesh identity ({})",
            list.join(", "),
            why.join("; ")
        );
        let rules = vec![Rule {
            from: Vec::new(),
            to: vec![To {
                operation: Operation { ports: list },
            }],
        }];
        workload_policy(out, plane, m, "plaintext-ports", reason, rules);
    }
}

/// An ALLOW policy on one workload's pods, named `<workload>-<suffix>`.
fn workload_policy(
    out: &mut Additions,
    plane: Plane,
    m: &Member,
    suffix: &str,
    reason: String,
    rules: Vec<Rule>,
) {
    out.add(
        &m.component,
        reason,
        Resource {
            api_version: plane.security,
            kind: "AuthorizationPolicy",
            metadata: metadata(
                &format!("{}-{suffix}", m.slug),
                m.namespace.as_deref(),
                &m.component,
            ),
            spec: AuthorizationPolicy {
                selector: Some(Selector {
                    match_labels: m.selector.clone(),
                }),
                action: Some("ALLOW"),
                rules,
                ..AuthorizationPolicy::default()
            },
        },
    );
}
