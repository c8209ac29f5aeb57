//! Istio, sidecar and ambient: inbound capture, what the client sends (auto mTLS,
//! DestinationRule, outbound bypass, Prometheus's exported certificates), probes,
//! PeerAuthentication, waypoints; AuthorizationPolicy is in `authz`.

use super::authz::{self, Waypoint, describe_waypoint};
use super::cidr::{Block, blocks};
use super::objects::{Ns, Object, Pod, ProbeKind, Service, string_map, strings};
use super::parties::{Dataplane, over_ns, same_ns};
use super::{Flow, Trace, Tri, in_ports};
use crate::model::graph::{Found, Party, Protocol, Via};
use crate::yaml::{Limits, Node};

const SECURITY: &str = "security.istio.io";
const NETWORKING: &str = "networking.istio.io";

/// The port an Istio connection arrives on: 15008 (HBONE) between an ambient end and an
/// in-mesh end (K8S-NP-9, ISTIO-AMB-6), else the target port (sidecar to sidecar: the
/// redirect happens inside the destination pod; K8S-NP-9, UNCONFIRMED by an explicit doc
/// sentence but implied by the iptables design).
pub fn wire_port(flow: &Flow) -> u16 {
    let dest_ambient = flow.dest_plane == Dataplane::IstioAmbient && !bypasses_inbound(flow.dest);
    let hbone = !flow.udp()
        && match flow.caller.dataplane {
            Dataplane::IstioAmbient => dest_ambient || flow.dest_plane == Dataplane::IstioSidecar,
            Dataplane::IstioSidecar => dest_ambient && matches!(outbound(flow), Outbound::Captured),
            _ => false,
        };
    if hbone { 15008 } else { flow.port() }
}

pub fn check(flow: &Flow, trace: &mut Trace) {
    if flow.udp() {
        trace.pass("Istio does not proxy UDP: only NetworkPolicy applies");
        return;
    }
    match flow.dest_plane {
        Dataplane::IstioSidecar => sidecar(flow, trace),
        Dataplane::IstioAmbient => ambient(flow, trace),
        _ => outside(flow, trace),
    }
}

/// A destination without a sidecar or ztunnel: no Istio policy applies, but a client that
/// still sends Istio mTLS breaks (ISTIO-MTLS-2, ISTIO-PROM-1).
fn outside(flow: &Flow, trace: &mut Trace) {
    match sent(flow) {
        Err(why) => trace.unknown(why),
        Ok((Sent::Mtls { by_app }, why)) if !(by_app && flow.edge.protocol == Protocol::Tls) => {
            let id = if by_app {
                "ISTIO-PROM-1"
            } else {
                "ISTIO-MTLS-2"
            };
            trace.deny(
                flow.dest.id(),
                format!(
                    "{id}: {} ({why}), but {} has no Istio proxy to terminate it",
                    flow.describe(),
                    flow.dest.label()
                ),
            );
        }
        Ok(_) => trace.pass(format!(
            "{} is not in the mesh: no Istio policy applies",
            flow.dest.label()
        )),
    }
}

/// Sidecar mode, in the order of the specification (§0): probes, capture, client
/// transport, PeerAuthentication, AuthorizationPolicy.
fn sidecar(flow: &Flow, trace: &mut Trace) {
    let port = flow.port();
    let kubelet = matches!(flow.caller.party, Party::Kubelet);
    if kubelet && let Some(by) = probe_rewritten(flow) {
        trace.pass(by);
        return;
    }
    let (captured, capture) = inbound_capture(flow.dest, port);
    let (sent, why) = match sent(flow) {
        Ok(sent) => sent,
        Err(why) => return trace.unknown(why),
    };
    if !captured {
        match sent {
            Sent::Mtls { by_app } if !(by_app && flow.edge.protocol == Protocol::Tls) => trace
                .deny(
                    flow.dest.id(),
                    format!(
                        "ISTIO-MTLS-3: port {port} is not captured ({capture}), but {why}: the \
                         application gets a TLS handshake it cannot terminate; a \
                         DestinationRule with tls.mode DISABLE for the host fixes it"
                    ),
                ),
            _ => trace.pass(format!(
                "{capture}, so no PeerAuthentication or AuthorizationPolicy applies \
                 (ISTIO-CAP-3); {why}"
            )),
        }
        return;
    }
    if kubelet {
        match probe_kind(flow) {
            Some((ProbeKind::Tcp, container)) => {
                trace.pass(format!(
                    "ISTIO-PROBE-2: the tcpSocket probe of container `{container}` is not \
                     rewritten, and the sidecar accepts its connection itself"
                ));
                return;
            }
            Some((ProbeKind::Http, _)) => {}
            other => {
                let what = match other {
                    Some((kind, container)) => {
                        format!("the {kind:?} probe of container `{container}`")
                    }
                    None => format!("a probe on port {port} the manifests do not show"),
                };
                let mut sub = Trace::default();
                peer_and_authz(flow, &sent, &why, &mut sub);
                trace.append(sub.denial_unknown(&format!(
                    "ISTIO-PROBE-2 (UNCONFIRMED): {what} goes to the sidecar unrewritten, and \
                     whether gRPC and HTTPS probes survive that is not confirmed"
                )));
                return;
            }
        }
    }
    peer_and_authz(flow, &sent, &why, trace);
}

/// PeerAuthentication then AuthorizationPolicy at a sidecar (ISTIO-PA-5, ISTIO-AZ-*).
fn peer_and_authz(flow: &Flow, sent: &Sent, why: &str, trace: &mut Trace) {
    let mode = match peer_mode(flow, true, false) {
        Ok(mode) => mode,
        Err(why) => return trace.unknown(why),
    };
    let mtls = matches!(sent, Sent::Mtls { .. });
    match mode.mode {
        Mode::Strict if !mtls => {
            return trace.deny(
                mode.resource,
                format!(
                    "ISTIO-PA-5: STRICT rejects {} from {}",
                    plaintext(flow),
                    flow.caller.label
                ),
            );
        }
        Mode::Disable if mtls => {
            return trace.unknown(format!(
                "{} sends Istio mTLS ({why}) to a port whose mode is DISABLE ({}): clients \
                 ignore workload-level PeerAuthentication (ISTIO-MTLS-1), and the sidecar's \
                 plaintext filter chain does not terminate it",
                flow.caller.label, mode.by
            ));
        }
        _ => trace.pass(format!("{}; {why}", mode.by)),
    }
    let peer = if mtls {
        flow.caller.identity.clone()
    } else {
        None
    };
    authz::sidecar(flow, peer, trace);
}

fn plaintext(flow: &Flow) -> &'static str {
    if flow.edge.protocol == Protocol::Tls {
        "plaintext (its own TLS is not Istio mTLS)"
    } else {
        "plaintext"
    }
}

/// Ambient mode: ztunnel on the destination's node (ISTIO-AMB-*).
fn ambient(flow: &Flow, trace: &mut Trace) {
    if flow.caller.node_local == Tri::Yes {
        trace.pass(
            "ISTIO-AMB-2: node-local traffic (the kubelet's probes) is SNATed to 169.254.7.127 \
             and bypasses ztunnel",
        );
        return;
    }
    if bypasses_inbound(flow.dest) {
        trace.pass(format!(
            "ISTIO-AMB-3: {} sets ambient.istio.io/bypass-inbound-capture: ztunnel applies no \
             inbound policy",
            flow.dest.label()
        ));
        return;
    }
    let mut sub = Trace::default();
    ztunnel(flow, &mut sub);
    if let Tri::Unknown(why) = &flow.caller.node_local {
        sub = sub.denial_unknown(&format!(
            "ISTIO-AMB-2: {why}, and node-local traffic bypasses ztunnel"
        ));
    }
    trace.append(sub);
}

fn ztunnel(flow: &Flow, trace: &mut Trace) {
    let (sent, why) = match sent(flow) {
        Ok(sent) => sent,
        Err(why) => return trace.unknown(why),
    };
    // ztunnel captures the application port: TLS the caller makes itself (ISTIO-PROM-1) is
    // plaintext to it; only HBONE carries an identity.
    let mtls = matches!(sent, Sent::Mtls { by_app: false });
    let paths = waypoints(flow);
    let mode = match peer_mode(flow, true, true) {
        Ok(mode) => mode,
        Err(why) => return trace.unknown(why),
    };
    if mode.mode == Mode::Strict && !mtls {
        return trace.deny(
            mode.resource,
            format!(
                "ISTIO-AMB-1: STRICT: ztunnel rejects {} from {}",
                plaintext(flow),
                flow.caller.label
            ),
        );
    }
    trace.pass(format!("{}; {why}", mode.by));
    if let [path] = paths.as_slice() {
        return through(flow, path.as_ref(), mtls, trace);
    }
    // The Services that reach the port name different waypoints, and which one the caller
    // addresses is not in the manifests: every path must agree.
    let outcomes: Vec<(String, Trace)> = paths
        .iter()
        .map(|path| {
            let mut sub = Trace::default();
            through(flow, path.as_ref(), mtls, &mut sub);
            let name = path
                .as_ref()
                .map_or_else(|| "no waypoint".to_string(), describe_waypoint);
            (name, sub)
        })
        .collect();
    if outcomes.iter().all(|(_, t)| t.denied.is_some()) {
        let (_, first) = outcomes.into_iter().next().expect("two paths or more");
        return trace.append(first);
    }
    if outcomes
        .iter()
        .all(|(_, t)| t.denied.is_none() && t.unknown.is_none())
    {
        for (name, sub) in outcomes {
            trace.pass(format!(
                "ISTIO-AMB-6: through {name} (the Services that reach {} differ): {}",
                flow.dest.label(),
                sub.by.join("; ")
            ));
        }
        return;
    }
    let each: Vec<String> = outcomes
        .iter()
        .map(|(name, t)| match (&t.denied, &t.unknown) {
            (Some((resource, rule)), _) => format!("through {name} denied by {resource}: {rule}"),
            (None, Some(why)) => format!("through {name} unknown: {why}"),
            (None, None) => format!("through {name} allowed"),
        })
        .collect();
    trace.unknown(format!(
        "ISTIO-AMB-6: the Services that reach {} use different waypoints, and the caller may          address any of them: {}",
        flow.dest.label(),
        each.join("; ")
    ));
}

