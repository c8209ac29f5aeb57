//! What the config's types cannot check: component names, regular expressions, JSONPath
//! filters, durations, identities, ranges.

use super::{
    Algorithm, Observability, ServiceMesh, Traffic, {API_VERSION, KIND},
};

/// A config that cannot be used: the field at fault, when one is, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The field's path, such as `spec.components.include`.
    pub field: Option<String>,
    pub message: String,
    /// The 1-based line and column in the config's text, when the reader knows them.
    pub place: Option<(usize, usize)>,
}

impl ConfigError {
    pub fn at(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            field: Some(field.into()),
            message: message.into(),
            place: None,
        }
    }

    /// An error that names no single field (a syntax or type error, whose message says where).
    pub fn other(message: impl Into<String>) -> ConfigError {
        ConfigError {
            field: None,
            message: message.into(),
            place: None,
        }
    }

    /// The error at 1-based `line` and `column` of the config's text.
    pub fn placed(mut self, line: usize, column: usize) -> ConfigError {
        self.place = Some((line, column));
        self
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ServiceMesh {
    /// Checks what the types cannot; `known` are the catalog's component names.
    pub fn validate(&self, known: &[&str]) -> Result<(), ConfigError> {
        if self.api_version != API_VERSION || self.kind != KIND {
            return Err(ConfigError::at(
                "apiVersion/kind",
                format!(
                    "expected `{API_VERSION}` `{KIND}`, found `{}` `{}`",
                    self.api_version, self.kind
                ),
            ));
        }
        let spec = &self.spec;
        let is_component = |name: &str| {
            known.contains(&name) || spec.components.custom.iter().any(|c| c.name == name)
        };
        let unknown = |field: &str, name: &str| {
            ConfigError::at(
                field,
                format!(
                    "unknown component `{name}`; known components: {}",
                    known.join(", ")
                ),
            )
        };
        let overrides: Vec<&String> = spec.components.overrides.keys().collect();
        for (field, names) in [
            (
                "spec.components.include",
                spec.components.include.iter().collect(),
            ),
            (
                "spec.components.exclude",
                spec.components.exclude.iter().collect(),
            ),
            ("spec.components.overrides", overrides),
        ] {
            for name in names {
                if !is_component(name) {
                    return Err(unknown(field, name));
                }
            }
        }
        for (i, custom) in spec.components.custom.iter().enumerate() {
            let field = format!("spec.components.custom[{i}]");
            if custom.name.is_empty() {
                return Err(ConfigError::at(
                    format!("{field}.name"),
                    "must not be empty",
                ));
            }
            if custom.match_labels.is_empty()
                && custom.image.is_none()
                && custom.json_path.is_none()
            {
                return Err(ConfigError::at(
                    field,
                    "give at least one of matchLabels, image, jsonPath",
                ));
            }
            if let Some(re) = &custom.image {
                regex::Regex::new(re).map_err(|e| {
                    ConfigError::at(
                        format!("{field}.image"),
                        format!("not a valid regular expression: {e}"),
                    )
                })?;
            }
            if let Some(path) = &custom.json_path {
                jsonpath_rust::parser::parse_json_path(path).map_err(|e| {
                    ConfigError::at(
                        format!("{field}.jsonPath"),
                        format!("not a valid JSONPath: {e}"),
                    )
                })?;
                if descents(path) > 1 {
                    return Err(ConfigError::at(
                        format!("{field}.jsonPath"),
                        "may descend (`..`) only once: each further descent multiplies the work by the size of the object (`$..*..*..*..*` took 46 s and 13 GB on one document); name the path down to the part to search, as in `$.spec.template..image`",
                    ));
                }
            }
        }
        for ns in &spec.namespaces {
            if !is_dns_label(ns) {
                return Err(ConfigError::at(
                    "spec.namespaces",
                    format!("`{ns}` is not a valid namespace name (RFC 1123 label)"),
                ));
            }
        }
        if let Some(rev) = &spec.istio.revision
            && !is_label_value(rev)
        {
            return Err(ConfigError::at(
                "spec.istio.revision",
                format!("`{rev}` is not a valid label value"),
            ));
        }
        for (field, domain) in [
            ("spec.trustDomain", &spec.trust_domain),
            ("spec.clusterDomain", &spec.cluster_domain),
        ] {
            if !domain.split('.').all(is_dns_label) {
                return Err(ConfigError::at(
                    field,
                    format!("`{domain}` is not a DNS domain (dot-separated RFC 1123 labels)"),
                ));
            }
        }
        for (field, version, example) in [
            ("spec.istio.version", &spec.istio.version, "1.28"),
            ("spec.linkerd.version", &spec.linkerd.version, "2.19"),
        ] {
            if let Some(v) = version
                && super::Release::parse(v).is_none()
            {
                return Err(ConfigError::at(
                    field,
                    format!("`{v}` is not a release; write major.minor[.patch], e.g. `{example}`"),
                ));
            }
        }
        if let Some(t) = &spec.traffic_management {
            t.validate("spec.trafficManagement")?;
        }
        for (name, t) in &spec.components.overrides {
            t.validate(&format!("spec.components.overrides.{name}"))?;
        }
        if let Some(m) = &spec.mtls
            && m.port_exceptions.contains(&0)
        {
            return Err(ConfigError::at(
                "spec.mtls.portExceptions",
                "0 is not a port",
            ));
        }
        if let Some(a) = &spec.authorization {
            for (i, rule) in a.allow.iter().enumerate() {
                let field = format!("spec.authorization.allow[{i}]");
                check_identity(&format!("{field}.from"), &rule.from, &is_component)?;
                if !is_component(&rule.to) {
                    return Err(unknown(&format!("{field}.to"), &rule.to));
                }
            }
            for (i, id) in a.ingress.iter().flatten().enumerate() {
                check_identity(&format!("spec.authorization.ingress[{i}]"), id, &|_| false)?;
            }
            for (i, peer) in a.peers.iter().flatten().enumerate() {
                let field = format!("spec.authorization.peers[{i}]");
                if !is_component(&peer.component) {
                    return Err(unknown(&format!("{field}.component"), &peer.component));
                }
                for (j, id) in peer.service_accounts.iter().enumerate() {
                    check_identity(&format!("{field}.serviceAccounts[{j}]"), id, &|_| false)?;
                    if id == "*" {
                        return Err(ConfigError::at(
                            format!("{field}.serviceAccounts[{j}]"),
                            "`*` is not a ServiceAccount: list namespaces in `namespaces`"
                                .to_string(),
                        ));
                    }
                }
            }
        }
        if let Some(o) = &spec.observability {
            o.validate()?;
        }
        if let Some(v) = &spec.linkerd.proxy.await_ready
            && v != "enabled"
            && v != "disabled"
        {
            return Err(ConfigError::at(
                "spec.linkerd.proxy.awaitReady",
                format!("`{v}`; allowed values: enabled, disabled"),
            ));
        }
        Ok(())
    }
}

/// True for a DNS-1123 label, what a namespace name must be.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_label_value(s: &str) -> bool {
    s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Checks a duration as Istio and Linkerd read it: one or more `<number><unit>` with unit
/// `ms`, `s`, `m` or `h`, and not zero.
pub fn check_duration(field: &str, value: &str) -> Result<(), ConfigError> {
    millis(value).filter(|&ms| ms > 0).map(|_| ()).ok_or_else(|| {
        ConfigError::at(
            field,
            format!(
                "`{value}` is not a duration; write a positive number with a unit, such as `500ms`, `2s` or `1m`"
            ),
        )
    })
}

/// A duration (`<number><unit>`, repeated, unit `ms`, `s`, `m` or `h`) in whole
/// milliseconds, rounded up; `None` when it is not one.
pub fn millis(value: &str) -> Option<u64> {
    let mut rest = value;
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, scale) = [("ms", 1.0), ("s", 1e3), ("m", 6e4), ("h", 3.6e6)]
            .into_iter()
            .find(|(u, _)| rest.starts_with(u))?;
        rest = &rest[unit.len()..];
        total += number * scale;
    }
    Some(total.ceil() as u64)
}

