"""Property-based tests: random valid plans through render → parse and through the sandbox."""
