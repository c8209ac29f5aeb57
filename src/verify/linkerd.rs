//! Linkerd: the ports the proxy handles, the Server that covers a port and its
//! authorizations (AuthorizationPolicy with its authentications, legacy
//! ServerAuthorization, `accessPolicy`), HTTPRoutes, default policies and the default probe
//! route (LINKERD-*). https://linkerd.io/2-edge/reference/authorization-policy/

use super::cidr::{Block, Source, blocks};
use super::objects::{Ns, Object, PortRef, ProbeKind, ns_name, selects, strings};
use super::parties::{Dataplane, over_ns};
use super::{Flow, Trace, Tri, in_ports};
use crate::model::graph::Party;
use crate::yaml::Node;

const POLICY: &str = "policy.linkerd.io";
const GATEWAY: &str = "gateway.networking.k8s.io";
/// The proxy's inbound port, where meshed connections arrive (LINKERD-NP-1).
const INBOUND_PORT: u16 = 4143;
/// `<sa>.<ns>.` + this is a workload's identity (LINKERD-ID-1, with the default control
/// plane namespace and identity trust domain).
const IDENTITY_SUFFIX: &str = "serviceaccount.identity.linkerd.cluster.local";
/// Stands for the release namespace of unknown name inside an identity pattern.
const RELEASE_TOKEN: &str = "\u{1}release\u{1}";
/// The chart's `proxy.opaquePorts` (LINKERD-SKIP-4).
const DEFAULT_OPAQUE_PORTS: &str = "25,587,3306,4444,5432,6379,9300,11211";

/// LINKERD-NP-1: a meshed client's connection arrives on the proxy's inbound port 4143.
/// https://linkerd.io/2-edge/common-errors/network-policy/
pub fn wire_port(flow: &Flow) -> u16 {
    let meshed_to_meshed = !flow.udp()
        && flow.dest_plane == Dataplane::Linkerd
        && skipped(flow).is_none()
        && flow.caller.dataplane == Dataplane::Linkerd
        && outbound_skipped(flow) == Tri::No;
    if meshed_to_meshed {
        INBOUND_PORT
    } else {
        flow.port()
    }
}

/// Why the destination's proxy does not handle the port, if it does not: the proxy's own
/// ports and `proxyInit.ignoreInboundPorts` (LINKERD-SKIP-2), `skip-inbound-ports`
/// (LINKERD-SKIP-1). https://linkerd.io/2-edge/reference/iptables/#inbound-connections
fn skipped(flow: &Flow) -> Option<String> {
    let port = flow.port();
    if [4190, 4191, 4567, 4568].contains(&port) {
        return Some(format!("LINKERD-SKIP-2: port {port} is never proxied"));
    }
    flow.dest
        .annotations
        .get("config.linkerd.io/skip-inbound-ports")
        .filter(|list| in_ports(list, port))
        .map(|_| {
            format!(
                "LINKERD-SKIP-1: {} lists port {port} in skip-inbound-ports",
                flow.dest.label()
            )
        })
}

/// Whether a meshed caller's connection leaves without its proxy (`skip-outbound-ports`
/// naming every port it may dial for this flow: the pod's, or a Service's).
fn outbound_skipped(flow: &Flow) -> Tri {
    let Some(list) = flow
        .caller
        .pod
        .and_then(|p| p.annotations.get("config.linkerd.io/skip-outbound-ports"))
    else {
        return Tri::No;
    };
    let mut dialled = vec![flow.port()];
    if flow.edge.via.is_none() {
        for (_, ports) in flow.cluster.services_to(flow.dest, flow.port()) {
            dialled.extend(ports);
        }
    }
    match dialled.iter().filter(|p| in_ports(list, **p)).count() {
        0 => Tri::No,
        n if n == dialled.len() => Tri::Yes,
        _ => Tri::Unknown(format!(
            "skip-outbound-ports of {} lists some of the ports it may dial ({dialled:?})",
            flow.caller.label
        )),
    }
}

/// The client as the destination's proxy sees it.
struct Client {
    /// Its mTLS identity `(namespace, ServiceAccount)`, for a meshed client.
    identity: Option<(Ns, String)>,
    source: Source,
}

pub fn check(flow: &Flow, trace: &mut Trace) {
    if flow.udp() {
        trace.pass("Linkerd does not proxy UDP: only NetworkPolicy applies");
        return;
    }
    if flow.dest_plane != Dataplane::Linkerd {
        trace.pass(format!(
            "{} is not in the mesh: no Linkerd policy applies (Linkerd enforces policy only on \
             meshed pods)",
            flow.dest.label()
        ));
        return;
    }
    if let Some(why) = skipped(flow) {
        // LINKERD-SKIP-3: clients get no identity hint for a skipped port and connect in
        // plaintext, which reaches the application directly.
        trace.pass(format!(
            "{why}: it bypasses the proxy, and no Linkerd policy applies"
        ));
        return;
    }
    let meshed = match outbound_skipped(flow) {
        Tri::Unknown(why) => return trace.unknown(why),
        skipped => skipped == Tri::No && flow.caller.dataplane == Dataplane::Linkerd,
    };
    let client = Client {
        identity: if meshed {
            flow.caller.identity.clone()
        } else {
            None
        },
        source: flow.caller.source.clone(),
    };
    let mut sub = Trace::default();
    inbound(flow, &client, &mut sub);
    // A probe without a path is tcpSocket, HTTPS or gRPC: tcpSocket when the pod says so,
    // or possibly when the manifests show no probe on the port (an operator's pods).
    let mut probes = flow.dest.probes_on(flow.port()).peekable();
    let maybe_tcp = matches!(flow.caller.party, Party::Kubelet)
        && flow.edge.probe_path.is_none()
        && (probes.peek().is_none() || probes.any(|p| p.kind == ProbeKind::Tcp));
    if maybe_tcp {
        sub = sub.denial_unknown(
            "LINKERD-PROBE-1 (UNCONFIRMED): the proxy likely accepts a tcpSocket probe's \
             connection before applying policy",
        );
    }
    trace.append(sub);
}

fn inbound(flow: &Flow, client: &Client, trace: &mut Trace) {
    let server = match server(flow) {
        Ok(server) => server,
        Err(why) => return trace.unknown(why),
    };
    let (opaque, opaque_why) = opaque(flow, server);
    let http = flow.http() && !opaque;
    let routes = server.map(|s| routes(flow, s)).unwrap_or_default();
    // LINKERD-PROBE-1: the default probe route, on a port without a Server or on a Server
    // without routes, admits the kubelet's HTTP probes besides the other authorizations.
    let probe = match &flow.edge.probe_path {
        Some(path) if matches!(flow.caller.party, Party::Kubelet) && http && routes.is_empty() => {
            match probe_route(flow, client, path) {
                Tri::Yes => {
                    let covered = server.map_or_else(
                        || format!("port {} has no Server", flow.port()),
                        |s| format!("{} has no HTTPRoute", s.id()),
                    );
                    return trace.pass(format!(
                        "LINKERD-PROBE-1: {covered}, and the default probe route for GET \
                         {path} admits the kubelet from probeNetworks"
                    ));
                }
                other => other,
            }
        }
        _ => Tri::No,
    };
    let mut sub = Trace::default();
    match server {
        None => default_policy(flow, client, &mut sub),
        Some(server) => authorize(flow, client, server, &routes, (http, &opaque_why), &mut sub),
    }
    if let Tri::Unknown(why) = probe {
        sub = sub.denial_unknown(&why);
    }
    trace.append(sub);
}