/// The rest of ztunnel's inbound path, through `waypoint` or straight to the pod.
fn through(flow: &Flow, waypoint: Option<&Waypoint>, mtls: bool, trace: &mut Trace) {
    match waypoint {
        // "workloads outside the mesh know nothing about waypoint proxies therefore they send
        // requests directly to the destination without going through any waypoint proxy":
        // the destination's ztunnel alone applies its policies, with no peer identity.
        // https://istio.io/latest/docs/ambient/architecture/data-plane/#inbound
        Some(waypoint) if !mtls => {
            trace.pass(format!(
                "ISTIO-AMB-6: {} from outside the mesh does not go through {}",
                plaintext(flow),
                describe_waypoint(waypoint)
            ));
            authz::ztunnel(flow, None, false, trace);
        }
        Some(waypoint) => {
            authz::waypoint(flow, waypoint, flow.caller.identity.clone(), trace);
            if !trace.denied() {
                // ISTIO-AMB-6: the destination's ztunnel sees the waypoint's identity, its
                // ServiceAccount named after it (the docs' `cluster.local/ns/default/sa/waypoint`).
                let identity = Some((waypoint.namespace.clone(), waypoint.name.clone()));
                authz::ztunnel(flow, identity, true, trace);
            }
        }
        None => {
            let peer = if mtls {
                flow.caller.identity.clone()
            } else {
                None
            };
            authz::ztunnel(flow, peer, false, trace);
        }
    }
}

/// ISTIO-AMB-3: `ambient.istio.io/bypass-inbound-capture` leaves inbound traffic to the
/// application. https://istio.io/latest/docs/reference/config/annotations/#AmbientBypassInboundCapture
fn bypasses_inbound(pod: &Pod) -> bool {
    pod.annotations
        .get("ambient.istio.io/bypass-inbound-capture")
        .is_some_and(|v| v != "false")
}

/// ISTIO-PROBE-1: with probe rewriting on (the install default) and not turned off on the
/// pod, httpGet, tcpSocket and gRPC probes go to the sidecar agent on 15020, which is never
/// captured. https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/
fn probe_rewritten(flow: &Flow) -> Option<String> {
    let off = flow
        .dest
        .annotations
        .get("sidecar.istio.io/rewriteAppHTTPProbers")
        .is_some_and(|v| v == "false");
    (flow.settings.istio_probe_rewrite && !off).then(|| {
        let of = probe_kind(flow).map_or(String::new(), |(_, c)| format!(" of container `{c}`"));
        format!(
            "ISTIO-PROBE-1: the kubelet's probe{of} is rewritten to the sidecar agent on port \
             15020, which is never captured"
        )
    })
}

/// The probe the kubelet sends on the edge's port: httpGet over HTTP when the edge has a
/// path, else the pod's own probe on that port (`None` when the manifests show none).
fn probe_kind(flow: &Flow) -> Option<(ProbeKind, String)> {
    let mut probes = flow.dest.probes_on(flow.port());
    if flow.edge.probe_path.is_some() {
        let container = probes
            .find(|p| p.kind == ProbeKind::Http)
            .map_or_else(|| "?".to_string(), |p| p.container.clone());
        return Some((ProbeKind::Http, container));
    }
    probes
        .find(|p| p.kind != ProbeKind::Http)
        .map(|p| (p.kind, p.container.clone()))
}

