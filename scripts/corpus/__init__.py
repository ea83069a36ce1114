"""Builders of test inputs: image archives and a corpus of broken and unusual files."""
