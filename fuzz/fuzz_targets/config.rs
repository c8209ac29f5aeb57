//! The ServiceMesh config reader, from YAML and from a KRM ConfigMap: errors, never panics;
//! an accepted config survives a write and a read unchanged.
#![no_main]

use gunj_mesh::ServiceMesh;
use gunj_mesh::internals::{component_names, yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let known = component_names();
    if let Ok(config) = ServiceMesh::from_yaml(text, &known) {
        let written = yaml::to_string(&config);
        let again = ServiceMesh::from_yaml(&written, &known)
            .unwrap_or_else(|e| panic!("an accepted config does not read back: {e}\n{written}"));
        assert_eq!(yaml::to_string(&again), written);
    }
    // The same text as a ConfigMap's data (`kpt fn eval -- key=value …`).
    if let Ok(serde_json::Value::Object(data)) = yaml::from_str::<serde_json::Value>(text) {
        let _ = ServiceMesh::from_config_map(&data, &known);
    }
});
