//! The config reference as a Markdown table, generated from the same types as the JSON
//! Schema (the README embeds it; a test keeps the two equal).

use super::schema;

/// The config reference: one row per field, with its type, default and description.
pub fn reference() -> String {
    let schema = schema();
    let mut rows = vec![
        "| field | type | default | description |".to_string(),
        "|---|---|---|---|".to_string(),
    ];
    walk(&schema, &schema, "", &mut rows);
    rows.join("\n") + "\n"
}

fn walk(
    schema: &serde_json::Value,
    node: &serde_json::Value,
    prefix: &str,
    rows: &mut Vec<String>,
) {
    // A `$ref`, or an optional one (`anyOf: [{$ref}, {type: null}]`), is its definition.
    let resolve = |v: &serde_json::Value| -> serde_json::Value {
        let reference = v.get("$ref").or_else(|| {
            v.get("anyOf")?
                .as_array()?
                .iter()
                .find_map(|variant| variant.get("$ref"))
        });
        match reference.and_then(|r| r.as_str()) {
            Some(r) => schema["$defs"][r.trim_start_matches("#/$defs/")].clone(),
            None => v.clone(),
        }
    };
    let Some(props) = resolve(node)
        .get("properties")
        .and_then(|p| p.as_object())
        .cloned()
    else {
        return;
    };
    for (name, prop) in props {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let target = resolve(&prop);
        let ty = if let Some(values) = target.get("enum").and_then(|e| e.as_array()) {
            values
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" \\| ")
        } else if let Some(variants) = target.get("oneOf").and_then(|e| e.as_array()) {
            variants
                .iter()
                .filter_map(|v| {
                    v.get("const")
                        .or_else(|| v["enum"].get(0))
                        .and_then(|c| c.as_str())
                })
                .collect::<Vec<_>>()
                .join(" \\| ")
        } else if let Some(items) = target.get("items") {
            let item = resolve(items);
            let inner = item
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("object");
            format!("list of {inner}")
        } else {
            match &target["type"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .filter(|t| *t != "null")
                    .collect::<Vec<_>>()
                    .join(" \\| "),
                _ => "object".into(),
            }
        };
        let default = match prop.get("default") {
            Some(serde_json::Value::Object(_)) | None => String::new(),
            Some(d) => format!("`{d}`"),
        };
        let description = prop
            .get("description")
            .or_else(|| target.get("description"))
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .replace('\n', " ")
            .replace('|', "\\|");
        rows.push(format!("| `{path}` | {ty} | {default} | {description} |"));
        walk(schema, &prop, &path, rows);
        if let Some(items) = target.get("items") {
            walk(schema, items, &format!("{path}[]"), rows);
        }
    }
}
