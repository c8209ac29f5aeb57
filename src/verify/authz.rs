//! Istio AuthorizationPolicy, as a sidecar, ztunnel or a waypoint enforces it
//! (ISTIO-AZ-*, ISTIO-AMB-4..6, ISTIO-ID-1).
//! https://istio.io/latest/docs/reference/config/security/authorization-policy/

use super::cidr::{Block, Source};
use super::objects::{Ns, Object, Service, ns_name, string_map, strings};
use super::parties::over_ns;
use super::{Flow, Trace, Tri};
use crate::yaml::Node;

/// Where the policy is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enforcer {
    Sidecar,
    /// L4 only (ISTIO-AMB-4, ISTIO-AMB-5).
    Ztunnel,
    /// Policies with `targetRefs` to the Service or the waypoint (ISTIO-AZ-4, ISTIO-AMB-6).
    Waypoint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Allow,
    Deny,
    Custom,
    Audit,
}

/// A connection as the enforcing proxy sees it.
struct Request<'r> {
    /// The peer's identity `(namespace, ServiceAccount)` when it is Istio mTLS.
    peer: Option<(Ns, String)>,
    /// The peer's address (a waypoint connects from its own pod).
    source: Source,
    enforcer: Enforcer,
    /// HTTP attributes can be read (a sidecar or waypoint on HTTP traffic).
    http: bool,
    /// The request, when the flow is one: a kubelet probe's `GET <path>`.
    path: Option<&'r str>,
}

pub fn sidecar(flow: &Flow, peer: Option<(Ns, String)>, trace: &mut Trace) {
    let request = Request {
        peer,
        source: flow.caller.source.clone(),
        enforcer: Enforcer::Sidecar,
        http: flow.http(),
        path: flow.edge.probe_path.as_deref(),
    };
    enforce(flow, &request, None, trace);
}

/// At the destination's ztunnel; `behind_waypoint`: the connection comes from the waypoint
/// pod, with the waypoint's identity (ISTIO-AMB-6).
pub fn ztunnel(flow: &Flow, peer: Option<(Ns, String)>, behind_waypoint: bool, trace: &mut Trace) {
    let request = Request {
        peer,
        source: if behind_waypoint {
            Source::Pod
        } else {
            flow.caller.source.clone()
        },
        enforcer: Enforcer::Ztunnel,
        http: false,
        path: None,
    };
    enforce(flow, &request, None, trace);
}

pub fn waypoint(flow: &Flow, waypoint: &Waypoint, peer: Option<(Ns, String)>, trace: &mut Trace) {
    let request = Request {
        peer,
        source: flow.caller.source.clone(),
        enforcer: Enforcer::Waypoint,
        http: flow.http(),
        path: flow.edge.probe_path.as_deref(),
    };
    enforce(flow, &request, Some(waypoint), trace);
}

/// ISTIO-AZ-4: a sidecar or ztunnel takes the policies of the root namespace and of the
/// workload's namespace whose selector (if any) selects it, and ignores those with
/// `targetRefs`; a waypoint takes the policies whose `targetRefs` name the Service or the
/// waypoint. `istio.io/dry-run` policies are not enforced.
fn attached<'c, 'a>(
    flow: &'c Flow<'_, 'a>,
    enforcer: Enforcer,
    waypoint: Option<&Waypoint>,
    notes: &mut Vec<String>,
) -> Vec<&'c Object<'a>> {
    let root: Ns = Some(flow.settings.istio_root_namespace.clone());
    let candidates: Vec<&Object> = match waypoint {
        None => flow
            .cluster
            .selecting(
                "security.istio.io",
                "AuthorizationPolicy",
                &flow.dest.labels,
            )
            .collect(),
        Some(_) => flow
            .cluster
            .all("security.istio.io", "AuthorizationPolicy")
            .collect(),
    };
    candidates
        .into_iter()
        .filter(|p| {
            let spec = p.spec();
            let refs: Vec<&Node> = spec
                .and_then(|s| s.get("targetRef"))
                .into_iter()
                .chain(
                    spec.and_then(|s| s.get("targetRefs"))
                        .and_then(Node::items)
                        .unwrap_or_default(),
                )
                .collect();
            let applies = match waypoint {
                None => {
                    let selected = spec
                        .and_then(|s| s.at(&["selector", "matchLabels"]))
                        .is_none_or(|sel| {
                            string_map(Some(sel))
                                .iter()
                                .all(|(k, v)| flow.dest.labels.get(k) == Some(v))
                        });
                    refs.is_empty()
                        && (p.namespace == root || p.namespace == flow.dest.namespace)
                        && selected
                }
                Some(waypoint) => refs.iter().any(|r| targets(r, p, waypoint)),
            };
            if !applies {
                return false;
            }
            let dry_run = p
                .annotations()
                .get("istio.io/dry-run")
                .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"));
            if dry_run {
                notes.push(format!(
                    "{} is dry-run (istio.io/dry-run) and not enforced",
                    p.id()
                ));
            }
            let unsupported = enforcer == Enforcer::Ztunnel
                && matches!(action(p), Action::Custom | Action::Audit);
            if unsupported {
                notes.push(format!(
                    "ztunnel does not enforce the CUSTOM or AUDIT action of {} (ISTIO-AMB-4)",
                    p.id()
                ));
            }
            !dry_run && !unsupported
        })
        .collect()
}

