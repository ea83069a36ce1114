"""Write the small real samples bundled in `samples/` from the full data sets.

Images: the first 20 CIFAR-10 test images of each class (never used in training).
Text and tabular: the first 300 rows of the held-out test split that
`make models` uses (seed 0), so demo accuracy is held-out accuracy.

    python scripts/make_samples.py --data-root DIR
"""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path, PurePosixPath

import numpy as np

from training.data.labels import index_labels
from training.data.splits import stratified_split
from training.data.tables import clean_labels, read_csv

ROOT = Path(__file__).resolve().parent.parent / "samples"
IMAGES_PER_CLASS = 20
ROWS = 300


def write_images(test_tar: Path) -> None:
    target = ROOT / "images" / "cifar10"
    with tarfile.open(test_tar) as archive:
        for member in archive:
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or len(parts) < 2:
                continue
            class_name, file_name = parts[-2], parts[-1]
            if int(PurePosixPath(file_name).stem) >= IMAGES_PER_CLASS:
                continue
            out = target / class_name / file_name
            out.parent.mkdir(parents=True, exist_ok=True)
            handle = archive.extractfile(member)
            if handle is not None:
                out.write_bytes(handle.read())


def write_test_rows(source: Path, label_column: str, target: Path) -> None:
    frame, labels_text = clean_labels(read_csv(source, "utf-8"), label_column, source)
    _, labels = index_labels(labels_text, str(source))
    split = stratified_split(labels, 0.1, 0.15, seed=0)
    rows = np.sort(split.test)[:ROWS]
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.iloc[rows].to_csv(target, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-root",
        type=Path,
        required=True,
        help="folder with images/cifar10/test.tar, text/sms_spam.csv, tabular/adult.csv",
    )
    args = parser.parse_args()
    write_images(args.data_root / "images/cifar10/test.tar")
    write_test_rows(args.data_root / "text/sms_spam.csv", "label", ROOT / "text" / "sms_spam.csv")
    write_test_rows(args.data_root / "tabular/adult.csv", "income", ROOT / "tabular" / "adult.csv")


if __name__ == "__main__":
    main()
