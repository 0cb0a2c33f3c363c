"""rsbench: a plugin-based benchmark for remote-sensing text-image retrieval."""

__version__ = "0.1.0"
