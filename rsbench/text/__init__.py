"""Text-side components: caption augmenters, text encoders (and later captioners)."""
