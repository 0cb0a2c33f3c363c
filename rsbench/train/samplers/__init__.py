"""Samplers: which negatives each training step's loss sees."""
