"""Evaluate-only runs: a trained (or published) model under any strategy, reranker and evaluation option."""