/// A `targetRef` to the Service the traffic is addressed to, or to the waypoint.
fn targets(r: &Node, policy: &Object, waypoint: &Waypoint) -> bool {
    let field = |k: &str| r.get(k).and_then(Node::scalar).unwrap_or("");
    match field("kind") {
        "Service" => waypoint.service.is_some_and(|s| {
            matches!(field("group"), "" | "core")
                && s.name == field("name")
                && s.namespace == policy.namespace
        }),
        "Gateway" => {
            field("group") == "gateway.networking.k8s.io"
                && field("name") == waypoint.name
                && policy.namespace == waypoint.namespace
        }
        _ => false,
    }
}

fn action(policy: &Object) -> Action {
    match policy
        .spec()
        .and_then(|s| s.get("action"))
        .and_then(Node::scalar)
    {
        Some("DENY") => Action::Deny,
        Some("CUSTOM") => Action::Custom,
        Some("AUDIT") => Action::Audit,
        _ => Action::Allow,
    }
}

/// ISTIO-AZ-1: CUSTOM (an external authorizer: unknown), then DENY, then ALLOW; with no
/// ALLOW policy everything else is allowed, with one only what some ALLOW rule matches
/// (ISTIO-AZ-2). AUDIT never decides.
fn enforce(flow: &Flow, request: &Request, waypoint: Option<&Waypoint>, trace: &mut Trace) {
    let mut notes = Vec::new();
    let policies = attached(flow, request.enforcer, waypoint, &mut notes);
    let at = match waypoint {
        Some(w) => format!(" at {}", describe_waypoint(w)),
        None if request.enforcer == Enforcer::Ztunnel => " at ztunnel".into(),
        None => String::new(),
    };
    // CUSTOM and DENY rules that may match make the outcome unknown unless a DENY rule
    // matches; ALLOW rules that may match, unless another one matches.
    let mut blocking: Option<String> = None;
    let mut maybe_allowed: Option<String> = None;
    let mut allow_policies = Vec::new();
    let mut allowed_by = None;
    for policy in &policies {
        let action = action(policy);
        if action == Action::Audit {
            continue;
        }
        let rules = policy
            .spec()
            .and_then(|s| s.get("rules"))
            .and_then(Node::items)
            .unwrap_or_default();
        if action == Action::Allow {
            allow_policies.push(*policy);
        }
        for (i, rule) in rules.iter().enumerate() {
            let matched = rule_matches(flow, rule, action, request, &policy.namespace);
            match (action, matched) {
                (_, Tri::No) => {}
                (Action::Custom, matched) => {
                    let how = if matched == Tri::Yes {
                        "matches"
                    } else {
                        "may match"
                    };
                    blocking.get_or_insert(format!(
                        "ISTIO-AZ-1: the CUSTOM {} rule {i} {how}{at}, and an external \
                         authorizer decides",
                        policy.id()
                    ));
                }
                (Action::Deny, Tri::Yes) => {
                    return trace.deny(
                        policy.id(),
                        format!(
                            "ISTIO-AZ-1: DENY rule {i} matches {} on port {}{at}",
                            flow.caller.label,
                            flow.port()
                        ),
                    );
                }
                (Action::Deny, Tri::Unknown(why)) => {
                    blocking.get_or_insert(format!("DENY {} rule {i}{at}: {why}", policy.id()));
                }
                (_, Tri::Yes) => {
                    allowed_by.get_or_insert(format!(
                        "{} rule {i} allows it{at} (ISTIO-AZ-1)",
                        policy.id()
                    ));
                }
                (_, Tri::Unknown(why)) => {
                    maybe_allowed
                        .get_or_insert(format!("ALLOW {} rule {i}{at}: {why}", policy.id()));
                }
            }
        }
    }
    if let Some(why) = blocking {
        return trace.unknown(why);
    }
    let notes = notes.iter().map(|n| format!("; {n}")).collect::<String>();
    if allow_policies.is_empty() {
        return trace.pass(format!(
            "no ALLOW AuthorizationPolicy applies{at} (ISTIO-AZ-2){notes}"
        ));
    }
    if let Some(by) = allowed_by {
        return trace.pass(format!("{by}{notes}"));
    }
    if let Some(why) = maybe_allowed {
        return trace.unknown(why);
    }
    let ids: Vec<String> = allow_policies.iter().map(|p| p.id()).collect();
    trace.deny(
        ids.join(", "),
        format!("{}{notes}", why_denied(flow, request, &allow_policies, &at)),
    );
}

