//! The link between a sandbox and Corral's engine (issue 15). A sandbox has no network, and
//! with Docker Desktop no socket can be shared into it: the relay inside it carries every TCP
//! connection an agent opens (to the model gateway, the proxy, later the MCP server) to the
//! engine over one byte stream, the stdio of a `docker exec`. `frame` encodes and decodes
//! frames, `mux` runs many streams over one link with per-stream flow control, so a stalled
//! stream never holds up the others, `service` names the doors, and `relay` is what the
//! binary inside the sandbox does.

pub mod frame;
pub mod mux;
pub mod relay;
pub mod service;
pub mod stdio;

pub use frame::{Frame, FrameError, Kind};
pub use mux::{Door, Incoming, Mux, MuxError, Role};
pub use service::Service;
