//! tokbench command-line entry point.
fn main() {}
