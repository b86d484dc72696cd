//! Shared pieces of the conformance runner.