/// The rule of a default denial, naming the most specific reason.
fn why_denied(flow: &Flow, request: &Request, policies: &[&Object], at: &str) -> String {
    let rules: Vec<&Node> = policies
        .iter()
        .flat_map(|p| {
            p.spec()
                .and_then(|s| s.get("rules"))
                .and_then(Node::items)
                .unwrap_or_default()
        })
        .collect();
    let who = format!("{} on port {}{at}", flow.caller.label, flow.port());
    if rules.is_empty() {
        return format!(
            "ISTIO-AZ-3: an ALLOW policy without rules allows nothing, so nothing admits {who}"
        );
    }
    if !request.http && rules.iter().any(|r| has_l7(r, request.enforcer)) {
        let id = if request.enforcer == Enforcer::Ztunnel {
            "ISTIO-AMB-5"
        } else {
            "ISTIO-AZ-8"
        };
        return format!(
            "{id}: ALLOW rules with HTTP-only fields never match non-HTTP traffic, and no other \
             rule admits {who}"
        );
    }
    if request.peer.is_none() && rules.iter().any(|r| uses_mtls_fields(r)) {
        return format!(
            "ISTIO-AZ-5: {} is not Istio mTLS, so principals, namespaces and service accounts \
             are empty and never match; no rule admits {who}",
            if flow.http() {
                "the request"
            } else {
                "the connection"
            }
        );
    }
    format!(
        "ISTIO-AZ-2: once an ALLOW policy applies, only what its rules match is allowed, and none admits {who}"
    )
}

/// Stands for the release namespace of unknown name in a `serviceAccounts` pattern.
const RELEASE: &str = "\u{1}release\u{1}";
const HTTP_OPERATION: [&str; 6] = [
    "hosts",
    "notHosts",
    "methods",
    "notMethods",
    "paths",
    "notPaths",
];
const HTTP_SOURCE: [&str; 2] = ["requestPrincipals", "notRequestPrincipals"];
/// Source fields ztunnel cannot enforce either (the ambient converter's `httpSources`).
const ZTUNNEL_UNSUPPORTED_SOURCE: [&str; 4] = [
    "remoteIpBlocks",
    "notRemoteIpBlocks",
    "trustDomains",
    "notTrustDomains",
];
const L4_CONDITIONS: [&str; 5] = [
    "source.ip",
    "source.namespace",
    "source.principal",
    "destination.ip",
    "destination.port",
];
/// Condition keys a sidecar also reads on non-HTTP traffic.
const SIDECAR_L4_CONDITIONS: [&str; 2] = ["remote.ip", "connection.sni"];
const MTLS_SOURCE: [&str; 4] = [
    "principals",
    "namespaces",
    "serviceAccounts",
    "trustDomains",
];

fn entries<'n>(rule: &'n Node<'n>, list: &str, key: &str) -> Vec<&'n Node<'n>> {
    rule.get(list)
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .map(|e| e.get(key).unwrap_or(e))
        .collect()
}

/// Whether a rule uses fields only an HTTP proxy can read (ISTIO-AZ-8), or, at ztunnel,
/// any field it cannot enforce (ISTIO-AMB-5).
fn has_l7(rule: &Node, enforcer: Enforcer) -> bool {
    let set = |n: &Node, keys: &[&str]| keys.iter().any(|k| n.get(k).is_some());
    let ztunnel = enforcer == Enforcer::Ztunnel;
    entries(rule, "to", "operation")
        .iter()
        .any(|o| set(o, &HTTP_OPERATION))
        || entries(rule, "from", "source")
            .iter()
            .any(|s| set(s, &HTTP_SOURCE) || ztunnel && set(s, &ZTUNNEL_UNSUPPORTED_SOURCE))
        || conditions(rule).iter().any(|c| {
            let key = key(c);
            !L4_CONDITIONS.contains(&key) && (ztunnel || !SIDECAR_L4_CONDITIONS.contains(&key))
        })
}

fn uses_mtls_fields(rule: &Node) -> bool {
    entries(rule, "from", "source")
        .iter()
        .any(|s| MTLS_SOURCE.iter().any(|k| s.get(k).is_some()))
}

fn conditions<'n>(rule: &'n Node<'n>) -> &'n [Node<'n>] {
    rule.get("when").and_then(Node::items).unwrap_or_default()
}

fn key<'n>(condition: &'n Node) -> &'n str {
    condition.get("key").and_then(Node::scalar).unwrap_or("")
}

/// ISTIO-AZ-6: a rule matches when some `from`, some `to` and every `when` match; a missing
/// list matches anything (`rules: [{}]` matches everything, ISTIO-AZ-3).
fn rule_matches(
    flow: &Flow,
    rule: &Node,
    action: Action,
    request: &Request,
    policy_ns: &Ns,
) -> Tri {
    // ISTIO-AZ-8 (sidecar, non-HTTP) and ISTIO-AMB-5 (ztunnel): an ALLOW rule with HTTP
    // fields never matches; a DENY rule is enforced without them.
    if !request.http && action == Action::Allow && has_l7(rule, request.enforcer) {
        return Tri::No;
    }
    let list = |name: &str, key: &str, f: &dyn Fn(&Node) -> Tri| -> Tri {
        let items = entries(rule, name, key);
        if items.is_empty() {
            Tri::Yes
        } else {
            Tri::any(items.into_iter().map(f))
        }
    };
    let from = list("from", "source", &|s| {
        source_matches(flow, s, request, policy_ns)
    });
    from.and(|| list("to", "operation", &|o| operation_matches(flow, o, request)))
        .and(|| {
            Tri::all(
                conditions(rule)
                    .iter()
                    .map(|c| condition_matches(flow, c, request)),
            )
        })
}

