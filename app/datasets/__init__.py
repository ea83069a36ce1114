"""Safe, lazy readers for uploaded datasets: image archives and CSV files."""
