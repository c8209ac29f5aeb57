//! A/B testing: request-matched routing per component, by header, cookie or query
//! parameter, to a canary subset, with the weighted split as the default route; Istio
//! through a VirtualService and DestinationRule subsets, Linkerd through an HTTPRoute to
//! the per-subset Services.

use super::{config, denied, documents, find, run, validates};
use gunj_mesh::{Input, MeshType, Options};
use serde_json::json;

/// The grafana chart's Service in front of two Grafana Deployments, the current release
/// and the next one (labelled `version`), as a blue/green rollout of the chart would render
/// them, and the per-subset Services Linkerd splits between.
const GRAFANA_TWO_VERSIONS: &str = r#"---
# Source: grafana/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-grafana
  namespace: monitoring
  labels:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
spec:
  type: ClusterIP
  ports:
    - name: service
      port: 80
      protocol: TCP
      targetPort: 3000
  selector:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
---
# Source: grafana/templates/service-stable.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-grafana-stable
  namespace: monitoring
spec:
  ports:
    - name: service
      port: 80
      protocol: TCP
      targetPort: 3000
  selector:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
    version: "11"
---
# Source: grafana/templates/service-next.yaml
apiVersion: v1
kind: Service
metadata:
  name: obs-grafana-next
  namespace: monitoring
spec:
  ports:
    - name: service
      port: 80
      protocol: TCP
      targetPort: 3000
  selector:
    app.kubernetes.io/name: grafana
    app.kubernetes.io/instance: obs
    version: "12"
---
# Source: grafana/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-grafana
  namespace: monitoring
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
      app.kubernetes.io/instance: obs
      version: "11"
  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
        app.kubernetes.io/instance: obs
        version: "11"
    spec:
      serviceAccountName: obs-grafana
      containers:
        - name: grafana
          image: "docker.io/grafana/grafana:11.6.3"
          ports:
            - name: grafana
              containerPort: 3000
              protocol: TCP
---
# Source: grafana/templates/deployment-next.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: obs-grafana-next
  namespace: monitoring
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: grafana
      app.kubernetes.io/instance: obs
      version: "12"
  template:
    metadata:
      labels:
        app.kubernetes.io/name: grafana
        app.kubernetes.io/instance: obs
        version: "12"
    spec:
      serviceAccountName: obs-grafana
      containers:
        - name: grafana
          image: "docker.io/grafana/grafana:12.0.2"
          ports:
            - name: grafana
              containerPort: 3000
              protocol: TCP
"#;

/// Grafana's next release for whoever asks by header, cookie or query parameter; 10% of
/// the others.
const AB: &str = r#"  components:
    overrides:
      grafana:
        canary:
          subsets:
            stable: {version: "11"}
            next: {version: "12"}
          weights: {stable: 90, next: 10}
        abTesting:
          - subset: next
            headers: {x-grafana-variant: next}
          - subset: next
            cookies: {grafana_variant: next}
          - subset: next
            queryParams: {variant: next}
  authorization:
    defaultDeny: true
"#;

const COOKIE: &str = r"^(.*;\s*)?grafana_variant=next(;.*)?$";

#[test]
fn istio_routes_matched_requests_to_the_subset_and_the_rest_by_weight() {
    let inputs = [Input::new("grafana.yaml", GRAFANA_TWO_VERSIONS)];
    let out = run(
        &inputs,
        &config(&format!("  type: istio\n  mtls:\n    mode: STRICT\n{AB}")),
        MeshType::Istio,
    );
    let text = out.output.text();
    let docs = documents(&text);
    let vs = find(&docs, "VirtualService", "obs-grafana").expect("a VirtualService");
    let http = vs["spec"]["http"].as_array().unwrap();
    assert_eq!(http.len(), 4, "{vs}");
    let to_next = json!([{"destination": {"host": "obs-grafana.monitoring.svc.cluster.local", "subset": "next"}}]);
    assert_eq!(
        http[0]["match"],
        json!([{"headers": {"x-grafana-variant": {"exact": "next"}}}])
    );
    assert_eq!(http[0]["route"], to_next);
    assert_eq!(
        http[1]["match"],
        json!([{"headers": {"cookie": {"regex": COOKIE}}}])
    );
    assert_eq!(
        http[2]["match"],
        json!([{"queryParams": {"variant": {"exact": "next"}}}])
    );
    assert!(
        http[3].get("match").is_none(),
        "the default route: {}",
        http[3]
    );
    let weights: Vec<_> = http[3]["route"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["destination"]["subset"].clone(), r["weight"].clone()))
        .collect();
    assert_eq!(
        weights,
        [(json!("next"), json!(10)), (json!("stable"), json!(90))]
    );
    // The per-subset Services pick one subset already: no split, no routes on them.
    for pinned in ["obs-grafana-stable", "obs-grafana-next"] {
        assert!(find(&docs, "VirtualService", pinned).is_none(), "{pinned}");
    }
    let dr = find(&docs, "DestinationRule", "obs-grafana").expect("a DestinationRule");
    assert_eq!(dr["spec"]["subsets"].as_array().unwrap().len(), 2, "{dr}");
    // `explain` lists the VirtualService with its A/B routes.
    let detail = &out
        .report
        .generated
        .iter()
        .find(|g| g.kind == "VirtualService")
        .unwrap()
        .detail;
    assert!(
        detail.contains("A/B: header x-grafana-variant=next → subset next")
            && detail.contains("A/B: cookie grafana_variant=next → subset next")
            && detail.contains("A/B: query variant=next → subset next"),
        "{detail}"
    );
    assert_eq!(denied(&out.flows().unwrap()), Vec::<String>::new());
    validates(&text, "Istio A/B routes");
}