impl Traffic {
    /// Checks what the types cannot; `field` is where this block sits in the config.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        if let Some(t) = &self.timeout {
            check_duration(&format!("{field}.timeout"), t)?;
        }
        if let Some(r) = &self.retries
            && let Some(t) = &r.per_try_timeout
        {
            check_duration(&format!("{field}.retries.perTryTimeout"), t)?;
        }
        if let Some(cb) = &self.circuit_breaker {
            for (name, v) in [
                ("interval", &cb.interval),
                ("baseEjectionTime", &cb.base_ejection_time),
            ] {
                if let Some(v) = v {
                    check_duration(&format!("{field}.circuitBreaker.{name}"), v)?;
                }
            }
            if cb.max_ejection_percent.is_some_and(|p| p > 100) {
                return Err(ConfigError::at(
                    format!("{field}.circuitBreaker.maxEjectionPercent"),
                    "must be between 0 and 100",
                ));
            }
            if cb.min_health_percent.is_some_and(|p| p == 0 || p > 100) {
                return Err(ConfigError::at(
                    format!("{field}.circuitBreaker.minHealthPercent"),
                    "must be between 1 and 100: at 0, outlier detection may eject a Service's last endpoint",
                ));
            }
        }
        if let Some(lb) = &self.load_balancer {
            let at = format!("{field}.loadBalancer.hashKey");
            match (lb.algorithm, &lb.hash_key) {
                (Algorithm::ConsistentHash, None) => {
                    return Err(ConfigError::at(
                        at,
                        "CONSISTENT_HASH needs a header name or `sourceIP`",
                    ));
                }
                (a, Some(_)) if a != Algorithm::ConsistentHash => {
                    return Err(ConfigError::at(at, "only used with CONSISTENT_HASH"));
                }
                _ => {}
            }
        }
        if let Some(c) = &self.canary {
            let sum: u32 = c.weights.values().sum();
            if sum != 100 {
                return Err(ConfigError::at(
                    format!("{field}.canary.weights"),
                    format!("add up to {sum}; they must add up to 100"),
                ));
            }
            for name in c.weights.keys() {
                if !c.subsets.contains_key(name) {
                    return Err(ConfigError::at(
                        format!("{field}.canary.weights"),
                        format!("`{name}` is not one of canary.subsets"),
                    ));
                }
            }
            for (name, labels) in &c.subsets {
                if labels.is_empty() {
                    return Err(ConfigError::at(
                        format!("{field}.canary.subsets.{name}"),
                        "give the pod labels that select the subset",
                    ));
                }
            }
        }
        self.validate_ab_testing(field)?;
        if let Some(f) = &self.fault_injection {
            if !(0.0..=100.0).contains(&f.percentage) {
                return Err(ConfigError::at(
                    format!("{field}.faultInjection.percentage"),
                    format!("{} is not between 0 and 100", f.percentage),
                ));
            }
            if let Some(d) = &f.delay {
                check_duration(&format!("{field}.faultInjection.delay"), d)?;
            }
            if f.abort.is_some_and(|s| !(200..=599).contains(&s)) {
                return Err(ConfigError::at(
                    format!("{field}.faultInjection.abort"),
                    "an HTTP status between 200 and 599",
                ));
            }
            if f.delay.is_none() && f.abort.is_none() {
                return Err(ConfigError::at(
                    format!("{field}.faultInjection"),
                    "give a delay, an abort status, or both",
                ));
            }
        }
        Ok(())
    }
}

