"""The console's own helpers (settings store, keyring, shared connections); no business logic."""
