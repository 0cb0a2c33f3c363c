"""The built-in retrieval strategies, one module each."""