impl Traffic {
    /// Checks `abTesting`: each route names a canary subset and matches on something, with
    /// names the meshes accept (Istio takes lowercase header names; a Gateway API route
    /// holds at most 16 rules, one of them the default).
    fn validate_ab_testing(&self, field: &str) -> Result<(), ConfigError> {
        if self.ab_testing.is_empty() {
            return Ok(());
        }
        let Some(canary) = &self.canary else {
            return Err(ConfigError::at(
                format!("{field}.abTesting"),
                "routes to subsets of canary.subsets: set canary (its subsets, and the weights the other requests follow)",
            ));
        };
        if self.ab_testing.len() > 15 {
            return Err(ConfigError::at(
                format!("{field}.abTesting"),
                format!(
                    "{} routes; at most 15 (a route holds 16 rules, one of them the weighted default)",
                    self.ab_testing.len()
                ),
            ));
        }
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        for (i, route) in self.ab_testing.iter().enumerate() {
            let at = format!("{field}.abTesting[{i}]");
            if !canary.subsets.contains_key(&route.subset) {
                return Err(ConfigError::at(
                    format!("{at}.subset"),
                    format!(
                        "`{}` is not one of canary.subsets ({})",
                        route.subset,
                        canary
                            .subsets
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if route.headers.is_empty() && route.cookies.is_empty() && route.query_params.is_empty()
            {
                return Err(ConfigError::at(
                    at,
                    "give headers, cookies or queryParams to match; unmatched requests already follow canary.weights",
                ));
            }
            for name in route.headers.keys() {
                if !token(name) || name.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(ConfigError::at(
                        format!("{at}.headers.{name}"),
                        "a header name is a lowercase HTTP token, such as `x-variant`",
                    ));
                }
                if name == "cookie" && !route.cookies.is_empty() {
                    return Err(ConfigError::at(
                        format!("{at}.headers.cookie"),
                        "match cookies with `cookies` alone; both match the cookie header",
                    ));
                }
            }
            if route.cookies.len() > 1 {
                return Err(ConfigError::at(
                    format!("{at}.cookies"),
                    "one cookie per route: the meshes match all cookies as one header",
                ));
            }
            for name in route.cookies.keys() {
                if !token(name) {
                    return Err(ConfigError::at(
                        format!("{at}.cookies.{name}"),
                        "a cookie name is an HTTP token, such as `variant`",
                    ));
                }
            }
            for name in route.query_params.keys() {
                if name.is_empty() || name.contains(['&', '=', '#', ' ']) {
                    return Err(ConfigError::at(
                        format!("{at}.queryParams.{name}"),
                        "a query parameter name, such as `variant`",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Checks one `from` of an allow rule.
fn check_identity(
    field: &str,
    from: &str,
    known: &dyn Fn(&str) -> bool,
) -> Result<(), ConfigError> {
    if from == "*" || known(from) {
        return Ok(());
    }
    match from.split_once('/') {
        Some((ns, sa)) if !ns.is_empty() && !sa.is_empty() && !sa.contains('/') => Ok(()),
        _ => Err(ConfigError::at(
            field,
            format!("`{from}` is neither a known component, `namespace/serviceaccount`, nor `*`"),
        )),
    }
}

impl Observability {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(t) = &self.tracing
            && !(0.0..=100.0).contains(&t.sampling_rate)
        {
            return Err(ConfigError::at(
                "spec.observability.tracing.samplingRate",
                format!("{} is not between 0 and 100", t.sampling_rate),
            ));
        }
        if let Some(d) = &self.dashboards
            && d.label.len() != 1
        {
            return Err(ConfigError::at(
                "spec.observability.dashboards.label",
                "give exactly one label, e.g. {grafana_dashboard: \"1\"}",
            ));
        }
        Ok(())
    }
}

/// How many recursive descents (`..`) a JSONPath has, outside quoted names.
fn descents(path: &str) -> usize {
    let mut quote = None;
    let mut count = 0;
    let mut previous = '\0';
    for c in path.chars() {
        match (quote, c) {
            (Some(q), c) if c == q && previous != '\\' => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '.') if previous == '.' => {
                count += 1;
                previous = '\0';
                continue;
            }
            (None, _) => {}
        }
        previous = c;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_path_descents_outside_quotes() {
        assert_eq!(descents("$.spec.template.spec.containers[*].image"), 0);
        assert_eq!(descents("$..image"), 1);
        assert_eq!(descents("$.spec..containers[?(@.name == 'a..b')]"), 1);
        assert_eq!(descents("$..*..*..*..*"), 4);
        assert_eq!(descents("$...a"), 1);
    }

    #[test]
    fn durations() {
        for ok in ["1s", "500ms", "1m30s", "0.5s", "2h"] {
            check_duration("t", ok).unwrap();
        }
        for bad in ["", "-1s", "1", "s", "0s", "1d", "1.2.3s"] {
            assert!(check_duration("t", bad).is_err(), "{bad}");
        }
        assert_eq!(millis("1m30s"), Some(90_000));
        assert_eq!(millis("0.5s"), Some(500));
        assert_eq!(millis("250ms"), Some(250));
        assert_eq!(millis("2h"), Some(7_200_000));
    }
}
