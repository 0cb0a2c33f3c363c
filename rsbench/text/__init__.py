"""Text-side components: caption augmenters (and later captioners and text encoders)."""
