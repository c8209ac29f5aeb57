//! gunj-mesh: puts the observability components of a rendered manifest stream into a
//! service mesh.
//!
//! The pipeline, top to bottom ([`run`], in `pipeline.rs`):
//! 1. **split**: each input is cut into documents as text, and a header scan reads each
//!    one's `kind` (`io::stream`). A regular file is read by [`read_file`], which leaves the
//!    documents the filter never reads in the file (`io::sparse`). A stream that is a KRM
//!    `ResourceList` goes to the KRM mode (`krm.rs`) from here.
//! 2. **parse**: only documents that may change (workloads, Services, Namespaces, Lists,
//!    configs, the resources gunj-mesh generates, anything the scan cannot vouch for) are
//!    parsed into trees that remember every node's place in the text (`yaml`), on every
//!    core.
//! 3. **config**: flags > `--config` > a `ServiceMesh` document in the stream > a KRM
//!    `functionConfig` > the embedded default; `type: auto` is resolved (`plan::setup`).
//! 4. **plan** (`plan`): each object is recognised (`model::catalog`) and decided
//!    (`decide`); the stack's inventory is taken (`model::stack`); policies and telemetry
//!    are generated from it (`generate`); everything lands in a [`Report`].
//! 5. **patch**: each changed document's patch becomes text splices (`yaml::edit`).
//! 6. **assemble**: untouched documents stay runs of input bytes (or of the input file),
//!    written out without being copied in memory (`io::output`).
//!
//! `gunj-mesh kustomize` runs steps 1–5 and writes the edits as kustomize patches instead
//! (`kustomize`, [`patch_set`]).
//!
//! Nothing is written on error: [`run`] returns a [`Failure`] that says where.

#![deny(unsafe_code)]

mod config;
mod decide;
mod error;
mod generate;
mod io;
mod krm;
mod kustomize;
mod model;
mod parallel;
mod pipeline;
mod plan;
mod report;
mod verify;
mod yaml;

pub use config::{ConfigError, MeshType, ServiceMesh, reference, schema};
pub use error::{Failure, redact};
pub use io::input::{Input, read_whole};
pub use io::output::Output;
pub use kustomize::PatchSet;
pub use model::graph::{Edge, Found, Graph, Node, Party, Protocol, Verdict, Via};
pub use pipeline::{patch_set, read_file, run};
pub use plan::setup::read_config;
pub use plan::{Fixes, Flows, Options, Outcome};
pub use report::{Change, Entry, EntryAction, GeneratedAction, GeneratedEntry, Report};
pub use report::{check, flows};
pub use yaml::Limits;

/// Internals that the tests, fuzz targets and benchmarks check directly (the fast paths
/// against their references). Not an API: it changes with the code.
#[doc(hidden)]
pub mod internals {
    pub use crate::io::stream::documents;
    pub use crate::krm::is_resource_list;
    pub use crate::model::catalog::names as component_names;
    pub use crate::model::kinds::pod_kind;

    /// The stream split ([`crate::io::stream`]).
    pub mod stream {
        pub use crate::io::stream::{Doc, boundaries, split};
    }

    /// The parsers and the emitter ([`crate::yaml`]).
    pub mod yaml {
        pub use crate::yaml::{
            Kind, Limits, Node, Style, Tag, check, fast, from_str, parse, parse_full, to_string,
        };
    }
}
