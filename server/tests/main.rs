//! The server crate's one integration-test binary: a real server on a free
//! loopback port over an in-memory engine, driven with real HTTP clients
//! (`curl` over HTTP/1.1 and h2c, and ksqlDB's client libraries for Python
//! and node).

mod suite;
