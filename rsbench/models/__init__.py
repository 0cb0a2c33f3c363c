"""Models: open_clip backbones and the adapters that decide what of them trains."""
