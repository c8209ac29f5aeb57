//! The integration tests, as one test binary (`cargo test --test it`; cargo finds it as
//! `tests/it/main.rs`, and no other file sits directly in `tests/`): one module per area,
//! so that cargo links one executable against the library instead of one per file. Run one area
//! with a filter, `cargo test --test it bad_inputs::`. What the modules share is in
//! [`common`].

mod common;

mod argocd;
mod bad_inputs;
mod check;
mod ci_action;
mod cores;
mod corpus;
mod edge_cases;
mod edits;
mod examples;
mod fast_yaml;
mod filter;
mod first_minutes;
mod helm_e2e;
mod krm;
mod krm_examples;
mod kustomize;
mod layers;
mod output_file;
mod policies;
mod properties;
mod readme;
mod releases;
mod sarif;
mod secrets;
mod sparse;
mod telemetry;
mod traffic;
mod validate;
mod warnings;
mod world;
