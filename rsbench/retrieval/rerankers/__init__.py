"""The built-in rerankers: rescoring a strategy's scores after the fact, one module each."""
