//! The shell tests, by theme.

mod common;
mod crash;
mod examples;
mod kafka;
mod restart;
mod shell;
