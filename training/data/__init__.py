"""Loading training data: image folders and archives, text and tabular CSVs, splits."""
