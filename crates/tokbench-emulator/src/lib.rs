//! Emulated OpenAI-compatible backend (placeholder; being built).
