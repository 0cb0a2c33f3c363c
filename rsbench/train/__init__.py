"""Training: samplers (where negatives come from), losses, and the training loop."""
