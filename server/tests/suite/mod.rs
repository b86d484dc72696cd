//! The server's end-to-end tests, one module per kind of client.

mod client_libraries;
mod curl_h2;
mod curl_http1;
pub mod harness;
mod inserts;
mod push_fanout;
mod python_client;
mod schema_registry;
mod security;
mod websocket;
