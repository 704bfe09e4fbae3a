//! The link between a sandbox and Corral's engine (issue 15). A sandbox has no network, and
//! with Docker Desktop no socket can be shared into it: the relay inside it carries every TCP
//! connection an agent opens (to the model gateway, the proxy, later the MCP server) to the
//! engine over one byte stream, the stdio of a `docker exec`. This crate is that stream's
//! protocol: `frame` encodes and decodes frames, `mux` runs many streams over one link with
//! per-stream flow control, so a stalled stream never holds up the others.

pub mod frame;
pub mod mux;

pub use frame::{Frame, FrameError, Kind};
pub use mux::{Door, Mux, MuxError, Role};
