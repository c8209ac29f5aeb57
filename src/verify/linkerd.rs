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
    let tcp_probe = matches!(flow.caller.party, Party::Kubelet)
        && flow.edge.probe_path.is_none()
        && flow
            .dest
            .probes_on(flow.port())
            .any(|p| p.kind == ProbeKind::Tcp);
    if tcp_probe {
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
    let probe = matches!(flow.caller.party, Party::Kubelet) && http;
    let Some(server) = server else {
        if probe && let Some(path) = &flow.edge.probe_path {
            match probe_route(flow, client, path) {
                Tri::Yes => {
                    return trace.pass(format!(
                        "LINKERD-PROBE-1: port {} has no Server, and the default probe route \
                         for GET {path} admits the kubelet from probeNetworks",
                        flow.port()
                    ));
                }
                Tri::Unknown(why) => return trace.unknown(why),
                Tri::No => {}
            }
        }
        return default_policy(flow, client, trace);
    };
    let routes = routes(flow, server);
    if probe
        && routes.is_empty()
        && let Some(path) = &flow.edge.probe_path
    {
        match probe_route(flow, client, path) {
            Tri::Yes => {
                return trace.pass(format!(
                    "LINKERD-PROBE-1: {} has no HTTPRoute, and the default probe route for \
                     GET {path} admits the kubelet from probeNetworks",
                    server.id()
                ));
            }
            Tri::Unknown(why) => return trace.unknown(why),
            Tri::No => {}
        }
    }
    let mut notes = Vec::new();
    let server_level = server_authorizations(flow, server, client, &mut notes);
    if http && !routes.is_empty() {
        return by_routes(flow, server, &routes, client, server_level, notes, trace);
    }
    let notes: String = notes.iter().map(|n| format!("; {n}")).collect();
    {
        let scope = if http {
            "no HTTPRoute, so a default route matches every request (LINKERD-RT-1)".to_string()
        } else {
            format!("{opaque_why}: only Server-level authorizations apply (LINKERD-SRV-3)")
        };
        return match decide(&server_level) {
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
        };
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
        .all(POLICY, "Server")
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
    over_ns(ns, candidates, |name| {
        let identity = format!("{sa}.{name}.{IDENTITY_SUFFIX}");
        let release = if ns.is_none() { name } else { RELEASE_TOKEN };
        Tri::of(patterns.iter().any(|p| {
            let p = p.replace(RELEASE_TOKEN, release);
            p == "*"
                || p.strip_prefix('*')
                    .is_some_and(|suffix| suffix.starts_with('.') && identity.ends_with(suffix))
                || p == identity
        }))
    })
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
