//! The shell tests, by theme.

mod common;
mod crash;
mod examples;
mod restart;
mod shell;
