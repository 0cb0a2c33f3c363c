"""Retrieval strategies: how a trained model turns queries and a gallery into a similarity matrix."""