/// Combines the fields of one `source` or `operation` (ANDed, ISTIO-AZ-6). `None` is a
/// field that is absent or that the enforcer drops. At ztunnel an entry left without any
/// field matches nothing (an empty match is skipped).
fn combine(fields: Vec<Option<Tri>>, request: &Request) -> Tri {
    let present: Vec<Tri> = fields.into_iter().flatten().collect();
    if present.is_empty() && request.enforcer == Enforcer::Ztunnel {
        return Tri::No;
    }
    Tri::all(present)
}

/// Istio string matching: exact, `prefix*`, `*suffix`, and `*` for any non-empty value
/// (ISTIO-AZ-6). https://istio.io/latest/docs/concepts/security/#value-matching
fn string_match(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        !value.is_empty()
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        value.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        value.ends_with(suffix)
    } else {
        pattern == value
    }
}

/// A list field against a value of the peer's identity. Plaintext has empty values: a
/// positive list never matches it, a `not` list always does (ISTIO-AZ-5). For a peer in the
/// release namespace of unknown name the namespaces the patterns name are tried.
fn identity_field(
    patterns: &[String],
    request: &Request,
    candidate: impl Fn(&str) -> Option<String>,
    value: impl Fn(&str, &str) -> String,
    matches: impl Fn(&str, &str) -> bool,
) -> Tri {
    let Some((ns, sa)) = &request.peer else {
        return Tri::of(patterns.iter().any(|p| matches(p, "")));
    };
    over_ns(ns, patterns.iter().filter_map(|p| candidate(p)), |ns| {
        let value = value(ns, sa);
        Tri::of(patterns.iter().any(|p| matches(p, &value)))
    })
}

/// ISTIO-ID-1: a policy principal in the `cluster.local` trust domain stands for the local
/// trust domain (and its aliases).
fn principal_pattern(pattern: &str, trust_domain: &str) -> String {
    match pattern.strip_prefix("cluster.local/") {
        Some(rest) => format!("{trust_domain}/{rest}"),
        None => pattern.to_string(),
    }
}

/// `<trust domain>/ns/<namespace>/sa/<service account>` (ISTIO-ID-1).
fn principal(trust_domain: &str, ns: &str, sa: &str) -> String {
    format!("{trust_domain}/ns/{ns}/sa/{sa}")
}

/// The namespace a principal pattern names (`cluster.local/ns/mon/sa/x` → `mon`).
fn principal_namespace(pattern: &str) -> Option<String> {
    let rest = pattern.split_once("/ns/")?.1;
    Some(rest.split('/').next()?.trim_end_matches('*').to_string())
}

fn field_list(node: &Node, key: &str) -> Option<Vec<String>> {
    node.get(key).map(|n| strings(Some(n)))
}

fn source_matches(flow: &Flow, source: &Node, request: &Request, policy_ns: &Ns) -> Tri {
    let td = &flow.settings.trust_domain;
    let principals = |key: &str, negate: bool| {
        field_list(source, key).map(|patterns| {
            let patterns: Vec<String> = patterns.iter().map(|p| principal_pattern(p, td)).collect();
            let t = identity_field(
                &patterns,
                request,
                principal_namespace,
                |ns, sa| principal(td, ns, sa),
                string_match,
            );
            if negate { t.not() } else { t }
        })
    };
    let namespaces = |key: &str, negate: bool| {
        field_list(source, key).map(|patterns| {
            let t = identity_field(
                &patterns,
                request,
                |p| Some(p.trim_matches('*').to_string()),
                |ns, _| ns.to_string(),
                string_match,
            );
            if negate { t.not() } else { t }
        })
    };
    // `<namespace>/<service account>`, or a bare name in the policy's namespace; exact.
    // `<namespace>/<service account>`, or a bare name in the policy's namespace; exact. A
    // policy in the release namespace of unknown name names it for a peer in it too.
    let service_accounts = |key: &str, negate: bool| {
        field_list(source, key).map(|patterns| {
            let patterns: Vec<String> = patterns
                .iter()
                .map(|p| match p.split_once('/') {
                    Some(_) => p.clone(),
                    None => format!("{}/{p}", policy_ns.as_deref().unwrap_or(RELEASE)),
                })
                .collect();
            let t = identity_field(
                &patterns,
                request,
                |p| {
                    p.split_once('/')
                        .map(|(ns, _)| ns.to_string())
                        .filter(|ns| ns != RELEASE)
                },
                |ns, sa| format!("{ns}/{sa}"),
                |p, v| {
                    let ns = v.split_once('/').map_or("", |(ns, _)| ns);
                    let release = if request.peer.as_ref().is_some_and(|(n, _)| n.is_none()) {
                        ns
                    } else {
                        RELEASE
                    };
                    !v.is_empty() && p.replace(RELEASE, release) == v
                },
            );
            if negate { t.not() } else { t }
        })
    };
    let ztunnel = request.enforcer == Enforcer::Ztunnel;
    let trust_domains = |key: &str, negate: bool| {
        if ztunnel {
            return None;
        }
        field_list(source, key).map(|patterns| {
            let value = if request.peer.is_some() {
                td.as_str()
            } else {
                ""
            };
            let t = Tri::of(patterns.iter().any(|p| string_match(p, value)));
            if negate { t.not() } else { t }
        })
    };
    let ips = |key: &str, negate: bool| {
        field_list(source, key).map(|cidrs| {
            let t = request.source.in_blocks(&istio_blocks(&cidrs));
            if negate { t.not() } else { t }
        })
    };
    let remote_ips = |key: &str, negate: bool| if ztunnel { None } else { ips(key, negate) };
    let request_principals = |key: &str| {
        field_list(source, key).and_then(|_| {
            request
                .http
                .then(|| Tri::Unknown("it depends on the request's JWT (requestPrincipals)".into()))
        })
    };
    let fields = vec![
        principals("principals", false),
        principals("notPrincipals", true),
        namespaces("namespaces", false),
        namespaces("notNamespaces", true),
        service_accounts("serviceAccounts", false),
        service_accounts("notServiceAccounts", true),
        trust_domains("trustDomains", false),
        trust_domains("notTrustDomains", true),
        ips("ipBlocks", false),
        ips("notIpBlocks", true),
        remote_ips("remoteIpBlocks", false),
        remote_ips("notRemoteIpBlocks", true),
        request_principals("requestPrincipals"),
        request_principals("notRequestPrincipals"),
    ];
    combine(fields, request)
}

