//! The server's integration tests, in one test binary: each module drives
//! a real server over HTTP (on a random port, with a fresh SQLite database
//! and, for the tests named `postgres`, a fresh PostgreSQL schema).
//!
//! `cargo test -p clawpost-server --test suite -- --skip postgres` runs the
//! SQLite half; `--skip dashboard_browser --skip mcp_e2e` leaves out the
//! tests that need Chromium or the Python MCP SDK.

#[macro_use]
mod common;
mod dashboard_client;
mod oidc_provider;

mod cli;
mod connect;
mod dashboard;
mod dashboard_browser;
mod dashboard_oidc;
mod extension;
mod jobs;
mod limits;
mod mcp_e2e;
mod media;
mod multi_instance;
mod oauth;
mod reference_examples;
mod rotation;
mod signup;
mod smoke;
mod ws;
