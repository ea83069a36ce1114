"""Whole-dataset classification: encode chunks in a thread pool, classify in full batches, evaluate."""
