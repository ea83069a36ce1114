"""Offline training: real data in, self-contained TorchScript checkpoints out."""