/// The sidecar's own status, merged-metrics and readiness ports, never captured
/// (ISTIO-CAP-2: the injection template's `-d 15090,15021,<status port>`).
fn always_excluded(pod: &Pod) -> [u16; 3] {
    let status = pod
        .annotations
        .get("status.sidecar.istio.io/port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(15020);
    [15090, 15021, status]
}

/// A value of the pod's `proxy.istio.io/config` annotation, under `proxyMetadata`.
fn proxy_metadata(pod: &Pod, key: &str) -> Option<String> {
    let config = pod.annotations.get("proxy.istio.io/config")?;
    let node = crate::yaml::parse(config, Limits::default()).ok()??;
    node.at(&["proxyMetadata", key])
        .and_then(Node::scalar)
        .map(str::to_string)
}

/// Whether the sidecar captures inbound `port`, and why (ISTIO-CAP-1, ISTIO-CAP-2).
/// https://istio.io/latest/docs/reference/config/annotations/#SidecarTrafficIncludeInboundPorts
fn inbound_capture(pod: &Pod, port: u16) -> (bool, String) {
    if always_excluded(pod).contains(&port) {
        return (
            false,
            format!("ISTIO-CAP-2: port {port} is one of the sidecar's own ports"),
        );
    }
    // The Prometheus sample's `INBOUND_CAPTURE_PORTS` stands for includeInboundPorts.
    let include = pod
        .annotations
        .get("traffic.sidecar.istio.io/includeInboundPorts")
        .cloned()
        .or_else(|| proxy_metadata(pod, "INBOUND_CAPTURE_PORTS"))
        .unwrap_or_else(|| "*".into());
    let include = include.trim();
    if include.is_empty() {
        return (
            false,
            format!(
                "ISTIO-CAP-1: includeInboundPorts of {} is empty: no inbound port is captured",
                pod.label()
            ),
        );
    }
    if include != "*" {
        let listed = in_ports(include, port);
        let verb = if listed { "lists" } else { "does not list" };
        return (
            listed,
            format!("ISTIO-CAP-1: includeInboundPorts {verb} port {port}"),
        );
    }
    let excluded = pod
        .annotations
        .get("traffic.sidecar.istio.io/excludeInboundPorts")
        .is_some_and(|list| in_ports(list, port));
    if excluded {
        (
            false,
            format!(
                "ISTIO-CAP-2: excludeInboundPorts of {} lists port {port}",
                pod.label()
            ),
        )
    } else {
        (true, format!("ISTIO-CAP-1: port {port} is captured"))
    }
}

/// Whether a sidecar caller's outbound connection to the destination goes through its
/// Envoy (ISTIO-CAP-4).
enum Outbound {
    Captured,
    Bypassed(String),
    Unknown(String),
}

/// ISTIO-CAP-4. https://istio.io/latest/docs/reference/config/annotations/#SidecarTrafficIncludeOutboundIPRanges
fn outbound(flow: &Flow) -> Outbound {
    let Some(pod) = flow.caller.pod else {
        return Outbound::Captured;
    };
    let annotation = |key: &str| pod.annotations.get(key).map(|v| v.trim().to_string());
    let covers_all = |list: &str| -> bool {
        let cidrs: Vec<String> = list.split(',').map(|c| c.trim().to_string()).collect();
        blocks(&cidrs).iter().any(Block::is_everything)
    };
    match annotation("traffic.sidecar.istio.io/includeOutboundIPRanges").as_deref() {
        Some("") => {
            return Outbound::Bypassed(format!(
                "ISTIO-CAP-4: includeOutboundIPRanges of {} is empty: its outbound traffic \
                 leaves without Envoy",
                pod.label()
            ));
        }
        None | Some("*") => {}
        Some(list) if covers_all(list) => {}
        Some(list) => {
            return Outbound::Unknown(format!(
                "ISTIO-CAP-4: {} captures outbound traffic only to {list}, and the \
                 destination's IP is not known",
                pod.label()
            ));
        }
    }
    match annotation("traffic.sidecar.istio.io/excludeOutboundIPRanges").as_deref() {
        None | Some("") => {}
        Some(list) if covers_all(list) => {
            return Outbound::Bypassed(format!(
                "ISTIO-CAP-4: excludeOutboundIPRanges of {} covers every address",
                pod.label()
            ));
        }
        Some(list) => {
            return Outbound::Unknown(format!(
                "ISTIO-CAP-4: {} excludes {list} from outbound capture, and the destination's \
                 IP is not known",
                pod.label()
            ));
        }
    }
    let Some(excluded) = annotation("traffic.sidecar.istio.io/excludeOutboundPorts") else {
        return Outbound::Captured;
    };
    // A scraper (`via`) connects to the pod; other callers may use a Service port.
    let mut dialled = vec![flow.port()];
    if flow.edge.via.is_none() {
        for (_, ports) in flow.cluster.services_to(flow.dest, flow.port()) {
            dialled.extend(ports);
        }
    }
    let hits = dialled.iter().filter(|p| in_ports(&excluded, **p)).count();
    match hits {
        0 => Outbound::Captured,
        n if n == dialled.len() => Outbound::Bypassed(format!(
            "ISTIO-CAP-4: excludeOutboundPorts of {} lists port {}",
            pod.label(),
            flow.port()
        )),
        _ => Outbound::Unknown(format!(
            "ISTIO-CAP-4: excludeOutboundPorts of {} lists some of the ports it may dial for \
             this flow ({dialled:?})",
            pod.label()
        )),
    }
}

/// What the client sends, as the server's proxy sees it.
enum Sent {
    /// Istio mTLS: by the caller's Envoy or ztunnel, or (`by_app`, ISTIO-PROM-1) by the
    /// application itself with the certificate its sidecar writes out.
    Mtls { by_app: bool },
    /// Plaintext, or TLS that is not Istio's (the application's own, a DestinationRule
    /// `SIMPLE`/`MUTUAL`).
    Other,
}

/// What the client sends, and why (ISTIO-MTLS-1, ISTIO-MTLS-2, ISTIO-CAP-4, ISTIO-PROM-1).
fn sent(flow: &Flow) -> Result<(Sent, String), String> {
    let caller = &flow.caller;
    let in_mesh = matches!(
        flow.dest_plane,
        Dataplane::IstioSidecar | Dataplane::IstioAmbient
    );
    match caller.dataplane {
        Dataplane::IstioAmbient if in_mesh => Ok((
            Sent::Mtls { by_app: false },
            "ztunnel sends HBONE mTLS".into(),
        )),
        Dataplane::IstioAmbient => Ok((
            Sent::Other,
            "ztunnel sends plaintext to a pod outside the mesh".into(),
        )),
        Dataplane::IstioSidecar => match outbound(flow) {
            Outbound::Unknown(why) => Err(why),
            Outbound::Bypassed(why) => match prometheus_certs(flow) {
                Some(via) => Ok((
                    Sent::Mtls { by_app: true },
                    format!(
                        "{why}; ISTIO-PROM-1: {via} scrapes with the Istio certificate its sidecar writes out (OUTPUT_CERTS)"
                    ),
                )),
                // A guessed flow has no client configuration in the stream: the
                // application's own settings decide what it sends.
                None if flow.edge.found == Found::Inferred
                    && caller
                        .pod
                        .and_then(|pod| proxy_metadata(pod, "OUTPUT_CERTS"))
                        .is_some_and(|dir| !dir.is_empty()) =>
                {
                    Err(format!(
                        "{why}; ISTIO-PROM-1: {} has the Istio certificate, and whether this \
                         request presents it is up to a configuration the stream does not show",
                        caller.label
                    ))
                }
                None => Ok((Sent::Other, why)),
            },
            Outbound::Captured if flow.dest_plane == Dataplane::IstioAmbient => Ok((
                Sent::Mtls { by_app: false },
                "the sidecar sends HBONE mTLS to the ambient pod".into(),
            )),
            Outbound::Captured => client_tls(flow),
        },
        _ => Ok((
            Sent::Other,
            format!(
                "{} has no Istio proxy: no Istio client certificate",
                caller.label
            ),
        )),
    }
}

/// A captured sidecar client: a DestinationRule's `tls.mode`, else auto mTLS
/// (ISTIO-MTLS-1, ISTIO-MTLS-2).
fn client_tls(flow: &Flow) -> Result<(Sent, String), String> {
    if let Some((mode, id)) = destination_rule_tls(flow)? {
        let why = format!("{id} sets tls.mode {mode} (ISTIO-MTLS-2)");
        return Ok(match mode.as_str() {
            "ISTIO_MUTUAL" => (Sent::Mtls { by_app: false }, why),
            _ => (Sent::Other, why),
        });
    }
    if flow.dest_plane != Dataplane::IstioSidecar {
        let why = format!(
            "auto mTLS: {} has no sidecar, so the client sends plaintext (ISTIO-MTLS-1)",
            flow.dest.label()
        );
        return Ok((Sent::Other, why));
    }
    let view = peer_mode(flow, false, false)?;
    if view.mode == Mode::Disable {
        let why = format!(
            "auto mTLS: {} makes clients send plaintext (ISTIO-MTLS-1)",
            view.by
        );
        return Ok((Sent::Other, why));
    }
    let why = format!(
        "auto mTLS: {} has a sidecar (security.istio.io/tlsMode: istio), so {} sends Istio mTLS \
         (ISTIO-MTLS-1)",
        flow.dest.label(),
        flow.caller.label
    );
    Ok((Sent::Mtls { by_app: false }, why))
}

/// ISTIO-PROM-1: a caller whose outbound traffic bypasses its sidecar still presents its
/// Istio certificate when the ServiceMonitor endpoint or Prometheus alerting endpoint it
/// uses (`via`) says `scheme: https` with `tlsConfig.certFile`/`keyFile`, and its sidecar
/// writes the certificates out (`proxy.istio.io/config` `proxyMetadata.OUTPUT_CERTS`).
/// https://prometheus-operator.dev/docs/api-reference/api/ (`TLSConfig`, `SafeTLSConfig`)
/// https://istio.io/latest/docs/ops/integrations/prometheus/#tls-settings
fn prometheus_certs(flow: &Flow) -> Option<String> {
    let pod = flow.caller.pod?;
    proxy_metadata(pod, "OUTPUT_CERTS").filter(|dir| !dir.is_empty())?;
    let release = &flow.settings.release_namespace;
    let ns = |ns: &Option<String>| ns.clone().or_else(|| release.clone());
    let (object, list, index) = match flow.edge.via.as_ref()? {
        Via::ServiceMonitor {
            namespace,
            name,
            endpoint,
        } => (
            flow.cluster.find(
                "monitoring.coreos.com",
                "ServiceMonitor",
                &ns(namespace),
                name,
            )?,
            &["spec", "endpoints"][..],
            *endpoint,
        ),
        // A PodMonitor's `tlsConfig` is a SafeTLSConfig: certificates from Secrets, no files.
        Via::PodMonitor { .. } => return None,
        Via::Alerting {
            namespace,
            name,
            endpoint,
        } => (
            flow.cluster
                .find("monitoring.coreos.com", "Prometheus", &ns(namespace), name)?,
            &["spec", "alerting", "alertmanagers"][..],
            *endpoint,
        ),
    };
    let endpoint = object.node.at(list)?.items()?.get(index)?;
    let https = endpoint
        .get("scheme")
        .and_then(Node::scalar)
        .is_some_and(|s| s.eq_ignore_ascii_case("https"));
    let file = |key: &str| {
        endpoint
            .at(&["tlsConfig", key])
            .and_then(Node::scalar)
            .is_some_and(|f| !f.is_empty())
    };
    (https && file("certFile") && file("keyFile"))
        .then(|| format!("{} (endpoint {index})", object.id()))
}

/// The `tls.mode` of the DestinationRule that applies to this client and destination
/// port, if one does; unknown when several apply and disagree (ISTIO-MTLS-2, ISTIO-DR-2).
/// https://istio.io/latest/docs/reference/config/networking/destination-rule/
fn destination_rule_tls(flow: &Flow) -> Result<Option<(String, String)>, String> {
    let services = flow.cluster.services_to(flow.dest, flow.port());
    let caller_ns = flow.caller.namespace.as_ref().map(|n| n.name.clone());
    let mut found: Vec<(String, String)> = Vec::new();
    for rule in flow.cluster.all(NETWORKING, "DestinationRule") {
        let Some(spec) = rule.spec() else { continue };
        let host = spec.get("host").and_then(Node::scalar).unwrap_or("");
        for (service, ports) in &services {
            let applies = host_matches(host, rule, service)
                .and(|| exported_to(spec, rule, &caller_ns))
                .and(|| client_selected(flow, spec));
            match applies {
                Tri::No => continue,
                Tri::Unknown(why) => {
                    return Err(format!("whether {} applies: {why}", rule.id()));
                }
                Tri::Yes => {}
            }
            for port in ports {
                let mode = rule_tls(spec, *port).map_err(|why| format!("{}: {why}", rule.id()))?;
                found.push((mode.unwrap_or_default(), rule.id()));
            }
        }
    }
    let modes: Vec<&String> = found.iter().map(|(m, _)| m).collect();
    if modes.windows(2).any(|w| w[0] != w[1]) {
        let ids: Vec<&str> = found.iter().map(|(_, id)| id.as_str()).collect();
        return Err(format!(
            "ISTIO-DR-2: several DestinationRule settings apply to {} ({}) and they disagree on \
             tls.mode",
            flow.describe(),
            ids.join(", ")
        ));
    }
    Ok(found
        .into_iter()
        .next()
        .filter(|(mode, _)| !mode.is_empty()))
}

/// The TLS mode for one Service port: a `portLevelSettings` entry for that port replaces
/// the destination-level settings (ISTIO-DR-2); `Ok(None)` is auto mTLS.
fn rule_tls(spec: &Node, port: u16) -> Result<Option<String>, String> {
    let policy = spec.get("trafficPolicy");
    let top = policy
        .and_then(|p| p.at(&["tls", "mode"]))
        .and_then(Node::scalar);
    let entry = policy
        .and_then(|p| p.get("portLevelSettings"))
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .find(|e| {
            e.at(&["port", "number"]).and_then(Node::scalar) == Some(port.to_string().as_str())
        });
    match entry {
        None => Ok(top.map(str::to_string)),
        Some(entry) => match entry.at(&["tls", "mode"]).and_then(Node::scalar) {
            Some(mode) => Ok(Some(mode.to_string())),
            None if top.is_some() => Err(format!(
                "ISTIO-DR-2 (UNCONFIRMED): the portLevelSettings entry for port {port} sets no \
                 tls, and whether it inherits the destination-level tls.mode is not confirmed"
            )),
            None => Ok(None),
        },
    }
}

/// A DestinationRule `host`: a FQDN, a short name (read in the rule's namespace), or a
/// wildcard (`*.monitoring.svc.cluster.local`, `*`).
fn host_matches(host: &str, rule: &Object, service: &Service) -> Tri {
    if host == "*" {
        return Tri::Yes;
    }
    if !host.contains('.') {
        return same_ns(&rule.namespace, &service.namespace).and(|| Tri::of(host == service.name));
    }
    let candidate = host.split('.').nth(1).map(str::to_string);
    over_ns(&service.namespace, candidate, |ns| {
        let fqdn = format!("{}.{ns}.svc.cluster.local", service.name);
        Tri::of(match host.strip_prefix('*') {
            Some(suffix) => fqdn.ends_with(suffix),
            None => fqdn == host,
        })
    })
}

/// `exportTo`: everywhere by default, `.` for the rule's own namespace, else the names.
fn exported_to(spec: &Node, rule: &Object, caller_ns: &Option<Ns>) -> Tri {
    let targets = strings(spec.get("exportTo"));
    if targets.is_empty() || targets.iter().any(|t| t == "*") {
        return Tri::Yes;
    }
    let Some(caller_ns) = caller_ns else {
        return Tri::No;
    };
    Tri::any(targets.iter().map(|t| {
        if t == "." {
            same_ns(caller_ns, &rule.namespace)
        } else {
            same_ns(caller_ns, &Some(t.clone()))
        }
    }))
}

/// `workloadSelector`: the rule applies only to the client pods it selects.
fn client_selected(flow: &Flow, spec: &Node) -> Tri {
    let Some(selector) = spec.at(&["workloadSelector", "matchLabels"]) else {
        return Tri::Yes;
    };
    match &flow.caller.labels {
        Some(labels) => Tri::of(
            string_map(Some(selector))
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v)),
        ),
        None => Tri::Unknown(format!(
            "the pod labels of {} are not known",
            flow.caller.label
        )),
    }
}

