//! The shell tests, by theme.

mod common;
mod connectors;
mod crash;
mod editing;
mod examples;
mod kafka;
mod output;
mod remote;
mod restart;
mod shell;
