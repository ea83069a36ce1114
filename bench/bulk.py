"""Bulk baselines: the classic offline DataLoader loop, pyarrow's CSV parse, and dataset builders."""

from __future__ import annotations

import os
import shutil
import tarfile
import time
from pathlib import Path

import pyarrow.csv as pacsv
import torch
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from checkpoint import load_checkpoint


def extract_image_folder(archive: Path, target: Path) -> Path:
    """Unpack an ImageFolder archive and return the folder holding the class folders."""
    with tarfile.open(archive) as handle:
        handle.extractall(target, filter="data")
    root = target
    while True:
        children = [p for p in root.iterdir() if p.is_dir() and any(p.iterdir())]
        if len(children) != 1:
            return root
        root = children[0]


def dataloader_items_per_s(model_path: Path, folder: Path, batch_size: int, workers: int) -> float:
    """torchvision ImageFolder + DataLoader with workers + a model loop under inference_mode.

    The loop runs with torch's default thread count (all cores), as such a script would.
    """
    torch.set_num_threads(os.cpu_count() or 1)
    loaded = load_checkpoint(model_path)
    spec = loaded.manifest.input
    transform = v2.Compose([v2.PILToTensor(), v2.Resize((spec.height, spec.width), antialias=True)])
    dataset = ImageFolder(str(folder), transform=transform)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    count = 0
    started = time.perf_counter()
    with torch.inference_mode():
        for images, _ in loader:
            torch.softmax(loaded.module(images), 1)
            count += len(images)
    return count / (time.perf_counter() - started)


def repeat_csv(source: Path, target: Path, min_rows: int) -> int:
    """Write `source` repeated (header once) until it has at least `min_rows` rows; return the row count."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    copies = -(-min_rows // len(rows))
    with target.open("w", encoding="utf-8") as out:
        out.write(header)
        for _ in range(copies):
            out.writelines(rows)
    return copies * len(rows)


def pyarrow_rows_per_s(path: Path, rows: int) -> float:
    """Measure the parsing limit: pyarrow's multithreaded CSV reader on the whole file, all columns as read."""
    started = time.perf_counter()
    table = pacsv.read_csv(path)
    seconds = time.perf_counter() - started
    if table.num_rows != rows:
        raise RuntimeError(f"pyarrow read {table.num_rows} rows, expected {rows}")
    return rows / seconds


def repeat_archive(source_folder: Path, target: Path, copies: int) -> int:
    """A tar of `copies` copies of an image folder (for quick runs); return the image count."""
    count = 0
    with tarfile.open(target, "w") as archive:
        for copy in range(copies):
            for path in sorted(source_folder.rglob("*.jpg")):
                archive.add(path, f"copy{copy}/{path.relative_to(source_folder).as_posix()}")
                count += 1
    return count


def copy_folder(source: Path, target: Path, copies: int) -> Path:
    for copy in range(copies):
        for path in source.rglob("*.jpg"):
            out = target / path.parent.name / f"{copy}-{path.name}"
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
    return target