/// PeerAuthentication modes (ISTIO-PA-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unset,
    Strict,
    Permissive,
    Disable,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Unset => "UNSET",
            Mode::Strict => "STRICT",
            Mode::Permissive => "PERMISSIVE",
            Mode::Disable => "DISABLE",
        }
    }
}

fn mode_of(node: Option<&Node>) -> Mode {
    match node.and_then(Node::scalar) {
        Some("STRICT") => Mode::Strict,
        Some("PERMISSIVE") => Mode::Permissive,
        Some("DISABLE") => Mode::Disable,
        _ => Mode::Unset,
    }
}

/// The effective mode on a port, the resource that set it, and a description.
struct PeerMode {
    mode: Mode,
    resource: String,
    by: String,
}

fn has_selector(pa: &Object) -> bool {
    pa.spec()
        .and_then(|s| s.at(&["selector", "matchLabels"]))
        .and_then(Node::entries)
        .is_some_and(|e| !e.is_empty())
}

/// The effective PeerAuthentication mode for the destination port (ISTIO-PA-1..4,
/// ISTIO-AMB-1). `workload: false` is the view a client takes for auto mTLS, from the
/// mesh- and namespace-wide policies only (ISTIO-MTLS-1).
fn peer_mode(flow: &Flow, workload: bool, ambient: bool) -> Result<PeerMode, String> {
    let root: Ns = Some(flow.settings.istio_root_namespace.clone());
    let dest = flow.dest;
    let all: Vec<&Object> = flow
        .cluster
        .selecting(SECURITY, "PeerAuthentication", &dest.labels)
        .collect();
    // ISTIO-PA-1: mesh-wide in the root namespace without a selector; namespace-wide in
    // another namespace without one; workload policies with a selector outside the root
    // namespace; a root-namespace policy with a selector is ignored.
    let mesh: Vec<&Object> = all
        .iter()
        .copied()
        .filter(|p| p.namespace == root && !has_selector(p))
        .collect();
    let in_ns = |p: &&Object| p.namespace == dest.namespace && dest.namespace != root;
    let namespace: Vec<&Object> = all
        .iter()
        .copied()
        .filter(|p| in_ns(p) && !has_selector(p))
        .collect();
    let selects = |p: &Object| {
        let labels = string_map(p.spec().and_then(|s| s.at(&["selector", "matchLabels"])));
        labels.iter().all(|(k, v)| dest.labels.get(k) == Some(v))
    };
    let selecting: Vec<&Object> = if workload {
        all.iter()
            .copied()
            .filter(|p| in_ns(p) && has_selector(p) && selects(p))
            .collect()
    } else {
        Vec::new()
    };
    let mut notes: Vec<String> = all
        .iter()
        .filter(|p| workload && p.namespace == root && has_selector(p) && selects(p))
        .map(|p| {
            format!(
                "ISTIO-PA-1: {} has a selector in the root namespace and is ignored",
                p.id()
            )
        })
        .collect();
    let levels = [oldest(mesh), oldest(namespace), oldest(selecting)];
    let mut results = Vec::new();
    for m in options(&levels[0]) {
        for n in options(&levels[1]) {
            for w in options(&levels[2]) {
                results.push(compose(flow, [m, n, w], ambient, &mut notes));
            }
        }
    }
    let first = results.remove(0);
    if let Some(other) = results.iter().find(|r| r.mode != first.mode) {
        return Err(format!(
            "ISTIO-PA-2: {} and {} are PeerAuthentications of the same scope without distinct \
             creationTimestamps, so which one Istio keeps is not known, and they disagree on \
             port {}",
            first.resource,
            other.resource,
            flow.port()
        ));
    }
    notes.dedup();
    let by = std::iter::once(first.by)
        .chain(notes)
        .collect::<Vec<_>>()
        .join("; ");
    Ok(PeerMode { by, ..first })
}

/// ISTIO-PA-2: of several policies of one scope the oldest wins; without distinct
/// creationTimestamps every one is a candidate.
fn oldest<'o, 'a>(mut policies: Vec<&'o Object<'a>>) -> Vec<&'o Object<'a>> {
    if policies.len() < 2 || policies.iter().any(|p| p.created().is_none()) {
        return policies;
    }
    policies.sort_by_key(|p| p.created());
    if policies[0].created() == policies[1].created() {
        return policies;
    }
    policies.truncate(1);
    policies
}

fn options<'o, 'a>(level: &'o [&'o Object<'a>]) -> Vec<Option<&'o Object<'a>>> {
    if level.is_empty() {
        vec![None]
    } else {
        level.iter().map(|p| Some(*p)).collect()
    }
}

/// Mesh, then namespace, then workload, then the workload policy's `portLevelMtls` entry
/// for the port; UNSET inherits, and nothing at all is PERMISSIVE (ISTIO-PA-3, ISTIO-PA-4).
/// In ambient mode DISABLE is ignored (ISTIO-AMB-1).
fn compose(
    flow: &Flow,
    levels: [Option<&Object>; 3],
    ambient: bool,
    notes: &mut Vec<String>,
) -> PeerMode {
    let port = flow.port();
    let mut out = PeerMode {
        mode: Mode::Permissive,
        resource: "the mesh default".into(),
        by: "no PeerAuthentication sets a mode: PERMISSIVE (ISTIO-PA-3)".into(),
    };
    let mut set = |mode: Mode, resource: String, by: String, notes: &mut Vec<String>| {
        if ambient && mode == Mode::Disable {
            notes.push(format!(
                "ISTIO-AMB-1: ztunnel ignores the DISABLE of {resource}"
            ));
        } else if mode != Mode::Unset {
            out = PeerMode { mode, resource, by };
        }
    };
    for (level, pa) in levels.iter().enumerate() {
        let Some(pa) = pa else { continue };
        let spec = pa.spec();
        let mode = mode_of(spec.and_then(|s| s.at(&["mtls", "mode"])));
        set(
            mode,
            pa.id(),
            format!("{} sets {}", pa.id(), mode.name()),
            notes,
        );
        let entry = spec
            .and_then(|s| s.get("portLevelMtls"))
            .and_then(Node::entries)
            .unwrap_or_default()
            .iter()
            .find(|(k, _)| k.scalar().and_then(|k| k.parse::<u16>().ok()) == Some(port));
        let Some((_, entry)) = entry else { continue };
        if level < 2 {
            notes.push(format!(
                "ISTIO-PA-4: the portLevelMtls of {} is ignored: it has no selector",
                pa.id()
            ));
            continue;
        }
        let mode = mode_of(entry.get("mode"));
        let mut by = format!(
            "{} sets {} on port {port} (portLevelMtls, ISTIO-PA-4)",
            pa.id(),
            mode.name()
        );
        if ambient {
            by.push_str("; ISTIO-AMB-1: ambient applies it as sidecars do once istio/istio#53884 is fixed in the installed Istio");
        }
        set(mode, pa.id(), by, notes);
    }
    out
}

