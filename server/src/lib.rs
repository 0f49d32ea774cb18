//! The Claw Post server as a library; `main.rs` is a thin shell over it.
//! See ARCHITECTURE.md for the map: adapters (`api`, `mcp`, `oauth`,
//! `dashboard`, `cli`) parse, call the domain (`app`) and render; the domain
//! owns every rule and calls the store; `startup` only wires.

pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod dashboard;
pub mod error;
pub mod mcp;
pub mod oauth;
pub mod selectors;
pub mod settings;
pub mod startup;
pub use clawpost_store as store;
pub mod web;
