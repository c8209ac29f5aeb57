//! The query-frontends of Loki and Mimir under Istio, whose queriers reach them pod by pod.
//!
//! - Loki's Istio guide gives the query-frontend's headless Service
//!   `publishNotReadyAddresses: true`: the queriers resolve the frontends through it before
//!   the frontends are ready, and a frontend is ready only once a querier is connected
//!   (<https://grafana.com/docs/loki/latest/setup/install/istio/>, grafana/loki#11833).
//! - With the query-scheduler on, the mimir-distributed chart renders no headless Service
//!   for the query-frontend, but the queriers still send results back to the frontend's pod
//!   address on its gRPC port: Istio routes to pod addresses only through a headless
//!   Service that names the port, so one is generated (grafana/mimir#6964).

use crate::generate::{Additions, ObjectEdit, metadata};
use crate::model::stack::{Member, Stack};
use crate::yaml::patch::Patch;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The component label of both charts.
const COMPONENT: &str = "app.kubernetes.io/component";

fn is(m: &Member, component: &str, role: &str) -> bool {
    m.component == component && m.pod_labels.get(COMPONENT).map(String::as_str) == Some(role)
}

pub fn generate(stack: &Stack, out: &mut Additions) {
    for service in &stack.services {
        let frontend = service.headless
            && service.component.as_deref() == Some("loki")
            && (service.selector.get(COMPONENT).map(String::as_str) == Some("query-frontend")
                || service.name.contains("query-frontend"));
        if !frontend || service.publish_not_ready {
            continue;
        }
        let mut patch = Patch::new();
        *patch.field("spec").field("publishNotReadyAddresses") = Patch::Value(true.into());
        out.edit(ObjectEdit {
            object: service.object,
            component: "loki".into(),
            reason: "the query-frontend's headless Service publishes pods before they are ready (Loki's Istio guide)".into(),
            patch,
        });
    }
    let scheduler = stack.of("mimir").any(|m| is(m, "mimir", "query-scheduler"));
    if !scheduler {
        return;
    }
    for m in stack
        .of("mimir")
        .filter(|m| is(m, "mimir", "query-frontend"))
    {
        let headless = stack.services.iter().any(|s| {
            s.headless
                && s.namespace == m.namespace
                && !s.selector.is_empty()
                && s.selector
                    .iter()
                    .all(|(k, v)| m.pod_labels.get(k) == Some(v))
        });
        if headless || m.selector.is_empty() {
            continue;
        }
        let grpc = m
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some("grpc"))
            .map_or(9095, |p| p.number);
        let name = format!("{}-headless", m.name);
        let service = Service {
            metadata: metadata(&name, m.namespace.as_deref(), "mimir").into(),
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".into()),
                publish_not_ready_addresses: Some(true),
                selector: Some(
                    m.selector
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                ports: Some(vec![ServicePort {
                    name: Some("grpc".into()),
                    port: grpc.into(),
                    target_port: Some(IntOrString::Int(grpc.into())),
                    protocol: Some("TCP".into()),
                    app_protocol: Some("tcp".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        };
        out.add_value(
            "mimir",
            format!(
                "queriers answer {} pod by pod with the query-scheduler on: Istio needs a headless Service for it (grafana/mimir#6964)",
                m.name
            ),
            "v1",
            "Service",
            &service.metadata.name.clone().unwrap_or_default(),
            m.namespace.as_deref(),
            service,
        );
    }
}