/// A port a Server covers: its authorizations, through its routes for HTTP.
fn authorize(
    flow: &Flow,
    client: &Client,
    server: &Object,
    routes: &[&Object],
    (http, opaque_why): (bool, &str),
    trace: &mut Trace,
) {
    let mut notes = Vec::new();
    let server_level = server_authorizations(flow, server, client, &mut notes);
    if http && !routes.is_empty() {
        return by_routes(flow, server, routes, client, server_level, notes, trace);
    }
    let notes: String = notes.iter().map(|n| format!("; {n}")).collect();
    let scope = if http {
        "no HTTPRoute, so a default route matches every request (LINKERD-RT-1)".to_string()
    } else {
        format!("{opaque_why}: only Server-level authorizations apply (LINKERD-SRV-3)")
    };
    match decide(&server_level) {
        Tri::Yes => trace.pass(format!(
            "{} covers port {} ({scope}); {}{notes}",
            server.id(),
            flow.port(),
            first_yes(&server_level)
        )),
        Tri::Unknown(why) => trace.unknown(why),
        Tri::No => trace.deny(
            server.id(),
            format!(
                "LINKERD-SRV-2: {} covers port {} of {} ({scope}), and no authorization \
                 admits {} (accessPolicy defaults to deny){notes}",
                server.id(),
                flow.port(),
                flow.dest.label(),
                flow.caller.label
            ),
        ),
    }
}

