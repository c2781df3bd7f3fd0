//! The LRU cache (SPEC §5).
