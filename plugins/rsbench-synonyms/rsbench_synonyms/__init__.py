"""rsbench plugin: synonym replacement for training captions."""