/// LINKERD-RT-1: with HTTPRoutes on the Server, a request matching none is refused (404);
/// a matching route admits it if an authorization on the route or on the Server does.
fn by_routes(
    flow: &Flow,
    server: &Object,
    routes: &[&Object],
    client: &Client,
    server_level: Vec<(String, Tri)>,
    mut notes: Vec<String>,
    trace: &mut Trace,
) {
    let mut results = Vec::new();
    for route in routes {
        let matched = route_matches(route, flow.edge.probe_path.as_deref());
        if matched == Tri::No {
            continue;
        }
        let mut authzs = server_level.clone();
        for policy in policies(flow, |kind, group, name| {
            kind == route.kind && matches!(group, POLICY | GATEWAY) && name == route.name
        }) {
            match policy_admits(flow, policy, client) {
                Ok(admits) => authzs.push((policy.id(), admits)),
                Err(why) => notes.push(why),
            }
        }
        results.push((route, matched, decide(&authzs), authzs));
    }
    let notes: String = notes.iter().map(|n| format!("; {n}")).collect();
    let who = format!("{} on port {}", flow.caller.label, flow.port());
    if results.is_empty() {
        return trace.deny(
            server.id(),
            format!(
                "LINKERD-RT-1: no HTTPRoute of {} matches the request from {who} (404){notes}",
                server.id()
            ),
        );
    }
    if !results.iter().any(|(_, m, _, _)| *m == Tri::Yes) {
        return trace.unknown(format!(
            "LINKERD-RT-1: which HTTPRoute of {} matches depends on the requests' paths and \
             methods",
            server.id()
        ));
    }
    if results.iter().all(|(_, _, d, _)| *d == Tri::Yes) {
        let (route, _, _, authzs) = &results[0];
        return trace.pass(format!(
            "{} matches; {}{notes}",
            route.id(),
            first_yes(authzs)
        ));
    }
    if results.iter().all(|(_, _, d, _)| *d == Tri::No) {
        let (route, ..) = &results[0];
        return trace.deny(
            route.id(),
            format!(
                "LINKERD-RT-1: {} matches, and no authorization on it or on {} admits {who} \
                 (403){notes}",
                route.id(),
                server.id()
            ),
        );
    }
    let why = results
        .iter()
        .find_map(|(_, _, d, _)| match d {
            Tri::Unknown(why) => Some(why.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "the HTTPRoutes a request may match authorize it differently".into());
    trace.unknown(format!("LINKERD-RT-1: {why}"))
}

/// Yes if one authorization admits, else unknown if one may, else no.
fn decide(authzs: &[(String, Tri)]) -> Tri {
    Tri::any(authzs.iter().map(|(_, t)| t.clone()))
}

fn first_yes(authzs: &[(String, Tri)]) -> String {
    authzs
        .iter()
        .find(|(_, t)| *t == Tri::Yes)
        .map_or_else(String::new, |(by, _)| format!("{by} admits it"))
}

/// LINKERD-SRV-1: the Server in the pod's namespace whose `podSelector` selects the pod and
/// whose `port` is the port's number or the name of a TCP container port with that number.
/// Admission keeps Servers from overlapping: two that do make the outcome unknown.
fn server<'c, 'a>(flow: &'c Flow<'_, 'a>) -> Result<Option<&'c Object<'a>>, String> {
    let dest = flow.dest;
    let found: Vec<&Object> = flow
        .cluster
        .selecting(POLICY, "Server", &dest.labels)
        .filter(|s| s.namespace == dest.namespace)
        .filter(|s| {
            let spec = s.spec();
            let selected = spec
                .and_then(|s| s.get("podSelector"))
                .is_some_and(|sel| selects(sel, &dest.labels));
            let port = spec.and_then(|s| s.get("port")).and_then(PortRef::read);
            selected
                && port.is_some_and(|p| match p {
                    PortRef::Number(n) => n == flow.port(),
                    PortRef::Name(name) => {
                        let declared = dest.ports.iter().any(|c| {
                            c.number == flow.port()
                                && c.protocol == "TCP"
                                && c.name.as_deref() == Some(name.as_str())
                        });
                        declared || flow.port_name() == Some(name.as_str())
                    }
                })
        })
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [server] => Ok(Some(server)),
        [a, b, ..] => Err(format!(
            "LINKERD-SRV-1: {} and {} both cover port {} of {}; admission should have refused \
             one, and which one the proxy uses is not known",
            a.id(),
            b.id(),
            flow.port(),
            dest.label()
        )),
    }
}

/// Whether the port is opaque to the proxy (no protocol detection, LINKERD-SRV-3,
/// LINKERD-SKIP-4): the Server's `proxyProtocol` (`opaque`, `TLS`), else the
/// `config.linkerd.io/opaque-ports` of the pod (or its namespace), else the default opaque
/// ports; and why.
fn opaque(flow: &Flow, server: Option<&Object>) -> (bool, String) {
    let port = flow.port();
    let protocol = server
        .and_then(|s| s.spec())
        .and_then(|s| s.get("proxyProtocol"))
        .and_then(Node::scalar)
        .unwrap_or("unknown");
    if protocol != "unknown" {
        let opaque = matches!(protocol, "opaque" | "TLS");
        return (opaque, format!("its proxyProtocol is {protocol}"));
    }
    const OPAQUE: &str = "config.linkerd.io/opaque-ports";
    let (list, from) = match flow
        .dest
        .annotations
        .get(OPAQUE)
        .or(flow.dest_ns.annotations.get(OPAQUE))
    {
        Some(list) => (list.as_str(), OPAQUE),
        None => (DEFAULT_OPAQUE_PORTS, "the default opaque ports"),
    };
    if in_ports(list, port) {
        (true, format!("port {port} is opaque ({from})"))
    } else {
        (
            false,
            format!(
                "the traffic on port {port} is not HTTP ({:?})",
                flow.edge.protocol
            )
            .to_lowercase(),
        )
    }
}

/// The HTTPRoutes (either API group) and GRPCRoutes whose parent is the Server.
/// https://linkerd.io/2-edge/reference/httproute/#parentreference
fn routes<'c, 'a>(flow: &'c Flow<'_, 'a>, server: &Object) -> Vec<&'c Object<'a>> {
    flow.cluster
        .objects
        .iter()
        .filter(|o| {
            matches!(
                (o.group, o.kind),
                (POLICY | GATEWAY, "HTTPRoute") | (GATEWAY, "GRPCRoute")
            ) && o.namespace == server.namespace
        })
        .filter(|route| {
            route
                .spec()
                .and_then(|s| s.get("parentRefs"))
                .and_then(Node::items)
                .unwrap_or_default()
                .iter()
                .any(|parent| {
                    let field = |k: &str| parent.get(k).and_then(Node::scalar);
                    field("kind") == Some("Server")
                        && field("group") == Some(POLICY)
                        && field("name") == Some(server.name)
                        && field("namespace")
                            .is_none_or(|ns| Some(ns) == server.namespace.as_deref())
                })
        })
        .collect()
}

/// Whether a request matches a route: known for a probe's `GET <path>`, or when a rule
/// matches every request (no `matches`, or `PathPrefix /` alone).
fn route_matches(route: &Object, probe: Option<&str>) -> Tri {
    let rules = route
        .spec()
        .and_then(|s| s.get("rules"))
        .and_then(Node::items)
        .unwrap_or_default();
    if rules.is_empty() {
        return Tri::Yes;
    }
    Tri::any(rules.iter().map(|rule| {
        let matches = rule
            .get("matches")
            .and_then(Node::items)
            .unwrap_or_default();
        if matches.is_empty() {
            return Tri::Yes;
        }
        Tri::any(matches.iter().map(|m| one_match(route, m, probe)))
    }))
}

fn one_match(route: &Object, m: &Node, probe: Option<&str>) -> Tri {
    let depends = || {
        Tri::Unknown(format!(
            "whether a request matches {} depends on the request",
            route.id()
        ))
    };
    if route.kind == "GRPCRoute" || m.get("headers").is_some() || m.get("queryParams").is_some() {
        return depends();
    }
    let kind = m
        .at(&["path", "type"])
        .and_then(Node::scalar)
        .unwrap_or("PathPrefix");
    let value = m
        .at(&["path", "value"])
        .and_then(Node::scalar)
        .unwrap_or("/");
    let method = m.get("method").and_then(Node::scalar);
    let Some(path) = probe else {
        let everything = kind == "PathPrefix" && value == "/" && method.is_none();
        return if everything { Tri::Yes } else { depends() };
    };
    let path_ok = match kind {
        "Exact" => Tri::of(path == value),
        "PathPrefix" => {
            let prefix = value.trim_end_matches('/');
            Tri::of(
                prefix.is_empty()
                    || path == prefix
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/')),
            )
        }
        _ => depends(),
    };
    path_ok.and(|| Tri::of(method.is_none_or(|m| m == "GET")))
}

/// The AuthorizationPolicies of the destination's namespace whose `targetRef` passes.
fn policies<'c, 'a>(
    flow: &'c Flow<'_, 'a>,
    target: impl Fn(&str, &str, &str) -> bool,
) -> impl Iterator<Item = &'c Object<'a>> {
    flow.cluster
        .all(POLICY, "AuthorizationPolicy")
        .filter(move |p| p.namespace == flow.dest.namespace)
        .filter(move |p| {
            let field = |k: &str| {
                p.spec()
                    .and_then(|s| s.at(&["targetRef", k]))
                    .and_then(Node::scalar)
                    .unwrap_or("")
            };
            target(field("kind"), field("group"), field("name"))
        })
}

/// The Server-level authorizations (LINKERD-SRV-2, LINKERD-AP-1): AuthorizationPolicies
/// that target the Server or its namespace, legacy ServerAuthorizations, and the Server's
/// `accessPolicy` (default `deny`).
fn server_authorizations(
    flow: &Flow,
    server: &Object,
    client: &Client,
    notes: &mut Vec<String>,
) -> Vec<(String, Tri)> {
    let ns = ns_name(&server.namespace).to_string();
    let mut out = Vec::new();
    let targeted = policies(flow, |kind, group, name| {
        kind == "Server" && group == POLICY && name == server.name
            || kind == "Namespace" && matches!(group, "" | "core") && name == ns
    });
    for policy in targeted {
        match policy_admits(flow, policy, client) {
            Ok(admits) => out.push((policy.id(), admits)),
            Err(why) => notes.push(why),
        }
    }
    for authz in flow.cluster.all(POLICY, "ServerAuthorization") {
        if authz.namespace == server.namespace && server_authorization_selects(authz, server) {
            out.push((authz.id(), server_authorization_admits(authz, client)));
        }
    }
    let access = server
        .spec()
        .and_then(|s| s.get("accessPolicy"))
        .and_then(Node::scalar)
        .unwrap_or("deny");
    let admits = default_admits(access, flow, client);
    out.push((format!("its accessPolicy {access}"), admits));
    out
}

/// LINKERD-AP-2..4: an AuthorizationPolicy admits a client when every required
/// authentication does: at most one identity source (a MeshTLSAuthentication or a
/// ServiceAccount) and at most one NetworkAuthentication. A missing or illegal
/// authentication makes the policy authorize nothing (`Err` says why).
fn policy_admits(flow: &Flow, policy: &Object, client: &Client) -> Result<Tri, String> {
    let refs = policy
        .spec()
        .and_then(|s| s.get("requiredAuthenticationRefs"))
        .and_then(Node::items)
        .unwrap_or_default();
    if refs.is_empty() {
        return Ok(Tri::Unknown(format!(
            "LINKERD-AP-2 (UNCONFIRMED): {} has no requiredAuthenticationRefs, which the \
             policy controller reads as unauthenticated from anywhere, if admission accepts it",
            policy.id()
        )));
    }
    let mut identities: Vec<Vec<String>> = Vec::new();
    let mut networks: Vec<Vec<Block>> = Vec::new();
    for r in refs {
        let field = |k: &str| r.get(k).and_then(Node::scalar);
        let name = field("name").unwrap_or("");
        let ns: Ns = field("namespace")
            .map(str::to_string)
            .or_else(|| policy.namespace.clone());
        let missing = |kind: &str| {
            format!(
                "LINKERD-AP-2: {} is ignored: its {kind} {}/{name} is not in the output",
                policy.id(),
                ns_name(&ns)
            )
        };
        match field("kind").unwrap_or("") {
            "MeshTLSAuthentication" => {
                let authn = flow
                    .cluster
                    .find(POLICY, "MeshTLSAuthentication", &ns, name)
                    .ok_or_else(|| missing("MeshTLSAuthentication"))?;
                let patterns = mesh_tls_identities(authn);
                if patterns.is_empty() {
                    return Err(format!(
                        "LINKERD-AP-3: {} is ignored: {} names no identities",
                        policy.id(),
                        authn.id()
                    ));
                }
                identities.push(patterns);
            }
            "ServiceAccount" => identities.push(vec![service_account_identity(name, &ns)]),
            "NetworkAuthentication" => {
                let authn = flow
                    .cluster
                    .find(POLICY, "NetworkAuthentication", &ns, name)
                    .ok_or_else(|| missing("NetworkAuthentication"))?;
                networks.push(network_blocks(authn.spec().and_then(|s| s.get("networks"))));
            }
            other => {
                return Err(format!(
                    "LINKERD-AP-2: {} is ignored: it requires a {other}, which is not an \
                     authentication",
                    policy.id()
                ));
            }
        }
    }
    if identities.len() > 1 || networks.len() > 1 {
        return Err(format!(
            "LINKERD-AP-2: {} is ignored: it requires more than one identity or network \
             authentication",
            policy.id()
        ));
    }
    let identity = identities
        .first()
        .map_or(Tri::Yes, |patterns| identity_matches(patterns, client));
    Ok(identity.and(|| {
        networks
            .first()
            .map_or(Tri::Yes, |blocks| client.source.in_blocks(blocks))
    }))
}

/// `identities` and `identityRefs` (a ServiceAccount, its namespace defaulting to the
/// authentication's; a Namespace: every identity in it) of a MeshTLSAuthentication
/// (LINKERD-AP-3).
fn mesh_tls_identities(authn: &Object) -> Vec<String> {
    let spec = authn.spec();
    let mut out = strings(spec.and_then(|s| s.get("identities")));
    for r in spec
        .and_then(|s| s.get("identityRefs"))
        .and_then(Node::items)
        .unwrap_or_default()
    {
        let field = |k: &str| r.get(k).and_then(Node::scalar);
        let name = field("name").unwrap_or("");
        match field("kind") {
            Some("ServiceAccount") => {
                let ns = field("namespace")
                    .map(str::to_string)
                    .or_else(|| authn.namespace.clone());
                out.push(service_account_identity(name, &ns));
            }
            Some("Namespace") => out.push(format!("*.{name}.{IDENTITY_SUFFIX}")),
            _ => {}
        }
    }
    out
}

/// `<sa>.<ns>.serviceaccount.identity.linkerd.cluster.local` (LINKERD-ID-1).
fn service_account_identity(sa: &str, ns: &Ns) -> String {
    format!(
        "{sa}.{}.{IDENTITY_SUFFIX}",
        ns.as_deref().unwrap_or(RELEASE_TOKEN)
    )
}

/// `*` is any meshed client, `*.<suffix>` a suffix of dot-separated labels, anything else
/// exact; an unmeshed client never matches (LINKERD-AP-3).
fn identity_matches(patterns: &[String], client: &Client) -> Tri {
    let Some((ns, sa)) = &client.identity else {
        return Tri::No;
    };
    let candidates = patterns
        .iter()
        .filter_map(|p| p.split('.').nth(1))
        .filter(|c| *c != RELEASE_TOKEN)
        .map(str::to_string);
    // `release`: the name the release namespace stands for in the patterns.
    let test = |caller_ns: &str, release: &str| {
        let identity = format!("{sa}.{caller_ns}.{IDENTITY_SUFFIX}");
        patterns.iter().any(|p| {
            let p = p.replace(RELEASE_TOKEN, release);
            p == "*"
                || p.strip_prefix('*')
                    .is_some_and(|suffix| suffix.starts_with('.') && identity.ends_with(suffix))
                || p == identity
        })
    };
    match ns {
        // The patterns' release namespace might be the caller's.
        Some(name) if test(name, name) != test(name, RELEASE_TOKEN) => Tri::Unknown(format!(
            "it depends on whether the release namespace is `{name}`, and the release \
             namespace is not known (set it)"
        )),
        Some(name) => Tri::of(test(name, RELEASE_TOKEN)),
        None => over_ns(ns, candidates, |name| Tri::of(test(name, name))),
    }
}

/// `networks: [{cidr, except}]` of a NetworkAuthentication or ServerAuthorization
/// (LINKERD-AP-4).
fn network_blocks(networks: Option<&Node>) -> Vec<Block> {
    networks
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| {
            let cidr = n.get("cidr").and_then(Node::scalar)?;
            let except = strings(n.get("except"));
            let except: Vec<&str> = except.iter().map(String::as_str).collect();
            Block::new(cidr, &except)
        })
        .collect()
}

