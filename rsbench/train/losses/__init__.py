"""Contrastive losses over image and text embeddings."""
