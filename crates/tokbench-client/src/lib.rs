//! Streaming client and load engine (being built).