/// A ServerAuthorization's `server`: by name, or by a label selector over Servers.
fn server_authorization_selects(authz: &Object, server: &Object) -> bool {
    let spec = authz.spec();
    if let Some(name) = spec
        .and_then(|s| s.at(&["server", "name"]))
        .and_then(Node::scalar)
    {
        return name == server.name;
    }
    spec.and_then(|s| s.at(&["server", "selector"]))
        .is_some_and(|sel| selects(sel, &server.labels()))
}

/// LINKERD-ServerAuthorization: `client.unauthenticated`, or `client.meshTLS`
/// (`unauthenticatedTLS`, `identities`, `serviceAccounts`), within `client.networks`; without
/// `networks` the default is UNCONFIRMED ("all IPs or the cluster's pod network"), which
/// decides only for pod callers. https://linkerd.io/2-edge/reference/authorization-policy/#serverauthorization
fn server_authorization_admits(authz: &Object, client: &Client) -> Tri {
    let spec = authz.spec();
    let at = |path: &[&str]| spec.and_then(|s| s.at(path));
    let networks = match at(&["client", "networks"]) {
        Some(list) => client.source.in_blocks(&network_blocks(Some(list))),
        None if client.source == Source::Pod => Tri::Yes,
        None => Tri::Unknown(format!(
            "LINKERD-ServerAuthorization (UNCONFIRMED): {} sets no networks, and whether the \
             default is all IPs or the pod network is not confirmed",
            authz.id()
        )),
    };
    let yes = |path: &[&str]| at(path).and_then(Node::scalar) == Some("true");
    let identity = if yes(&["client", "unauthenticated"]) {
        Tri::Yes
    } else if yes(&["client", "meshTLS", "unauthenticatedTLS"]) {
        Tri::of(client.identity.is_some())
    } else {
        let mut patterns = strings(at(&["client", "meshTLS", "identities"]));
        for sa in at(&["client", "meshTLS", "serviceAccounts"])
            .and_then(Node::items)
            .unwrap_or_default()
        {
            let name = sa.get("name").and_then(Node::scalar).unwrap_or("");
            let ns = sa
                .get("namespace")
                .and_then(Node::scalar)
                .map(str::to_string)
                .or_else(|| authz.namespace.clone());
            patterns.push(service_account_identity(name, &ns));
        }
        identity_matches(&patterns, client)
    };
    networks.and(|| identity)
}

