//! The `sluice` shell used as a user would: through a real terminal (tmux),
//! running the scripts in `sql-examples/`, and restarting over the same data
//! directory. All of these run the built binary as a separate process.
//!
//! This is the crate's one integration-test binary; its modules live in
//! `suite/` so that Cargo does not build each file as a test of its own.

mod suite;
