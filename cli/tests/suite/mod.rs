//! The shell tests, by theme.

mod common;
mod crash;
mod editing;
mod examples;
mod kafka;
mod remote;
mod restart;
mod shell;
