//! The server's end-to-end tests, one module per kind of client.

mod analytic;
mod client_libraries;
mod command_sequence;
mod connect;
mod console;
mod curl_h2;
mod curl_http1;
pub mod harness;
mod inserts;
mod metrics;
mod push_fanout;
mod python_client;
mod schema_registry;
mod security;
mod tombstones;
mod websocket;
