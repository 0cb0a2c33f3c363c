"""Caption augmenters: rewrite captions for training and, where a method needs it, for queries."""
