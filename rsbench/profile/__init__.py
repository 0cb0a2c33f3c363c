"""Training cost: parameter counts, bytes saved for backward, peak memory and throughput."""