/// LINKERD-PROBE-1: the default probe route admits `GET <probe path>` from
/// `probeNetworks`.
fn probe_route(flow: &Flow, client: &Client, path: &str) -> Tri {
    match client
        .source
        .in_blocks(&blocks(&flow.settings.linkerd_probe_networks))
    {
        Tri::Unknown(why) => Tri::Unknown(format!(
            "LINKERD-PROBE-1: the probe route for GET {path} admits only probeNetworks, and {why}"
        )),
        t => t,
    }
}

/// LINKERD-DEF-1, LINKERD-DEF-2: on a port no Server covers, the default policy of the
/// pod's annotation, else its namespace's, else the install's; on ports listed in
/// `config.linkerd.io/proxy-require-identity-inbound-ports` only authenticated clients.
fn default_policy(flow: &Flow, client: &Client, trace: &mut Trace) {
    const KEY: &str = "config.linkerd.io/default-inbound-policy";
    let (policy, from) = match (
        flow.dest.annotations.get(KEY),
        flow.dest_ns.annotations.get(KEY),
    ) {
        (Some(p), _) => (p.clone(), format!("{} annotation {KEY}", flow.dest.id())),
        (None, Some(p)) => (
            p.clone(),
            format!(
                "Namespace {} annotation {KEY}",
                ns_name(&flow.dest.namespace)
            ),
        ),
        (None, None) => (
            flow.settings.linkerd_default_policy.clone(),
            "the cluster default (proxy.defaultInboundPolicy)".to_string(),
        ),
    };
    let require_identity = flow
        .dest
        .annotations
        .get("config.linkerd.io/proxy-require-identity-inbound-ports")
        .is_some_and(|list| in_ports(list, flow.port()));
    let policy = match policy.as_str() {
        "all-unauthenticated" | "audit" if require_identity => "all-authenticated".to_string(),
        "cluster-unauthenticated" if require_identity => "cluster-authenticated".to_string(),
        _ => policy,
    };
    match default_admits(&policy, flow, client) {
        Tri::Yes => trace.pass(format!(
            "LINKERD-DEF-1: no Server covers port {}; the default policy {policy} ({from}) admits \
             {}",
            flow.port(),
            flow.caller.label
        )),
        Tri::Unknown(why) => trace.unknown(format!(
            "LINKERD-DEF-3: the default policy {policy} ({from}): {why}"
        )),
        Tri::No => trace.deny(
            from,
            format!(
                "LINKERD-DEF-1: no Server covers port {} of {}, and the default policy {policy} \
                 does not admit {}",
                flow.port(),
                flow.dest.label(),
                flow.caller.label
            ),
        ),
    }
}

