"""Sweeps: one YAML file stands for many runs (grid, zipped lists, variants, exclusions, seeds, tuning on val)."""
