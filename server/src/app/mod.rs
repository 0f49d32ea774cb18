//! The domain: every rule of Claw Post, whatever the door a request came
//! through. Adapters (REST, MCP, dashboard, OAuth, CLI) parse their input,
//! call in here and render the answer; this layer never sees HTTP requests,
//! cookies or HTML, and calls only the store, the clock and `crypto`.

pub mod grants;
pub mod jobs;
pub mod leases;
pub mod limits;
pub mod media;
pub mod notify;
pub mod oidc;
pub mod pairing;
pub mod state;
pub mod tenants;
pub mod usage;

pub use state::AppState;