/// What a default policy (or `accessPolicy`) admits (LINKERD-DEF-1); the `cluster-*` ones
/// need the caller's address in `clusterNetworks`, which a pod's is (LINKERD-DEF-3).
fn default_admits(policy: &str, flow: &Flow, client: &Client) -> Tri {
    let in_cluster = || match client.source {
        Source::Pod => Tri::Yes,
        ref source => source.in_blocks(&blocks(&flow.settings.linkerd_cluster_networks)),
    };
    let authenticated = || Tri::of(client.identity.is_some());
    match policy {
        "all-unauthenticated" | "audit" => Tri::Yes,
        "all-authenticated" => authenticated(),
        "cluster-authenticated" => authenticated().and(in_cluster),
        "cluster-unauthenticated" => in_cluster(),
        "deny" => Tri::No,
        other => Tri::Unknown(format!("`{other}` is not a Linkerd default policy")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::model::graph::{Edge, Party, Protocol};

    const POLICY: &str = "policy.linkerd.io/v1beta3";
    const AP: &str = "policy.linkerd.io/v1alpha1";

    fn stack(extra: &[String]) -> String {
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: mon, annotations: {linkerd.io/inject: enabled}}\n"
            .to_string()
            + &deployment("mon", "webhook", "webhook", 9443, "")
            + &deployment("mon", "prometheus", "prometheus", 9090, "")
            + &deployment("mon", "grafana", "grafana", 3000, "")
            + &extra.concat()
    }

    fn server(name: &str, port: &str, extra: &str) -> String {
        object(
            POLICY,
            "Server",
            "mon",
            name,
            &format!("  podSelector: {{matchLabels: {{app: {name}}}}}\n  port: {port}\n{extra}"),
        )
    }

    /// An AuthorizationPolicy on a target `kind/name` requiring these authentications.
    fn authz(name: &str, target: &str, refs: &str) -> String {
        let (kind, target) = target.split_once('/').unwrap();
        let group = match kind {
            "Server" | "HTTPRoute" => "policy.linkerd.io",
            _ => "core",
        };
        object(
            AP,
            "AuthorizationPolicy",
            "mon",
            name,
            &format!(
                "  targetRef: {{group: {group}, kind: {kind}, name: {target}}}\n  requiredAuthenticationRefs: [{refs}]\n"
            ),
        )
    }

    fn mesh_tls(name: &str, identities: &str) -> String {
        object(
            AP,
            "MeshTLSAuthentication",
            "mon",
            name,
            &format!("  {identities}\n"),
        )
    }

    fn network(name: &str, networks: &str) -> String {
        object(
            AP,
            "NetworkAuthentication",
            "mon",
            name,
            &format!("  networks: [{networks}]\n"),
        )
    }

    fn grafana_to_prometheus() -> Edge {
        edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "prometheus"),
            9090,
        )
    }

    fn api_to_webhook() -> Edge {
        with_protocol(
            edge(
                Party::ApiServer,
                workload("Deployment", "mon", "webhook"),
                9443,
            ),
            Protocol::Tls,
        )
    }

    fn with_default(policy: &str) -> super::super::Settings {
        let mut s = linkerd();
        s.linkerd_default_policy = policy.into();
        s
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#default-policies
    #[test]
    fn linkerd_def_1_default_policies() {
        let yaml = stack(&[]);
        assert_allowed(&run(&yaml, api_to_webhook(), &linkerd()), "LINKERD-DEF-1");
        assert_allowed(
            &run(&yaml, api_to_webhook(), &with_default("audit")),
            "default policy audit",
        );
        assert_denied(
            &run(&yaml, api_to_webhook(), &with_default("deny")),
            "the cluster default",
            "LINKERD-DEF-1",
        );
        let authenticated = with_default("all-authenticated");
        assert_denied(
            &run(&yaml, api_to_webhook(), &authenticated),
            "the cluster default",
            "all-authenticated",
        );
        assert_allowed(
            &run(&yaml, grafana_to_prometheus(), &authenticated),
            "all-authenticated",
        );
    }

    /// https://linkerd.io/2-edge/features/server-policy/#default-policies
    #[test]
    fn linkerd_def_2_the_pod_annotation_beats_the_namespace_and_the_install() {
        let ns_deny = stack(&[]).replace(
            "annotations: {linkerd.io/inject: enabled}",
            "annotations: {linkerd.io/inject: enabled, config.linkerd.io/default-inbound-policy: deny}",
        );
        assert_denied(
            &run(&ns_deny, api_to_webhook(), &linkerd()),
            "Namespace mon annotation",
            "LINKERD-DEF-1",
        );
        let pod = ns_deny.clone()
            + &deployment(
                "mon",
                "open",
                "open",
                8443,
                "config.linkerd.io/default-inbound-policy: all-unauthenticated",
            );
        let e = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "open"),
            8443,
        );
        assert_allowed(&run(&pod, e, &linkerd()), "Deployment mon/open annotation");
        let identity = stack(&[deployment(
            "mon",
            "strict",
            "strict",
            8443,
            "config.linkerd.io/proxy-require-identity-inbound-ports: \"8443\"",
        )]);
        let e = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "strict"),
            8443,
        );
        assert_denied(
            &run(&identity, e, &linkerd()),
            "the cluster default",
            "all-authenticated",
        );
    }

    /// https://github.com/linkerd/linkerd2/blob/main/charts/linkerd-control-plane/values.yaml (clusterNetworks)
    #[test]
    fn linkerd_def_3_cluster_policies_need_the_callers_address() {
        let yaml = stack(&[]);
        let cluster = with_default("cluster-unauthenticated");
        assert_allowed(
            &run(&yaml, grafana_to_prometheus(), &cluster),
            "cluster-unauthenticated",
        );
        assert_unknown(&run(&yaml, api_to_webhook(), &cluster), "LINKERD-DEF-3");
        let mut known = cluster.clone();
        known.api_server_networks = Some(vec!["172.20.0.0/16".into()]);
        assert_allowed(
            &run(&yaml, api_to_webhook(), &known),
            "cluster-unauthenticated",
        );
        known.api_server_networks = Some(vec!["203.0.113.0/24".into()]);
        assert_denied(
            &run(&yaml, api_to_webhook(), &known),
            "the cluster default",
            "LINKERD-DEF-1",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#server
    #[test]
    fn linkerd_srv_1_a_server_selects_pods_and_a_port_by_number_or_name() {
        let named = stack(&[server("prometheus", "http", "")]);
        assert_denied(
            &run(&named, grafana_to_prometheus(), &linkerd()),
            "Server mon/prometheus",
            "LINKERD-SRV-2",
        );
        let other_port = stack(&[server("prometheus", "9091", "")]);
        assert_allowed(
            &run(&other_port, grafana_to_prometheus(), &linkerd()),
            "no Server covers port 9090",
        );
        let overlap = stack(&[
            server("prometheus", "9090", ""),
            object(
                POLICY,
                "Server",
                "mon",
                "prometheus-2",
                "  podSelector: {matchLabels: {app: prometheus}}\n  port: http\n",
            ),
        ]);
        assert_unknown(
            &run(&overlap, grafana_to_prometheus(), &linkerd()),
            "LINKERD-SRV-1",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#server
    #[test]
    fn linkerd_srv_2_a_server_denies_what_no_authorization_admits() {
        let deny = stack(&[server("prometheus", "9090", "")]);
        assert_denied(
            &run(&deny, grafana_to_prometheus(), &linkerd()),
            "Server mon/prometheus",
            "accessPolicy defaults to deny",
        );
        let open = stack(&[server(
            "prometheus",
            "9090",
            "  accessPolicy: all-authenticated\n",
        )]);
        assert_allowed(
            &run(&open, grafana_to_prometheus(), &linkerd()),
            "its accessPolicy all-authenticated admits it",
        );
    }

    /// https://linkerd.io/2-edge/features/protocol-detection/
    #[test]
    fn linkerd_srv_3_tls_ports_take_only_server_level_authorizations() {
        let route = object(
            "policy.linkerd.io/v1beta3",
            "HTTPRoute",
            "mon",
            "webhook",
            "  parentRefs: [{group: policy.linkerd.io, kind: Server, name: webhook}]\n  rules: [{}]\n",
        );
        let by_route = stack(&[
            server("webhook", "9443", "  proxyProtocol: TLS\n"),
            route,
            network("anywhere", "{cidr: 0.0.0.0/0}"),
            authz(
                "webhook-route",
                "HTTPRoute/webhook",
                "{group: policy.linkerd.io, kind: NetworkAuthentication, name: anywhere}",
            ),
        ]);
        assert_denied(
            &run(&by_route, api_to_webhook(), &linkerd()),
            "Server mon/webhook",
            "LINKERD-SRV-3",
        );
        let by_server = by_route
            + &authz(
                "webhook",
                "Server/webhook",
                "{group: policy.linkerd.io, kind: NetworkAuthentication, name: anywhere}",
            );
        assert_allowed(
            &run(&by_server, api_to_webhook(), &linkerd()),
            "AuthorizationPolicy mon/webhook admits it",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#targetref
    #[test]
    fn linkerd_ap_1_a_namespace_target_authorizes_every_server_but_no_default_port() {
        let yaml = stack(&[
            server("prometheus", "9090", ""),
            mesh_tls("meshed", "identities: [\"*\"]"),
            authz(
                "ns",
                "Namespace/mon",
                "{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: meshed}",
            ),
        ]);
        assert_allowed(
            &run(&yaml, grafana_to_prometheus(), &linkerd()),
            "AuthorizationPolicy mon/ns admits it",
        );
        let uncovered = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "webhook"),
            9443,
        );
        assert_denied(
            &run(&yaml, uncovered, &with_default("deny")),
            "the cluster default",
            "LINKERD-DEF-1",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#authorizationpolicy
    #[test]
    fn linkerd_ap_2_every_required_authentication_must_match() {
        let refs = "{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: grafana}, {group: policy.linkerd.io, kind: NetworkAuthentication, name: net}";
        let base = |net: &str| {
            stack(&[
                server("prometheus", "9090", ""),
                mesh_tls(
                    "grafana",
                    "identityRefs: [{kind: ServiceAccount, name: grafana}]",
                ),
                network("net", net),
                authz("both", "Server/prometheus", refs),
            ])
        };
        assert_allowed(
            &run(
                &base("{cidr: 0.0.0.0/0}"),
                grafana_to_prometheus(),
                &linkerd(),
            ),
            "mon/both admits it",
        );
        assert_unknown(
            &run(
                &base("{cidr: 10.0.0.0/8}"),
                grafana_to_prometheus(),
                &linkerd(),
            ),
            "pod IP",
        );
        let missing = stack(&[
            server("prometheus", "9090", ""),
            authz(
                "broken",
                "Server/prometheus",
                "{group: policy.linkerd.io, kind: NetworkAuthentication, name: nowhere}",
            ),
        ]);
        assert_denied(
            &run(&missing, grafana_to_prometheus(), &linkerd()),
            "Server mon/prometheus",
            "is not in the output",
        );
        let two = stack(&[
            server("prometheus", "9090", ""),
            mesh_tls("a", "identities: [\"*\"]"),
            authz(
                "two",
                "Server/prometheus",
                "{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: a}, {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: a}",
            ),
        ]);
        assert_denied(
            &run(&two, grafana_to_prometheus(), &linkerd()),
            "Server mon/prometheus",
            "more than one identity",
        );
        let empty = stack(&[
            server("prometheus", "9090", ""),
            authz("empty", "Server/prometheus", ""),
        ]);
        assert_unknown(
            &run(&empty, grafana_to_prometheus(), &linkerd()),
            "LINKERD-AP-2 (UNCONFIRMED)",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#meshtlsauthentication
    #[test]
    fn linkerd_ap_3_mesh_tls_identities_match_exactly_by_suffix_or_all() {
        let with = |identities: &str| {
            stack(&[
                server("prometheus", "9090", ""),
                mesh_tls("m", identities),
                authz(
                    "p",
                    "Server/prometheus",
                    "{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m}",
                ),
            ])
        };
        for yes in [
            "identities: [\"*\"]",
            "identities: [\"*.mon.serviceaccount.identity.linkerd.cluster.local\"]",
            "identityRefs: [{kind: ServiceAccount, name: grafana}]",
            "identityRefs: [{kind: Namespace, name: mon}]",
        ] {
            assert_allowed(
                &run(&with(yes), grafana_to_prometheus(), &linkerd()),
                "mon/p admits it",
            );
        }
        let no = with("identityRefs: [{kind: ServiceAccount, name: grafana, namespace: apps}]");
        assert_denied(
            &run(&no, grafana_to_prometheus(), &linkerd()),
            "Server mon/prometheus",
            "LINKERD-SRV-2",
        );
        // An unmeshed caller never matches, even `*`.
        let api = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        assert_denied(
            &run(&with("identities: [\"*\"]"), api, &linkerd()),
            "Server mon/prometheus",
            "LINKERD-SRV-2",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#networkauthentication
    #[test]
    fn linkerd_ap_4_a_network_authentication_admits_unmeshed_callers_by_address() {
        let with = |networks: &str| {
            stack(&[
                server("webhook", "9443", "  proxyProtocol: TLS\n"),
                network("api", networks),
                authz(
                    "api",
                    "Server/webhook",
                    "{group: policy.linkerd.io, kind: NetworkAuthentication, name: api}",
                ),
            ])
        };
        assert_allowed(
            &run(
                &with("{cidr: 0.0.0.0/0}, {cidr: \"::/0\"}"),
                api_to_webhook(),
                &linkerd(),
            ),
            "mon/api admits it",
        );
        assert_unknown(
            &run(&with("{cidr: 10.0.0.0/8}"), api_to_webhook(), &linkerd()),
            "kube-apiserver's source IP",
        );
        let mut known = linkerd();
        known.api_server_networks = Some(vec!["10.1.0.0/16".into()]);
        let except = with("{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}");
        assert_denied(
            &run(&except, api_to_webhook(), &known),
            "Server mon/webhook",
            "LINKERD-SRV-2",
        );
    }

    /// https://linkerd.io/2-edge/tasks/configuring-per-route-policy/
    #[test]
    fn linkerd_rt_1_with_routes_a_request_needs_a_matching_route_and_its_authorization() {
        let route = |matches: &str| {
            object(
                "gateway.networking.k8s.io/v1",
                "HTTPRoute",
                "mon",
                "api",
                &format!(
                    "  parentRefs: [{{group: policy.linkerd.io, kind: Server, name: prometheus}}]\n  rules: [{{matches: [{matches}]}}]\n"
                ),
            )
        };
        let base = |matches: &str| {
            stack(&[
                server("prometheus", "9090", ""),
                route(matches),
                mesh_tls(
                    "grafana",
                    "identityRefs: [{kind: ServiceAccount, name: grafana}]",
                ),
                authz(
                    "api",
                    "HTTPRoute/api",
                    "{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: grafana}",
                )
                .replace(
                    "group: policy.linkerd.io, kind: HTTPRoute",
                    "group: gateway.networking.k8s.io, kind: HTTPRoute",
                ),
            ])
        };
        let prefix = base("{path: {type: PathPrefix, value: /api}}");
        assert_unknown(
            &run(&prefix, grafana_to_prometheus(), &linkerd()),
            "LINKERD-RT-1",
        );
        let everything = base("{path: {type: PathPrefix, value: /}}");
        assert_allowed(
            &run(&everything, grafana_to_prometheus(), &linkerd()),
            "HTTPRoute mon/api matches",
        );
        // A probe: no route matches its path (404), and the default probe route is gone.
        let mut probe = edge(
            Party::Kubelet,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        probe.probe_path = Some("/-/ready".into());
        assert_denied(
            &run(&prefix, probe.clone(), &linkerd()),
            "Server mon/prometheus",
            "404",
        );
        assert_denied(
            &run(&everything, probe, &linkerd()),
            "HTTPRoute mon/api",
            "403",
        );
    }

    /// https://linkerd.io/2-edge/features/server-policy/#default-authorizations
    #[test]
    fn linkerd_probe_1_default_probe_routes_admit_http_probes() {
        let mut probe = edge(
            Party::Kubelet,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        probe.probe_path = Some("/-/healthy".into());
        let covered = stack(&[server("prometheus", "9090", "")]);
        assert_allowed(&run(&covered, probe.clone(), &linkerd()), "LINKERD-PROBE-1");
        assert_allowed(
            &run(&stack(&[]), probe.clone(), &with_default("deny")),
            "LINKERD-PROBE-1",
        );
        let mut narrow = linkerd();
        narrow.linkerd_probe_networks = vec!["10.0.0.0/8".into()];
        assert_unknown(&run(&covered, probe.clone(), &narrow), "probeNetworks");
        // Where the default policy admits the kubelet anyway, the probe route does not matter.
        assert_allowed(&run(&stack(&[]), probe, &narrow), "LINKERD-DEF-1");
        // tcpSocket probes: the proxy likely accepts them first (unconfirmed).
        let tcp = stack(&[server("prom", "9090", "")])
            + "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prom, namespace: mon}
spec:
  template:
    metadata: {labels: {app: prom}}
    spec: {containers: [{name: p, ports: [{containerPort: 9090}], livenessProbe: {tcpSocket: {port: 9090}}}]}
";
        let e = with_protocol(
            edge(Party::Kubelet, workload("Deployment", "mon", "prom"), 9090),
            Protocol::Tcp,
        );
        assert_unknown(&run(&tcp, e, &linkerd()), "LINKERD-PROBE-1 (UNCONFIRMED)");
    }

    /// https://linkerd.io/2-edge/reference/iptables/#inbound-connections
    #[test]
    fn linkerd_skip_1_skip_inbound_ports_bypass_the_proxy() {
        let yaml = stack(&[deployment(
            "mon",
            "hook",
            "hook",
            9443,
            "config.linkerd.io/skip-inbound-ports: \"9443\"",
        )]);
        let e = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "hook"),
            9443,
        );
        assert_allowed(&run(&yaml, e, &with_default("deny")), "LINKERD-SKIP-1");
    }

    /// https://github.com/linkerd/linkerd2/blob/main/charts/partials/templates/_proxy-init.tpl
    #[test]
    fn linkerd_skip_2_the_proxys_own_ports_are_never_proxied() {
        let e = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "prometheus"),
            4191,
        );
        assert_allowed(
            &run(&stack(&[]), e, &with_default("deny")),
            "LINKERD-SKIP-2",
        );
    }

    /// https://github.com/linkerd/linkerd2/blob/main/controller/api/destination/endpoint_translator.go
    #[test]
    fn linkerd_skip_3_meshed_clients_of_a_skipped_port_connect_in_plaintext() {
        let np = object(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            "mon",
            "np",
            "  podSelector: {}\n  ingress: [{ports: [{port: 9443}]}]\n",
        );
        let yaml = stack(&[
            deployment(
                "mon",
                "hook",
                "hook",
                9443,
                "config.linkerd.io/skip-inbound-ports: \"9443\"",
            ),
            np,
        ]);
        let e = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "hook"),
            9443,
        );
        let v = run(&yaml, e, &with_default("deny"));
        assert_allowed(&v, "on port 9443");
        assert_allowed(&v, "LINKERD-SKIP-1");
    }

    /// https://linkerd.io/2-edge/features/protocol-detection/#opaque-ports-annotation
    #[test]
    fn linkerd_skip_4_opaque_ports_keep_server_policy_without_routes() {
        let yaml = stack(&[
            deployment("mon", "cache", "cache", 11211, ""),
            server("cache", "11211", ""),
            object(
                "policy.linkerd.io/v1beta3",
                "HTTPRoute",
                "mon",
                "all",
                "  parentRefs: [{group: policy.linkerd.io, kind: Server, name: cache}]\n",
            ),
            mesh_tls("meshed", "identities: [\"*\"]"),
            authz(
                "route",
                "HTTPRoute/all",
                "{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: meshed}",
            ),
        ]);
        let e = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "cache"),
            11211,
        );
        assert_denied(
            &run(&yaml, e, &linkerd()),
            "Server mon/cache",
            "the default opaque ports",
        );
    }

    /// https://linkerd.io/2-edge/common-errors/network-policy/
    #[test]
    fn linkerd_np_1_meshed_connections_arrive_on_4143() {
        let np = |port: u16| {
            object(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "mon",
                "np",
                &format!(
                    "  podSelector: {{matchLabels: {{app: prometheus}}}}\n  ingress: [{{ports: [{{port: {port}}}]}}]\n"
                ),
            )
        };
        let v = run(&stack(&[np(9090)]), grafana_to_prometheus(), &linkerd());
        assert_denied(&v, "NetworkPolicy mon/np", "port 4143/TCP");
        assert_allowed(
            &run(&stack(&[np(4143)]), grafana_to_prometheus(), &linkerd()),
            "on port 4143",
        );
        let api = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        assert_allowed(&run(&stack(&[np(9090)]), api, &linkerd()), "on port 9090");
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#meshtlsauthentication-examples
    #[test]
    fn linkerd_id_1_an_identity_is_service_account_then_namespace() {
        let with = |identity: &str| {
            stack(&[
                server("prometheus", "9090", ""),
                mesh_tls("m", &format!("identities: [{identity}]")),
                authz(
                    "p",
                    "Server/prometheus",
                    "{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: m}",
                ),
            ])
        };
        let exact = with("grafana.mon.serviceaccount.identity.linkerd.cluster.local");
        assert_allowed(
            &run(&exact, grafana_to_prometheus(), &linkerd()),
            "mon/p admits it",
        );
        let swapped = with("mon.grafana.serviceaccount.identity.linkerd.cluster.local");
        assert_denied(
            &run(&swapped, grafana_to_prometheus(), &linkerd()),
            "Server mon/prometheus",
            "LINKERD-SRV-2",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#serverauthorization
    #[test]
    fn linkerd_serverauthorization_legacy_authorizations_are_server_level() {
        let legacy = |client: &str| {
            stack(&[
                server("webhook", "9443", ""),
                object(
                    "policy.linkerd.io/v1beta1",
                    "ServerAuthorization",
                    "mon",
                    "legacy",
                    &format!("  server: {{name: webhook}}\n  client: {client}\n"),
                ),
            ])
        };
        let meshed = legacy("{meshTLS: {serviceAccounts: [{name: grafana}]}}");
        let e = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "webhook"),
            9443,
        );
        assert_allowed(
            &run(&meshed, e, &linkerd()),
            "ServerAuthorization mon/legacy admits it",
        );
        let open = legacy("{unauthenticated: true}");
        assert_unknown(
            &run(&open, api_to_webhook(), &linkerd()),
            "LINKERD-ServerAuthorization (UNCONFIRMED)",
        );
        let anywhere = legacy("{unauthenticated: true, networks: [{cidr: 0.0.0.0/0}]}");
        assert_allowed(
            &run(&anywhere, api_to_webhook(), &linkerd()),
            "ServerAuthorization mon/legacy admits it",
        );
    }

    /// https://linkerd.io/2-edge/reference/authorization-policy/#meshtlsauthentication
    #[test]
    fn identities_in_the_release_namespace_of_unknown_name() {
        let yaml = |grafana_ns: &str| {
            format!(
                "---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: grafana{grafana_ns}}}
spec: {{template: {{metadata: {{labels: {{app: grafana}}, annotations: {{linkerd.io/inject: enabled}}}}, spec: {{serviceAccountName: grafana, containers: [{{name: g}}]}}}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: prometheus}}
spec: {{template: {{metadata: {{labels: {{app: prometheus}}, annotations: {{linkerd.io/inject: enabled}}}}, spec: {{containers: [{{name: p, ports: [{{containerPort: 9090}}]}}]}}}}}}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {{name: prometheus}}
spec: {{podSelector: {{matchLabels: {{app: prometheus}}}}, port: 9090}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {{name: grafana}}
spec: {{identityRefs: [{{kind: ServiceAccount, name: grafana}}]}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {{name: grafana}}
spec:
  targetRef: {{group: policy.linkerd.io, kind: Server, name: prometheus}}
  requiredAuthenticationRefs: [{{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: grafana}}]
"
            )
        };
        let to = Party::Workload {
            kind: "Deployment".into(),
            namespace: None,
            name: "prometheus".into(),
        };
        let from = |namespace: Option<&str>| Party::Workload {
            kind: "Deployment".into(),
            namespace: namespace.map(str::to_string),
            name: "grafana".into(),
        };
        let same = edge(from(None), to.clone(), 9090);
        assert_allowed(
            &run(&yaml(""), same, &linkerd()),
            "AuthorizationPolicy the release namespace/grafana admits it",
        );
        let named = edge(from(Some("mon")), to, 9090);
        assert_unknown(
            &run(&yaml(", namespace: mon"), named, &linkerd()),
            "release namespace is `mon`",
        );
    }
}