/// A waypoint named for traffic to the destination (`namespace`, `name`), and the Service
/// the traffic is addressed to, if any.
type Addressed<'c> = (Option<(Ns, String)>, Option<&'c Service>);

/// The distinct paths traffic to the destination may take: one per waypoint and Service the
/// Services that reach the port name, and one without a waypoint, in the Services' order.
fn waypoints<'c>(flow: &Flow<'c, '_>) -> Vec<Option<Waypoint<'c>>> {
    const USE: &str = "istio.io/use-waypoint";
    const USE_NS: &str = "istio.io/use-waypoint-namespace";
    let ns_labels = &flow.dest_ns.labels;
    let pick = |labels: &super::objects::Labels, ns: &Ns| -> Option<(Ns, String)> {
        let (name, in_ns) = match labels.get(USE) {
            Some(name) => (name, labels.get(USE_NS)),
            None => (ns_labels.get(USE)?, ns_labels.get(USE_NS)),
        };
        (name != "none").then(|| (in_ns.cloned().or_else(|| ns.clone()), name.clone()))
    };
    let services = flow.cluster.services_to(flow.dest, flow.port());
    let mut found: Vec<Addressed<'c>> = Vec::new();
    if flow.edge.via.is_some() || services.is_empty() {
        found.push((pick(&flow.dest.labels, &flow.dest.namespace), None));
    } else {
        for (service, _) in services {
            found.push((pick(&service.labels, &service.namespace), Some(service)));
        }
    }
    let addressed = if found[0].1.is_some() {
        "service"
    } else {
        "workload"
    };
    let waypoints: Vec<_> = found
        .into_iter()
        .map(|(wp, service)| {
            wp.filter(|(ns, name)| {
                let gateway = flow
                    .cluster
                    .find("gateway.networking.k8s.io", "Gateway", ns, name);
                let accepts = gateway
                    .and_then(|g| g.labels().get("istio.io/waypoint-for").cloned())
                    .unwrap_or_else(|| "service".into());
                accepts == "all" || accepts == addressed
            })
            .map(|(namespace, name)| Waypoint {
                namespace,
                name,
                service,
            })
        })
        .collect();
    let mut distinct: Vec<Option<Waypoint<'c>>> = Vec::new();
    for w in waypoints {
        // Policies may target the waypoint or the Service: paths differ by both.
        let key = |w: &Option<Waypoint>| {
            w.as_ref().map(|w| {
                (
                    w.namespace.clone(),
                    w.name.clone(),
                    w.service.map(|s| s.name.clone()),
                )
            })
        };
        if !distinct.iter().any(|d| key(d) == key(&w)) {
            distinct.push(w);
        }
    }
    distinct
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::model::graph::{Found, Party, Protocol, Via};

    const STRICT: &str = "  mtls: {mode: STRICT}\n";
    const PA: &str = "security.istio.io/v1";

    /// Namespace `mon` with sidecar injection, a webhook (9443, TLS), Prometheus (9090)
    /// and Grafana (3000), with these extra pod annotations for Prometheus.
    fn stack(prometheus: &str) -> String {
        namespace("mon", "istio-injection: enabled")
            + &deployment("mon", "webhook", "webhook", 9443, "")
            + &deployment("mon", "prometheus", "prometheus", 9090, prometheus)
            + &deployment("mon", "grafana", "grafana", 3000, "")
    }

    fn api_to_webhook() -> crate::model::graph::Edge {
        with_protocol(
            edge(
                Party::ApiServer,
                workload("Deployment", "mon", "webhook"),
                9443,
            ),
            Protocol::Tls,
        )
    }

    fn grafana_to_prometheus() -> crate::model::graph::Edge {
        edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "mon", "prometheus"),
            9090,
        )
    }

    fn kubelet_probe(path: Option<&str>) -> crate::model::graph::Edge {
        let mut e = edge(
            Party::Kubelet,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        e.probe_path = path.map(str::to_string);
        e
    }

    /// https://istio.io/latest/docs/concepts/security/#selector-field
    #[test]
    fn istio_pa_1_root_namespace_policies_are_mesh_wide_and_ignored_with_a_selector() {
        let mesh = object(PA, "PeerAuthentication", "istio-system", "default", STRICT);
        let yaml = stack("") + &mesh;
        assert_denied(
            &run(&yaml, api_to_webhook(), &istio()),
            "PeerAuthentication istio-system/default",
            "ISTIO-PA-5",
        );
        let selected = object(
            PA,
            "PeerAuthentication",
            "istio-system",
            "webhook",
            "  selector: {matchLabels: {app: webhook}}\n  mtls: {mode: PERMISSIVE}\n",
        );
        let yaml = yaml + &selected;
        assert_denied(
            &run(&yaml, api_to_webhook(), &istio()),
            "PeerAuthentication istio-system/default",
            "ISTIO-PA-5",
        );
        // A namespace-wide policy overrides the mesh-wide one.
        let ns = object(
            PA,
            "PeerAuthentication",
            "mon",
            "default",
            "  mtls: {mode: PERMISSIVE}\n",
        );
        let v = run(&(yaml + &ns), api_to_webhook(), &istio());
        assert_allowed(&v, "PeerAuthentication mon/default sets PERMISSIVE");
        assert_allowed(
            &v,
            "ISTIO-PA-1: PeerAuthentication istio-system/webhook has a selector in the root namespace and is ignored",
        );
    }

    /// https://istio.io/latest/docs/concepts/security/#selector-field
    #[test]
    fn istio_pa_2_the_oldest_policy_of_a_scope_wins_and_ties_are_unknown() {
        let pa = |name: &str, mode: &str, created: &str| {
            format!(
                "---\napiVersion: {PA}\nkind: PeerAuthentication\nmetadata: {{name: {name}, namespace: mon{created}}}\nspec: {{mtls: {{mode: {mode}}}}}\n"
            )
        };
        let tie = stack("") + &pa("a", "STRICT", "") + &pa("b", "PERMISSIVE", "");
        assert_unknown(&run(&tie, api_to_webhook(), &istio()), "ISTIO-PA-2");
        let dated = stack("")
            + &pa(
                "a",
                "STRICT",
                ", creationTimestamp: \"2024-05-01T00:00:00Z\"",
            )
            + &pa(
                "b",
                "PERMISSIVE",
                ", creationTimestamp: \"2024-01-01T00:00:00Z\"",
            );
        assert_allowed(
            &run(&dated, api_to_webhook(), &istio()),
            "PeerAuthentication mon/b sets PERMISSIVE",
        );
        // Duplicates that agree decide without timestamps.
        let agree = stack("") + &pa("a", "STRICT", "") + &pa("b", "STRICT", "");
        assert_denied(
            &run(&agree, api_to_webhook(), &istio()),
            "PeerAuthentication mon/",
            "ISTIO-PA-5",
        );
    }

    /// https://istio.io/latest/docs/reference/config/security/peer_authentication/#PeerAuthentication-MutualTLS-Mode
    #[test]
    fn istio_pa_3_unset_inherits_and_no_policy_is_permissive() {
        assert_allowed(
            &run(&stack(""), api_to_webhook(), &istio()),
            "PERMISSIVE (ISTIO-PA-3)",
        );
        let yaml = stack("")
            + &object(PA, "PeerAuthentication", "mon", "default", STRICT)
            + &object(
                PA,
                "PeerAuthentication",
                "mon",
                "webhook",
                "  selector: {matchLabels: {app: webhook}}\n",
            );
        assert_denied(
            &run(&yaml, api_to_webhook(), &istio()),
            "PeerAuthentication mon/default",
            "ISTIO-PA-5",
        );
    }

    /// https://istio.io/latest/docs/reference/config/security/peer_authentication/#PeerAuthentication
    #[test]
    fn istio_pa_4_port_level_mtls_needs_a_selector() {
        let without = object(
            PA,
            "PeerAuthentication",
            "mon",
            "default",
            "  mtls: {mode: STRICT}\n  portLevelMtls: {\"9443\": {mode: PERMISSIVE}}\n",
        );
        let v = run(&(stack("") + &without), api_to_webhook(), &istio());
        assert_denied(&v, "PeerAuthentication mon/default", "ISTIO-PA-5");
        let with = object(
            PA,
            "PeerAuthentication",
            "mon",
            "webhook",
            "  selector: {matchLabels: {app: webhook}}\n  portLevelMtls: {9443: {mode: PERMISSIVE}}\n",
        );
        let yaml = stack("") + &object(PA, "PeerAuthentication", "mon", "default", STRICT) + &with;
        assert_allowed(
            &run(&yaml, api_to_webhook(), &istio()),
            "sets PERMISSIVE on port 9443",
        );
    }

    /// https://istio.io/latest/about/faq/ (non-Istio to Istio under STRICT)
    #[test]
    fn istio_pa_5_strict_rejects_plaintext() {
        let yaml = stack("") + &object(PA, "PeerAuthentication", "mon", "default", STRICT);
        let v = run(&yaml, api_to_webhook(), &istio());
        assert_denied(
            &v,
            "PeerAuthentication mon/default",
            "ISTIO-PA-5: STRICT rejects plaintext",
        );
        // A meshed caller sends mTLS and passes.
        assert_allowed(&run(&yaml, grafana_to_prometheus(), &istio()), "auto mTLS");
    }

    /// https://istio.io/latest/docs/reference/config/annotations/#SidecarTrafficIncludeInboundPorts
    #[test]
    fn istio_cap_1_an_empty_include_inbound_ports_captures_nothing() {
        let strict = object(PA, "PeerAuthentication", "mon", "default", STRICT);
        let e = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        let yaml = stack("traffic.sidecar.istio.io/includeInboundPorts: \"\"") + &strict;
        assert_allowed(
            &run(&yaml, e.clone(), &istio()),
            "ISTIO-CAP-1: includeInboundPorts",
        );
        let sample =
            stack("proxy.istio.io/config: \"proxyMetadata:\\n  INBOUND_CAPTURE_PORTS: ''\\n\"")
                + &strict;
        assert_allowed(&run(&sample, e.clone(), &istio()), "ISTIO-CAP-3");
        let listed = stack("traffic.sidecar.istio.io/includeInboundPorts: \"8080,9090\"") + &strict;
        assert_denied(
            &run(&listed, e, &istio()),
            "PeerAuthentication mon/default",
            "ISTIO-PA-5",
        );
    }

    /// https://istio.io/latest/docs/reference/config/annotations/#SidecarTrafficExcludeInboundPorts
    #[test]
    fn istio_cap_2_excluded_ports_and_the_sidecars_own_ports_are_not_captured() {
        let strict = object(PA, "PeerAuthentication", "mon", "default", STRICT);
        let yaml = stack("traffic.sidecar.istio.io/excludeInboundPorts: \"9090\"") + &strict;
        let e = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        assert_allowed(&run(&yaml, e, &istio()), "ISTIO-CAP-2: excludeInboundPorts");
        let merged = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "grafana"),
            15020,
        );
        assert_allowed(
            &run(&(stack("") + &strict), merged, &istio()),
            "one of the sidecar's own ports",
        );
    }

    /// https://istio.io/latest/docs/concepts/security/#authorization-architecture
    #[test]
    fn istio_cap_3_an_uncaptured_port_skips_peer_authentication_and_authorization() {
        let yaml = stack("traffic.sidecar.istio.io/excludeInboundPorts: \"9090\"")
            + &object(PA, "PeerAuthentication", "mon", "default", STRICT)
            + &object(PA, "AuthorizationPolicy", "mon", "allow-nothing", "  {}\n");
        let e = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        assert_allowed(
            &run(&yaml, e, &istio()),
            "no PeerAuthentication or AuthorizationPolicy applies",
        );
    }

    /// https://istio.io/latest/docs/reference/config/annotations/#SidecarTrafficIncludeOutboundIPRanges
    #[test]
    fn istio_cap_4_a_caller_whose_outbound_bypasses_envoy_sends_plaintext() {
        let strict = object(PA, "PeerAuthentication", "mon", "default", STRICT);
        let bypass = |annotation: &str| {
            namespace("mon", "istio-injection: enabled")
                + &deployment("mon", "prometheus", "prometheus", 9090, "")
                + &deployment("mon", "grafana", "grafana", 3000, annotation)
                + &strict
        };
        let v = run(
            &bypass("traffic.sidecar.istio.io/includeOutboundIPRanges: \"\""),
            grafana_to_prometheus(),
            &istio(),
        );
        assert_denied(&v, "PeerAuthentication mon/default", "ISTIO-PA-5");
        let v = run(
            &bypass("traffic.sidecar.istio.io/excludeOutboundPorts: \"9090\""),
            grafana_to_prometheus(),
            &istio(),
        );
        assert_denied(&v, "PeerAuthentication mon/default", "ISTIO-PA-5");
        let v = run(
            &bypass("traffic.sidecar.istio.io/excludeOutboundIPRanges: \"10.96.0.0/12\""),
            grafana_to_prometheus(),
            &istio(),
        );
        assert_unknown(&v, "ISTIO-CAP-4");
    }

    /// https://istio.io/latest/docs/tasks/security/authentication/authn-policy/#auto-mutual-tls
    #[test]
    fn istio_mtls_1_auto_mtls_ignores_workload_level_peer_authentication() {
        // The namespace says DISABLE: clients send plaintext, even though the workload
        // policy of Prometheus says STRICT.
        let yaml = stack("")
            + &object(
                PA,
                "PeerAuthentication",
                "mon",
                "default",
                "  mtls: {mode: DISABLE}\n",
            )
            + &object(
                PA,
                "PeerAuthentication",
                "mon",
                "prometheus",
                "  selector: {matchLabels: {app: prometheus}}\n  mtls: {mode: STRICT}\n",
            );
        assert_denied(
            &run(&yaml, grafana_to_prometheus(), &istio()),
            "PeerAuthentication mon/prometheus",
            "ISTIO-PA-5",
        );
        // To a pod without a sidecar the client sends plaintext, and nothing applies.
        let unmeshed = stack("") + &deployment("apps", "app", "app", 8080, "");
        let e = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "apps", "app"),
            8080,
        );
        assert_allowed(&run(&unmeshed, e, &istio()), "is not in the mesh");
    }

    /// https://istio.io/latest/docs/reference/config/networking/destination-rule/#ClientTLSSettings-TLSmode
    #[test]
    fn istio_mtls_2_a_destination_rule_overrides_auto_mtls() {
        let dr = |host: &str, mode: &str| {
            object(
                "networking.istio.io/v1",
                "DestinationRule",
                "mon",
                "dr",
                &format!("  host: {host}\n  trafficPolicy: {{tls: {{mode: {mode}}}}}\n"),
            )
        };
        let yaml = stack("")
            + &service("mon", "prometheus", 9090, "http")
            + &object(PA, "PeerAuthentication", "mon", "default", STRICT)
            + &dr("prometheus", "DISABLE");
        assert_denied(
            &run(&yaml, grafana_to_prometheus(), &istio()),
            "PeerAuthentication mon/default",
            "ISTIO-PA-5",
        );
        let unmeshed = stack("")
            + &deployment("apps", "app", "app", 8080, "")
            + &service("apps", "app", 80, "8080")
            + &dr("app.apps.svc.cluster.local", "ISTIO_MUTUAL");
        let e = edge(
            workload("Deployment", "mon", "grafana"),
            workload("Deployment", "apps", "app"),
            8080,
        );
        assert_denied(
            &run(&unmeshed, e, &istio()),
            "Deployment apps/app",
            "ISTIO-MTLS-2",
        );
    }

    /// https://istio.io/latest/docs/reference/config/networking/destination-rule/#TrafficPolicy-PortTrafficPolicy
    #[test]
    fn istio_dr_2_port_level_settings_are_keyed_by_the_service_port() {
        let base = stack("traffic.sidecar.istio.io/includeInboundPorts: \"\"")
            + &service("mon", "prometheus", 80, "http");
        let dr = |spec: &str| {
            object(
                "networking.istio.io/v1",
                "DestinationRule",
                "mon",
                "prometheus",
                spec,
            )
        };
        let by_service_port = dr(
            "  host: prometheus.mon.svc.cluster.local\n  trafficPolicy:\n    portLevelSettings: [{port: {number: 80}, tls: {mode: DISABLE}}]\n",
        );
        assert_allowed(
            &run(
                &(base.clone() + &by_service_port),
                grafana_to_prometheus(),
                &istio(),
            ),
            "tls.mode DISABLE",
        );
        let by_target_port = dr(
            "  host: prometheus.mon.svc.cluster.local\n  trafficPolicy:\n    portLevelSettings: [{port: {number: 9090}, tls: {mode: DISABLE}}]\n",
        );
        assert_denied(
            &run(
                &(base.clone() + &by_target_port),
                grafana_to_prometheus(),
                &istio(),
            ),
            "Deployment mon/prometheus",
            "ISTIO-MTLS-3",
        );
        let no_tls = dr(
            "  host: prometheus\n  trafficPolicy:\n    tls: {mode: DISABLE}\n    portLevelSettings: [{port: {number: 80}, connectionPool: {}}]\n",
        );
        assert_unknown(
            &run(&(base + &no_tls), grafana_to_prometheus(), &istio()),
            "ISTIO-DR-2 (UNCONFIRMED)",
        );
    }

    /// https://github.com/istio/istio/issues/30311
    #[test]
    fn istio_mtls_3_mtls_into_an_uncaptured_port_breaks() {
        let yaml = stack("traffic.sidecar.istio.io/excludeInboundPorts: \"9090\"");
        let v = run(&yaml, grafana_to_prometheus(), &istio());
        assert_denied(&v, "Deployment mon/prometheus", "ISTIO-MTLS-3");
        // A plaintext caller is fine.
        let e = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        assert_allowed(&run(&yaml, e, &istio()), "ISTIO-CAP-3");
    }

    /// https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/
    #[test]
    fn istio_probe_1_rewritten_probes_pass_strict_and_allow_nothing() {
        let yaml = stack("")
            + &object(PA, "PeerAuthentication", "mon", "default", STRICT)
            + &object(PA, "AuthorizationPolicy", "mon", "allow-nothing", "  {}\n");
        assert_allowed(
            &run(&yaml, kubelet_probe(Some("/-/ready")), &istio()),
            "ISTIO-PROBE-1",
        );
        assert_allowed(&run(&yaml, kubelet_probe(None), &istio()), "ISTIO-PROBE-1");
    }

    /// https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/#liveness-and-readiness-probes-using-the-http-request-approach
    #[test]
    fn istio_probe_2_unrewritten_probes_are_plaintext_except_tcp() {
        let mut off = istio();
        off.istio_probe_rewrite = false;
        let strict = object(PA, "PeerAuthentication", "mon", "default", STRICT);
        let yaml = stack("") + &strict;
        assert_denied(
            &run(&yaml, kubelet_probe(Some("/-/ready")), &off),
            "PeerAuthentication mon/default",
            "ISTIO-PA-5",
        );
        // Turned off on the pod alone.
        let pod_off = stack("sidecar.istio.io/rewriteAppHTTPProbers: \"false\"") + &strict;
        assert_denied(
            &run(&pod_off, kubelet_probe(Some("/-/ready")), &istio()),
            "PeerAuthentication mon/default",
            "ISTIO-PA-5",
        );
        let probes = |kind: &str| {
            namespace("mon", "istio-injection: enabled")
                + &format!(
                    "---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: prometheus, namespace: mon}}
spec:
  template:
    metadata: {{labels: {{app: prometheus}}}}
    spec: {{containers: [{{name: prom, ports: [{{containerPort: 9090}}], livenessProbe: {{{kind}: {{port: 9090}}}}}}]}}
"
                )
                + &strict
        };
        assert_allowed(
            &run(&probes("tcpSocket"), kubelet_probe(None), &off),
            "ISTIO-PROBE-2",
        );
        assert_unknown(
            &run(&probes("grpc"), kubelet_probe(None), &off),
            "ISTIO-PROBE-2 (UNCONFIRMED)",
        );
    }

    /// https://istio.io/latest/docs/ops/integrations/prometheus/#tls-settings
    #[test]
    fn istio_prom_1_prometheus_scrapes_with_its_istio_certificate() {
        let prometheus = "traffic.sidecar.istio.io/includeInboundPorts: \"\", \
                          traffic.sidecar.istio.io/includeOutboundIPRanges: \"\", \
                          proxy.istio.io/config: \"proxyMetadata:\\n  OUTPUT_CERTS: /etc/istio-output-certs\\n\"";
        let monitor = object(
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            "mon",
            "grafana",
            "  selector: {matchLabels: {app: grafana}}\n  endpoints:\n  - port: http\n    scheme: https\n    tlsConfig: {caFile: /etc/prom-certs/root-cert.pem, certFile: /etc/prom-certs/cert-chain.pem, keyFile: /etc/prom-certs/key.pem, insecureSkipVerify: true}\n",
        );
        let yaml = stack(prometheus)
            + &monitor
            + &object(PA, "PeerAuthentication", "mon", "default", STRICT)
            + &object(
                PA,
                "AuthorizationPolicy",
                "mon",
                "scrape",
                "  selector: {matchLabels: {app: grafana}}\n  rules: [{from: [{source: {principals: [cluster.local/ns/mon/sa/prometheus]}}]}]\n",
            );
        let mut scrape = edge(
            workload("Deployment", "mon", "prometheus"),
            workload("Deployment", "mon", "grafana"),
            3000,
        );
        scrape.via = Some(Via::ServiceMonitor {
            namespace: Some("mon".into()),
            name: "grafana".into(),
            endpoint: 0,
        });
        assert_allowed(&run(&yaml, scrape.clone(), &istio()), "ISTIO-PROM-1");
        // A PodMonitor's TLS settings name no files: its scrape leaves in plaintext.
        let pod_monitor = yaml.clone()
            + &object(
                "monitoring.coreos.com/v1",
                "PodMonitor",
                "mon",
                "grafana",
                "  podMetricsEndpoints: [{port: http, scheme: https}]\n",
            );
        scrape.via = Some(Via::PodMonitor {
            namespace: Some("mon".into()),
            name: "grafana".into(),
            endpoint: 0,
        });
        assert_denied(
            &run(&pod_monitor, scrape.clone(), &istio()),
            "PeerAuthentication mon/default",
            "ISTIO-PA-5",
        );
        // A guessed scrape names no configuration: what it sends is the application's own
        // setting, which the stream does not show.
        let mut guessed = scrape.clone();
        guessed.via = None;
        guessed.found = Found::Inferred;
        assert_unknown(
            &run(&yaml, guessed.clone(), &istio()),
            "up to a configuration the stream does not show",
        );
        // A flow read without a client configuration (a prometheus.yml job in plain HTTP)
        // is plaintext.
        guessed.found = Found::Read;
        assert_denied(
            &run(&yaml, guessed, &istio()),
            "PeerAuthentication mon/default",
            "ISTIO-PA-5",
        );
        // Alerts sent with the same certificates.
        let alerting = yaml.clone()
            + &object(
                "monitoring.coreos.com/v1",
                "Prometheus",
                "mon",
                "k8s",
                "  alerting:\n    alertmanagers:\n    - {name: grafana, port: http, scheme: https, tlsConfig: {certFile: /etc/prom-certs/cert-chain.pem, keyFile: /etc/prom-certs/key.pem}}\n",
            );
        scrape.via = Some(Via::Alerting {
            namespace: Some("mon".into()),
            name: "k8s".into(),
            endpoint: 0,
        });
        assert_allowed(
            &run(&alerting, scrape.clone(), &istio()),
            "Prometheus mon/k8s (endpoint 0)",
        );
        scrape.via = None;
        assert_denied(
            &run(&yaml, scrape, &istio()),
            "PeerAuthentication mon/default",
            "ISTIO-PA-5",
        );
    }

    fn ambient_stack(extra: &str) -> String {
        namespace("mon", "istio.io/dataplane-mode: ambient")
            + &deployment("mon", "webhook", "webhook", 9443, "")
            + &deployment("mon", "prometheus", "prometheus", 9090, "")
            + &deployment("mon", "grafana", "grafana", 3000, "")
            + extra
    }

    /// https://istio.io/latest/docs/ambient/usage/l4-policy/#peer-authentication
    #[test]
    fn istio_amb_1_ztunnel_enforces_strict_and_ignores_disable() {
        let yaml = ambient_stack(&object(PA, "PeerAuthentication", "mon", "default", STRICT));
        assert_denied(
            &run(&yaml, api_to_webhook(), &ambient()),
            "PeerAuthentication mon/default",
            "ISTIO-AMB-1",
        );
        let disable = object(
            PA,
            "PeerAuthentication",
            "mon",
            "webhook",
            "  selector: {matchLabels: {app: webhook}}\n  mtls: {mode: DISABLE}\n",
        );
        assert_denied(
            &run(&(yaml.clone() + &disable), api_to_webhook(), &ambient()),
            "PeerAuthentication mon/default",
            "ISTIO-AMB-1",
        );
        let port = object(
            PA,
            "PeerAuthentication",
            "mon",
            "webhook",
            "  selector: {matchLabels: {app: webhook}}\n  portLevelMtls: {9443: {mode: PERMISSIVE}}\n",
        );
        assert_allowed(
            &run(&(yaml + &port), api_to_webhook(), &ambient()),
            "istio/istio#53884",
        );
    }

    /// https://istio.io/latest/docs/ambient/usage/networkpolicy/#ambient-health-probes-and-kubernetes-networkpolicy
    #[test]
    fn istio_amb_2_node_local_probes_bypass_ztunnel() {
        let yaml = ambient_stack(&object(PA, "PeerAuthentication", "mon", "default", STRICT))
            + &object(PA, "AuthorizationPolicy", "mon", "allow-nothing", "  {}\n");
        assert_allowed(
            &run(&yaml, kubelet_probe(Some("/-/ready")), &ambient()),
            "ISTIO-AMB-2",
        );
        let np = |from: &str| {
            object(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "mon",
                "np",
                &format!("  podSelector: {{}}\n  ingress: [{{from: [{from}]}}]\n"),
            )
        };
        let isolated = yaml.clone() + &np("{podSelector: {}}");
        assert_unknown(
            &run(&isolated, kubelet_probe(Some("/-/ready")), &ambient()),
            "169.254.7.127",
        );
        let allowed = yaml + &np("{ipBlock: {cidr: 169.254.7.127/32}}");
        assert_allowed(
            &run(&allowed, kubelet_probe(Some("/-/ready")), &ambient()),
            "NetworkPolicy mon/np ingress rule 0",
        );
    }

    /// https://istio.io/latest/docs/reference/config/annotations/#AmbientBypassInboundCapture
    #[test]
    fn istio_amb_3_bypass_inbound_capture_leaves_inbound_to_the_application() {
        let yaml = namespace("mon", "istio.io/dataplane-mode: ambient")
            + &deployment(
                "mon",
                "webhook",
                "webhook",
                9443,
                "ambient.istio.io/bypass-inbound-capture: \"true\"",
            )
            + &object(PA, "PeerAuthentication", "mon", "default", STRICT);
        assert_allowed(&run(&yaml, api_to_webhook(), &ambient()), "ISTIO-AMB-3");
    }

    /// https://istio.io/latest/docs/ambient/usage/l4-policy/#layer-4-authorization-policies
    #[test]
    fn istio_amb_4_ztunnel_enforces_l4_authorization() {
        let allow = |principal: &str| {
            object(
                PA,
                "AuthorizationPolicy",
                "mon",
                "prometheus",
                &format!(
                    "  selector: {{matchLabels: {{app: prometheus}}}}\n  rules: [{{from: [{{source: {{principals: [{principal}]}}}}]}}]\n"
                ),
            )
        };
        let yaml = ambient_stack(&allow("cluster.local/ns/mon/sa/grafana"));
        assert_allowed(
            &run(&yaml, grafana_to_prometheus(), &ambient()),
            "at ztunnel",
        );
        let other = ambient_stack(&allow("cluster.local/ns/mon/sa/kiali"));
        assert_denied(
            &run(&other, grafana_to_prometheus(), &ambient()),
            "AuthorizationPolicy mon/prometheus",
            "ISTIO-AZ-2",
        );
        let custom = ambient_stack(&object(
            PA,
            "AuthorizationPolicy",
            "mon",
            "ext",
            "  action: CUSTOM\n  provider: {name: ext}\n  rules: [{}]\n",
        ));
        assert_allowed(
            &run(&custom, grafana_to_prometheus(), &ambient()),
            "ztunnel does not enforce the CUSTOM",
        );
    }

    /// https://istio.io/latest/docs/ambient/usage/l4-policy/#layer-7-authorization-policies-without-waypoints-installed
    #[test]
    fn istio_amb_5_http_rules_at_ztunnel_are_dropped_or_narrowed() {
        let policy = |action: &str, rule: &str| {
            object(
                PA,
                "AuthorizationPolicy",
                "mon",
                "p",
                &format!(
                    "  selector: {{matchLabels: {{app: prometheus}}}}\n  action: {action}\n  rules: [{rule}]\n"
                ),
            )
        };
        let allow_paths = ambient_stack(&policy("ALLOW", "{to: [{operation: {paths: [/api/*]}}]}"));
        assert_denied(
            &run(&allow_paths, grafana_to_prometheus(), &ambient()),
            "AuthorizationPolicy mon/p",
            "ISTIO-AMB-5",
        );
        let deny_methods =
            ambient_stack(&policy("DENY", "{to: [{operation: {methods: [DELETE]}}]}"));
        assert_allowed(
            &run(&deny_methods, grafana_to_prometheus(), &ambient()),
            "no ALLOW AuthorizationPolicy applies at ztunnel",
        );
        let deny_mixed = ambient_stack(&policy(
            "DENY",
            "{from: [{source: {namespaces: [mon]}}], to: [{operation: {ports: [\"9090\"], methods: [DELETE]}}]}",
        ));
        assert_denied(
            &run(&deny_mixed, grafana_to_prometheus(), &ambient()),
            "AuthorizationPolicy mon/p",
            "ISTIO-AZ-1: DENY rule 0",
        );
    }

    /// https://istio.io/latest/docs/ambient/usage/l4-policy/#authorization-policy-attachment
    #[test]
    fn istio_amb_6_behind_a_waypoint_ztunnel_sees_the_waypoints_identity() {
        let svc = "---
apiVersion: v1
kind: Service
metadata: {name: prometheus, namespace: mon, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: prometheus}, ports: [{port: 9090}]}
";
        let allow = |principal: &str| {
            object(
                PA,
                "AuthorizationPolicy",
                "mon",
                "prometheus",
                &format!(
                    "  selector: {{matchLabels: {{app: prometheus}}}}\n  rules: [{{from: [{{source: {{principals: [{principal}]}}}}]}}]\n"
                ),
            )
        };
        let grafana_only = ambient_stack(svc) + &allow("cluster.local/ns/mon/sa/grafana");
        assert_denied(
            &run(&grafana_only, grafana_to_prometheus(), &ambient()),
            "AuthorizationPolicy mon/prometheus",
            "at ztunnel",
        );
        let at_waypoint = ambient_stack(svc)
            + &allow("cluster.local/ns/mon/sa/waypoint")
            + &object(
                PA,
                "AuthorizationPolicy",
                "mon",
                "via-waypoint",
                "  targetRefs: [{kind: Service, group: \"\", name: prometheus}]\n  rules: [{from: [{source: {principals: [cluster.local/ns/mon/sa/grafana]}}], to: [{operation: {methods: [GET]}}]}]\n",
            );
        let v = run(&at_waypoint, grafana_to_prometheus(), &ambient());
        assert_unknown(&v, "requests' methods");
        let any_method = at_waypoint.replace(", to: [{operation: {methods: [GET]}}]", "");
        let v = run(&any_method, grafana_to_prometheus(), &ambient());
        assert_allowed(
            &v,
            "AuthorizationPolicy mon/via-waypoint rule 0 allows it at waypoint mon/waypoint",
        );
        assert_allowed(
            &v,
            "AuthorizationPolicy mon/prometheus rule 0 allows it at ztunnel",
        );
    }

    /// A caller outside the mesh knows nothing of waypoints: its plaintext goes straight to
    /// the destination's ztunnel, whose own policies decide without a peer identity.
    /// https://istio.io/latest/docs/ambient/architecture/data-plane/#inbound
    #[test]
    fn istio_amb_6_a_caller_outside_the_mesh_bypasses_the_waypoint() {
        let svc = "---
apiVersion: v1
kind: Service
metadata: {name: prometheus, namespace: mon, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: prometheus}, ports: [{port: 9090}]}
";
        let selector = |rules: &str| {
            object(
                PA,
                "AuthorizationPolicy",
                "mon",
                "prometheus",
                &format!("  selector: {{matchLabels: {{app: prometheus}}}}\n  rules: {rules}\n"),
            )
        };
        let waypoint_only = ambient_stack(svc)
            + &selector("[{from: [{source: {principals: [cluster.local/ns/mon/sa/waypoint]}}]}]")
            + &deployment("apps", "app", "app", 8080, "");
        let e = edge(
            workload("Deployment", "apps", "app"),
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        assert_denied(
            &run(&waypoint_only, e.clone(), &ambient()),
            "AuthorizationPolicy mon/prometheus",
            "at ztunnel",
        );
        let port_open = ambient_stack(svc)
            + &selector("[{to: [{operation: {ports: [\"9090\"]}}]}]")
            + &deployment("apps", "app", "app", 8080, "");
        let v = run(&port_open, e, &ambient());
        assert_allowed(&v, "does not go through waypoint mon/waypoint");
        assert_allowed(
            &v,
            "AuthorizationPolicy mon/prometheus rule 0 allows it at ztunnel",
        );
    }

    /// Services that reach one port but name different waypoints: the caller may address
    /// any, so each path is evaluated, and the verdicts must agree.
    /// https://istio.io/latest/docs/ambient/usage/waypoint/#useawaypoint
    #[test]
    fn istio_amb_6_every_waypoint_the_services_name_must_admit_the_flow() {
        let svcs = "---
apiVersion: v1
kind: Service
metadata: {name: prometheus, namespace: mon, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: prometheus}, ports: [{port: 9090}]}
---
apiVersion: v1
kind: Service
metadata: {name: prometheus-headless, namespace: mon}
spec: {selector: {app: prometheus}, clusterIP: None, ports: [{port: 9090}]}
";
        let at_ztunnel = |principals: &str| {
            object(
                PA,
                "AuthorizationPolicy",
                "mon",
                "prometheus",
                &format!(
                    "  selector: {{matchLabels: {{app: prometheus}}}}\n  rules: [{{from: [{{source: {{principals: [{principals}]}}}}]}}]\n"
                ),
            )
        };
        // Both the waypoint's identity and Grafana's are admitted: both paths allow.
        let both = ambient_stack(svcs)
            + &at_ztunnel("cluster.local/ns/mon/sa/waypoint, cluster.local/ns/mon/sa/grafana");
        let v = run(&both, grafana_to_prometheus(), &ambient());
        assert_allowed(&v, "ISTIO-AMB-6: through waypoint mon/waypoint");
        assert_allowed(&v, "ISTIO-AMB-6: through no waypoint");
        // Only the waypoint's: the path without it is denied, so the verdict is unknown and
        // names that path.
        let one = ambient_stack(svcs) + &at_ztunnel("cluster.local/ns/mon/sa/waypoint");
        assert_unknown(
            &run(&one, grafana_to_prometheus(), &ambient()),
            "through no waypoint denied by AuthorizationPolicy mon/prometheus",
        );
        // Neither: denied whichever Service the caller addresses.
        let none = ambient_stack(svcs) + &at_ztunnel("cluster.local/ns/other/sa/x");
        assert_denied(
            &run(&none, grafana_to_prometheus(), &ambient()),
            "AuthorizationPolicy mon/prometheus",
            "at ztunnel",
        );
    }
}
