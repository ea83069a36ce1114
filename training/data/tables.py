"""CSV reading for text and tabular training data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from inputs.csv_dialect import detect_delimiter
from training.errors import TrainingInputError


def read_csv(path: Path, encoding: str) -> pd.DataFrame:
    """Read a CSV with every cell as a string and no NA parsing (missing values are decided later)."""
    if not path.is_file():
        raise TrainingInputError(f"{path} does not exist or is not a file")
    try:
        with path.open(encoding=encoding, newline="") as handle:
            delimiter = detect_delimiter(handle.readline())
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=encoding,
            sep=delimiter,
            encoding_errors="strict",
        )
    except UnicodeDecodeError as exc:
        raise TrainingInputError(
            f"{path} is not valid {encoding} (byte {exc.start}: {exc.reason}); re-save it as "
            f"UTF-8 or pass its encoding, for example --encoding latin-1"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise TrainingInputError(f"{path} is empty") from exc
    except pd.errors.ParserError as exc:
        raise TrainingInputError(f"{path} is not a well-formed CSV: {exc}") from exc
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    if frame.empty:
        raise TrainingInputError(f"{path} has a header but no rows")
    return frame


def require_columns(frame: pd.DataFrame, columns: list[str], path: Path, option: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TrainingInputError(
            f"{path} has no column {missing[0]!r} (set by {option}); its columns are {list(frame.columns)}"
        )


def clean_labels(frame: pd.DataFrame, label_column: str, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Drop rows with an empty label; return the frame and its stripped labels."""
    labels = frame[label_column].str.strip()
    keep = labels != ""
    if not keep.any():
        raise TrainingInputError(f"{path}: column {label_column!r} is empty in every row")
    frame = frame[keep.to_numpy()].reset_index(drop=True)
    return frame, labels[keep].tolist()
