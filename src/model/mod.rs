//! What the filter knows about a stream: the objects in it, the workloads that run pods and
//! the observability components they are, the mesh, ports and protocols, and the inventory
//! of the stack. Reads the config and the YAML trees; imports no stage.

pub mod catalog;
pub mod graph;
pub mod kinds;
pub mod mesh;
pub mod object;
pub mod ports;
pub mod release;
pub mod stack;
pub mod workload;
