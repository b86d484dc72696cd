//! The shell tests, by theme.

mod common;
mod examples;
mod restart;
mod shell;