#[test]
fn linkerd_routes_matched_requests_to_the_subset_service_and_the_rest_by_weight() {
    let inputs = [Input::new("grafana.yaml", GRAFANA_TWO_VERSIONS)];
    let out = run(
        &inputs,
        &config(&format!("  type: linkerd\n{AB}")),
        MeshType::Linkerd,
    );
    let text = out.output.text();
    let docs = documents(&text);
    let route = find(&docs, "HTTPRoute", "obs-grafana-canary").expect("an HTTPRoute");
    for pinned in ["obs-grafana-stable-canary", "obs-grafana-next-canary"] {
        assert!(find(&docs, "HTTPRoute", pinned).is_none(), "{pinned}");
    }
    let rules = route["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 4, "{route}");
    let to_next = json!([{"name": "obs-grafana-next", "port": 80, "weight": 1}]);
    assert_eq!(
        rules[0]["matches"],
        json!([{"headers": [{"type": "Exact", "name": "x-grafana-variant", "value": "next"}]}])
    );
    assert_eq!(rules[0]["backendRefs"], to_next);
    assert_eq!(
        rules[1]["matches"],
        json!([{"headers": [{"type": "RegularExpression", "name": "cookie", "value": COOKIE}]}])
    );
    assert_eq!(
        rules[2]["matches"],
        json!([{"queryParams": [{"type": "Exact", "name": "variant", "value": "next"}]}])
    );
    assert!(rules[3].get("matches").is_none(), "{}", rules[3]);
    assert_eq!(
        rules[3]["backendRefs"],
        json!([
            {"name": "obs-grafana-next", "port": 80, "weight": 10},
            {"name": "obs-grafana-stable", "port": 80, "weight": 90}
        ])
    );
    assert!(
        !out.report
            .notes
            .iter()
            .any(|n| n.contains("create Service")),
        "the per-subset Services are in the stream: {:?}",
        out.report.notes
    );
    let detail = &out
        .report
        .generated
        .iter()
        .find(|g| g.kind == "HTTPRoute" && g.name == "obs-grafana-canary")
        .unwrap()
        .detail;
    assert!(
        detail.contains("A/B: header x-grafana-variant=next → obs-grafana-next"),
        "{detail}"
    );
    assert_eq!(denied(&out.flows().unwrap()), Vec::<String>::new());
    validates(&text, "Linkerd A/B routes");
}

/// Runs the filter with `spec`, expecting it to refuse the config; the message.
fn refused(spec: &str) -> String {
    let inputs = [Input::new("grafana.yaml", GRAFANA_TWO_VERSIONS)];
    let options = Options {
        config: Some(Input::new("config.yaml", config(spec))),
        ..Options::default()
    };
    match gunj_mesh::run(&inputs, &options) {
        Ok(_) => panic!("accepted:\n{spec}"),
        Err(f) => f.to_string(),
    }
}

#[test]
fn ab_routes_that_cannot_work_are_refused_naming_the_field() {
    let canary = "        canary:\n          subsets:\n            stable: {version: \"11\"}\n            next: {version: \"12\"}\n          weights: {stable: 100}\n";
    let grafana = "  type: istio\n  components:\n    overrides:\n      grafana:\n";
    for (routes, with_canary, field, says) in [
        (
            "          - subset: next\n            headers: {x-variant: b}\n",
            false,
            "components.overrides.grafana.abTesting",
            "set canary",
        ),
        (
            "          - subset: beta\n            headers: {x-variant: b}\n",
            true,
            "components.overrides.grafana.abTesting[0].subset",
            "not one of canary.subsets (next, stable)",
        ),
        (
            "          - subset: next\n",
            true,
            "components.overrides.grafana.abTesting[0]",
            "give headers, cookies or queryParams",
        ),
        (
            "          - subset: next\n            headers: {X-Variant: b}\n",
            true,
            "components.overrides.grafana.abTesting[0].headers.X-Variant",
            "lowercase",
        ),
        (
            "          - subset: next\n            cookies: {a: b, c: d}\n",
            true,
            "components.overrides.grafana.abTesting[0].cookies",
            "one cookie per route",
        ),
    ] {
        let spec = format!(
            "{grafana}{}        abTesting:\n{routes}",
            if with_canary { canary } else { "" }
        );
        let message = refused(&spec);
        assert!(
            message.contains(field) && message.contains(says),
            "{field}: {message}"
        );
    }
}
