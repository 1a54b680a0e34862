"""HTTP route handlers: thin adapters that parse, call one use case, and render."""
