"""Delimiter detection for uploaded and training CSVs."""

from __future__ import annotations

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")


def detect_delimiter(header_line: str) -> str:
    """Pick the delimiter that splits the header line into the most fields (comma on ties).

    Only the header is looked at, because data cells (free text) often contain
    semicolons or commas inside quotes.
    """
    best, best_count = ",", header_line.count(",")
    for delimiter in CANDIDATE_DELIMITERS[1:]:
        count = header_line.count(delimiter)
        if count > best_count:
            best, best_count = delimiter, count
    return best
