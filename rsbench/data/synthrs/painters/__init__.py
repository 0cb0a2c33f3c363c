"""The SynthRS scene painters, one module per family of scene classes, over shared geometry helpers."""
