"""Adapters decide which parameters of a backbone train and how embeddings are computed."""