/// `ipBlocks` entries: addresses or CIDRs, without exceptions.
fn istio_blocks(cidrs: &[String]) -> Vec<Block> {
    cidrs.iter().filter_map(|c| Block::new(c, &[])).collect()
}

/// ISTIO-AZ-7: `ports` match the port of the connection at the server side, the target
/// port; HTTP fields are read only on HTTP traffic (for a probe, `GET <path>`).
fn operation_matches(flow: &Flow, operation: &Node, request: &Request) -> Tri {
    let port = flow.port().to_string();
    let ports = |key: &str, negate: bool| {
        field_list(operation, key).map(|list| {
            let t = Tri::of(list.contains(&port));
            if negate { t.not() } else { t }
        })
    };
    let http = |key: &str, negate: bool, value: Option<&str>| {
        field_list(operation, key).and_then(|patterns| {
            request.http.then(|| {
                let t = match value {
                    Some(v) => Tri::of(patterns.iter().any(|p| string_match(p, v))),
                    None => Tri::Unknown(format!(
                        "it depends on the requests' {}",
                        key.trim_start_matches("not").to_lowercase()
                    )),
                };
                if negate { t.not() } else { t }
            })
        })
    };
    let method = request.path.map(|_| "GET");
    let fields = vec![
        ports("ports", false),
        ports("notPorts", true),
        http("methods", false, method),
        http("notMethods", true, method),
        http("paths", false, request.path),
        http("notPaths", true, request.path),
        http("hosts", false, None),
        http("notHosts", true, None),
    ];
    combine(fields, request)
}

/// A `when` condition: L4 keys are decided; others are HTTP attributes (unknown on HTTP
/// traffic, dropped elsewhere). ISTIO-AMB-4: ztunnel reads only the L4 keys.
fn condition_matches(flow: &Flow, condition: &Node, request: &Request) -> Tri {
    let key = key(condition);
    let values = strings(condition.get("values"));
    let not_values = strings(condition.get("notValues"));
    let test = |matches: &dyn Fn(&[String]) -> Tri| {
        let positive = if values.is_empty() {
            Tri::Yes
        } else {
            matches(&values)
        };
        positive.and(|| {
            if not_values.is_empty() {
                Tri::Yes
            } else {
                matches(&not_values).not()
            }
        })
    };
    let td = &flow.settings.trust_domain;
    match key {
        "source.ip" => test(&|v| request.source.in_blocks(&istio_blocks(v))),
        "destination.ip" => test(&|v| Source::Pod.in_blocks(&istio_blocks(v))),
        "destination.port" => test(&|v| Tri::of(v.contains(&flow.port().to_string()))),
        "source.namespace" => test(&|v| {
            identity_field(
                v,
                request,
                |p| Some(p.trim_matches('*').to_string()),
                |ns, _| ns.to_string(),
                string_match,
            )
        }),
        "source.principal" => test(&|v| {
            let patterns: Vec<String> = v.iter().map(|p| principal_pattern(p, td)).collect();
            identity_field(
                &patterns,
                request,
                principal_namespace,
                |ns, sa| principal(td, ns, sa),
                string_match,
            )
        }),
        // An empty match at ztunnel matches nothing.
        _ if request.enforcer == Enforcer::Ztunnel => Tri::No,
        "remote.ip" => test(&|v| request.source.in_blocks(&istio_blocks(v))),
        "connection.sni" => Tri::Unknown("it depends on the connection's SNI".into()),
        _ if request.http => Tri::Unknown(format!("it depends on the condition `{key}`")),
        // ISTIO-AZ-8: reached only by a DENY rule on non-HTTP traffic, which drops it.
        _ => Tri::Yes,
    }
}

