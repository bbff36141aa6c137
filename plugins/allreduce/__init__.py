"""cnnb's built-in all-reduce algorithms (registration only)."""
