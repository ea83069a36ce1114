"""Persistent bulk jobs: upload once, poll progress, fetch results later, even after a restart."""