/// The waypoint an in-mesh caller's traffic to the destination goes through (ISTIO-AMB-6):
/// `istio.io/use-waypoint` on the Service (for traffic addressed to a Service) or the pod
/// (for traffic addressed to the pod, as scrapes and alerts are), else on the namespace; the
/// waypoint must accept that kind of traffic (`istio.io/waypoint-for`, default `service`).
/// https://istio.io/latest/docs/ambient/usage/waypoint/#useawaypoint
pub struct Waypoint<'c> {
    pub namespace: Ns,
    pub name: String,
    /// The Service the traffic is addressed to, for policies that target it.
    pub service: Option<&'c Service>,
}

/// `waypoint monitoring/waypoint`.
pub fn describe_waypoint(waypoint: &Waypoint) -> String {
    format!(
        "waypoint {}/{}",
        ns_name(&waypoint.namespace),
        waypoint.name
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::model::graph::{Edge, Party, Protocol};

    const API: &str = "security.istio.io/v1";

    fn stack(policies: &[String]) -> String {
        namespace("mon", "istio-injection: enabled")
            + &deployment("mon", "webhook", "webhook", 9443, "")
            + &deployment("mon", "prometheus", "prometheus", 9090, "")
            + &deployment("mon", "grafana", "grafana", 3000, "")
            + &policies.concat()
    }

    fn policy(ns: &str, name: &str, spec: &str) -> String {
        object(API, "AuthorizationPolicy", ns, name, spec)
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

    /// https://istio.io/latest/docs/reference/config/security/authorization-policy/
    #[test]
    fn istio_az_1_custom_then_deny_then_allow() {
        let custom = policy(
            "mon",
            "ext",
            "  action: CUSTOM\n  provider: {name: opa}\n  rules: [{}]\n",
        );
        assert_unknown(
            &run(&stack(&[custom]), grafana_to_prometheus(), &istio()),
            "external authorizer",
        );
        let deny = policy(
            "mon",
            "deny",
            "  action: DENY\n  rules: [{from: [{source: {principals: [cluster.local/ns/mon/sa/grafana]}}]}]\n",
        );
        let allow = policy("mon", "allow", "  rules: [{}]\n");
        let audit = policy("mon", "audit", "  action: AUDIT\n  rules: [{}]\n");
        let v = run(
            &stack(&[allow.clone(), deny, audit.clone()]),
            grafana_to_prometheus(),
            &istio(),
        );
        assert_denied(
            &v,
            "AuthorizationPolicy mon/deny",
            "ISTIO-AZ-1: DENY rule 0",
        );
        assert_allowed(
            &run(&stack(&[allow, audit]), grafana_to_prometheus(), &istio()),
            "AuthorizationPolicy mon/allow rule 0",
        );
    }

    /// https://istio.io/latest/docs/concepts/security/#allow-nothing-deny-all-and-allow-all-policy
    #[test]
    fn istio_az_2_once_an_allow_policy_applies_the_rest_is_denied() {
        assert_allowed(
            &run(&stack(&[]), grafana_to_prometheus(), &istio()),
            "no ALLOW AuthorizationPolicy applies",
        );
        let kiali = policy(
            "mon",
            "kiali",
            "  rules: [{from: [{source: {principals: [cluster.local/ns/mon/sa/kiali]}}]}]\n",
        );
        assert_denied(
            &run(&stack(&[kiali]), grafana_to_prometheus(), &istio()),
            "AuthorizationPolicy mon/kiali",
            "ISTIO-AZ-2",
        );
    }

    /// https://istio.io/latest/docs/reference/config/security/authorization-policy/#AuthorizationPolicy
    #[test]
    fn istio_az_3_an_empty_spec_denies_all_and_an_empty_rule_matches_all() {
        let nothing = policy("mon", "allow-nothing", "  {}\n");
        assert_denied(
            &run(&stack(&[nothing]), grafana_to_prometheus(), &istio()),
            "AuthorizationPolicy mon/allow-nothing",
            "ISTIO-AZ-3",
        );
        let all = policy("mon", "allow-all", "  rules: [{}]\n");
        assert_allowed(
            &run(&stack(&[all]), grafana_to_prometheus(), &istio()),
            "mon/allow-all rule 0",
        );
        let deny_all = policy("mon", "deny-all", "  action: DENY\n  rules: [{}]\n");
        assert_denied(
            &run(&stack(&[deny_all]), grafana_to_prometheus(), &istio()),
            "AuthorizationPolicy mon/deny-all",
            "DENY rule 0",
        );
    }

    /// https://istio.io/latest/docs/reference/config/security/authorization-policy/#AuthorizationPolicy
    #[test]
    fn istio_az_4_scope_selectors_target_refs_and_dry_run() {
        // A root-namespace policy with a selector applies in every namespace.
        let root = policy(
            "istio-system",
            "deny-prom",
            "  selector: {matchLabels: {app: prometheus}}\n  action: DENY\n  rules: [{}]\n",
        );
        assert_denied(
            &run(&stack(&[root]), grafana_to_prometheus(), &istio()),
            "AuthorizationPolicy istio-system/deny-prom",
            "DENY",
        );
        // Another namespace's policy, one with targetRefs, and a dry-run one do not apply.
        let elsewhere = policy("apps", "deny", "  action: DENY\n  rules: [{}]\n");
        let target = policy(
            "mon",
            "svc",
            "  targetRefs: [{kind: Service, group: \"\", name: prometheus}]\n  action: DENY\n  rules: [{}]\n",
        );
        let dry = "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: dry, namespace: mon, annotations: {istio.io/dry-run: \"true\"}}\nspec: {action: DENY, rules: [{}]}\n";
        let v = run(
            &stack(&[elsewhere, target, dry.into()]),
            grafana_to_prometheus(),
            &istio(),
        );
        assert_allowed(&v, "AuthorizationPolicy mon/dry is dry-run");
    }

    /// https://istio.io/latest/news/security/istio-security-2021-004/
    #[test]
    fn istio_az_5_mtls_only_fields_are_empty_for_plaintext() {
        let permissive = object(
            API,
            "PeerAuthentication",
            "mon",
            "default",
            "  mtls: {mode: PERMISSIVE}\n",
        );
        let any_peer = policy(
            "mon",
            "peers",
            "  rules: [{from: [{source: {principals: [\"*\"]}}]}]\n",
        );
        let v = run(
            &stack(&[permissive.clone(), any_peer]),
            api_to_webhook(),
            &istio(),
        );
        assert_denied(&v, "AuthorizationPolicy mon/peers", "ISTIO-AZ-5");
        let not_ns = policy(
            "mon",
            "not-foo",
            "  rules: [{from: [{source: {notNamespaces: [foo]}}]}]\n",
        );
        assert_allowed(
            &run(
                &stack(&[permissive.clone(), not_ns]),
                api_to_webhook(),
                &istio(),
            ),
            "mon/not-foo rule 0",
        );
        let deny_not = policy(
            "mon",
            "deny",
            "  action: DENY\n  rules: [{from: [{source: {notPrincipals: [cluster.local/ns/mon/sa/grafana]}}]}]\n",
        );
        assert_denied(
            &run(&stack(&[permissive, deny_not]), api_to_webhook(), &istio()),
            "AuthorizationPolicy mon/deny",
            "DENY rule 0",
        );
    }

    /// https://istio.io/latest/docs/concepts/security/#value-matching
    #[test]
    fn istio_az_6_fields_are_anded_values_ored_with_prefix_and_suffix_matches() {
        let rule = |source: &str| {
            policy(
                "mon",
                "p",
                &format!("  rules: [{{from: [{{source: {{{source}}}}}]}}]\n"),
            )
        };
        let yes = |source: &str| {
            assert_allowed(
                &run(&stack(&[rule(source)]), grafana_to_prometheus(), &istio()),
                "mon/p rule 0",
            )
        };
        let no = |source: &str| {
            assert_denied(
                &run(&stack(&[rule(source)]), grafana_to_prometheus(), &istio()),
                "AuthorizationPolicy mon/p",
                "ISTIO-AZ-2",
            )
        };
        yes("principals: [\"*/sa/grafana\"]");
        yes("principals: [x, \"cluster.local/ns/mon/*\"], namespaces: [mon]");
        no("principals: [\"*/sa/grafana\"], namespaces: [other]");
        yes("serviceAccounts: [mon/grafana]");
        yes("serviceAccounts: [grafana]");
        no("serviceAccounts: [apps/grafana]");
        // `when`: L4 keys are decided, request attributes are not.
        let when = |cond: &str| policy("mon", "p", &format!("  rules: [{{when: [{cond}]}}]\n"));
        assert_allowed(
            &run(
                &stack(&[when("{key: source.namespace, values: [mon]}")]),
                grafana_to_prometheus(),
                &istio(),
            ),
            "mon/p rule 0",
        );
        assert_unknown(
            &run(
                &stack(&[when("{key: \"request.headers[x-team]\", values: [a]}")]),
                grafana_to_prometheus(),
                &istio(),
            ),
            "request.headers",
        );
    }

    /// https://istio.io/latest/docs/reference/config/security/authorization-policy/#Operation
    #[test]
    fn istio_az_7_ports_are_target_ports_and_ip_blocks_need_the_source_ip() {
        let yaml = |spec: &str| {
            stack(&[
                service("mon", "prometheus", 80, "9090"),
                policy("mon", "p", spec),
            ])
        };
        let target = yaml("  rules: [{to: [{operation: {ports: [\"9090\"]}}]}]\n");
        assert_allowed(
            &run(&target, grafana_to_prometheus(), &istio()),
            "mon/p rule 0",
        );
        let service_port = yaml("  rules: [{to: [{operation: {ports: [\"80\"]}}]}]\n");
        assert_denied(
            &run(&service_port, grafana_to_prometheus(), &istio()),
            "AuthorizationPolicy mon/p",
            "ISTIO-AZ-2",
        );
        let block = yaml("  rules: [{from: [{source: {ipBlocks: [172.16.0.0/12]}}]}]\n");
        let api = edge(
            Party::ApiServer,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        assert_unknown(
            &run(&block, api.clone(), &istio()),
            "kube-apiserver's source IP",
        );
        let mut known = istio();
        known.api_server_networks = Some(vec!["172.20.0.0/16".into()]);
        assert_allowed(&run(&block, api.clone(), &known), "mon/p rule 0");
        let everything = yaml("  rules: [{from: [{source: {ipBlocks: [0.0.0.0/0]}}]}]\n");
        assert_allowed(&run(&everything, api, &istio()), "mon/p rule 0");
    }

    /// https://istio.io/latest/docs/reference/config/security/authorization-policy/#Rule
    #[test]
    fn istio_az_8_http_fields_on_tcp_drop_allow_rules_and_widen_deny_rules() {
        let permissive = object(
            API,
            "PeerAuthentication",
            "mon",
            "default",
            "  mtls: {mode: PERMISSIVE}\n",
        );
        let allow_paths = policy(
            "mon",
            "p",
            "  rules: [{to: [{operation: {paths: [/validate]}}]}]\n",
        );
        let v = run(
            &stack(&[permissive.clone(), allow_paths.clone()]),
            api_to_webhook(),
            &istio(),
        );
        assert_denied(&v, "AuthorizationPolicy mon/p", "ISTIO-AZ-8");
        let deny_methods = policy(
            "mon",
            "d",
            "  action: DENY\n  rules: [{to: [{operation: {methods: [DELETE]}}]}]\n",
        );
        assert_denied(
            &run(
                &stack(&[permissive, deny_methods]),
                api_to_webhook(),
                &istio(),
            ),
            "AuthorizationPolicy mon/d",
            "DENY rule 0",
        );
        // On HTTP the request decides: unknown without one, decided for a probe's GET.
        let http = policy(
            "mon",
            "p",
            "  rules: [{to: [{operation: {paths: [/-/ready], methods: [GET]}}]}]\n",
        );
        assert_unknown(
            &run(
                &stack(std::slice::from_ref(&http)),
                grafana_to_prometheus(),
                &istio(),
            ),
            "depends on the requests'",
        );
        let mut probe = edge(
            Party::Kubelet,
            workload("Deployment", "mon", "prometheus"),
            9090,
        );
        probe.probe_path = Some("/-/ready".into());
        let mut off = istio();
        off.istio_probe_rewrite = false;
        assert_allowed(&run(&stack(&[http]), probe, &off), "mon/p rule 0");
    }

    /// https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source
    #[test]
    fn istio_id_1_cluster_local_stands_for_the_local_trust_domain() {
        let mut corp = istio();
        corp.trust_domain = "corp.example".into();
        let local = policy(
            "mon",
            "p",
            "  rules: [{from: [{source: {principals: [cluster.local/ns/mon/sa/grafana]}}]}]\n",
        );
        assert_allowed(
            &run(&stack(&[local]), grafana_to_prometheus(), &corp),
            "mon/p rule 0",
        );
        let foreign = policy(
            "mon",
            "p",
            "  rules: [{from: [{source: {principals: [other.example/ns/mon/sa/grafana]}}]}]\n",
        );
        assert_denied(
            &run(&stack(&[foreign]), grafana_to_prometheus(), &corp),
            "AuthorizationPolicy mon/p",
            "ISTIO-AZ-2",
        );
        // A gateway calls with its ServiceAccount's identity.
        let gateway = policy(
            "mon",
            "p",
            "  rules: [{from: [{source: {principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]}}]}]\n",
        );
        let ingress = Party::Ingress {
            namespace: "istio-system".into(),
            service_account: "istio-ingressgateway-service-account".into(),
        };
        let e = edge(ingress, workload("Deployment", "mon", "grafana"), 3000);
        assert_allowed(&run(&stack(&[gateway]), e, &corp), "mon/p rule 0");
    }

    /// https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source
    #[test]
    fn a_principal_in_the_release_namespace_of_unknown_name() {
        let yaml = |principal: &str| {
            format!(
                "---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: grafana}}
spec: {{template: {{metadata: {{labels: {{app: grafana, sidecar.istio.io/inject: \"true\"}}}}, spec: {{serviceAccountName: grafana, containers: [{{name: g}}]}}}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: prometheus}}
spec: {{template: {{metadata: {{labels: {{app: prometheus, sidecar.istio.io/inject: \"true\"}}}}, spec: {{containers: [{{name: p, ports: [{{containerPort: 9090}}]}}]}}}}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: p}}
spec: {{rules: [{{from: [{{source: {{principals: [\"{principal}\"]}}}}]}}]}}
"
            )
        };
        let e = edge(
            Party::Workload {
                kind: "Deployment".into(),
                namespace: None,
                name: "grafana".into(),
            },
            Party::Workload {
                kind: "Deployment".into(),
                namespace: None,
                name: "prometheus".into(),
            },
            9090,
        );
        assert_allowed(&run(&yaml("*/sa/grafana"), e.clone(), &istio()), "rule 0");
        // A bare service account names the policy's namespace, the same release namespace.
        let bare = yaml("x").replace("principals: [\"x\"]", "serviceAccounts: [grafana]");
        assert_allowed(&run(&bare, e.clone(), &istio()), "rule 0");
        assert_unknown(
            &run(
                &yaml("cluster.local/ns/monitoring/sa/grafana"),
                e.clone(),
                &istio(),
            ),
            "release namespace is `monitoring`",
        );
        let mut known = istio();
        known.release_namespace = Some("monitoring".into());
        assert_allowed(
            &run(&yaml("cluster.local/ns/monitoring/sa/grafana"), e, &known),
            "rule 0",
        );
    }
}
