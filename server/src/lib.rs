//! The Claw Post server as a library; `main.rs` is a thin shell over it.
//! See ARCHITECTURE.md for the map.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod jobs;
pub mod mcp;
pub mod media;
pub mod notify;
pub mod oauth;
pub mod routes;
pub mod secrets;
pub mod selectors;
pub mod startup;
pub mod state;
pub mod store;
