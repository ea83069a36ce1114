"""Image classification data in ImageFolder layout, from a folder or a tar/zip archive.

The layout is `<class>/<any depth>/<image>`, optionally inside folders that
wrap everything (`train/<class>/...`, `test/test_dev/<class>/...`). Images are decoded once, in threads,
into one uint8 tensor at the model's size, so epochs do no decoding.
"""

from __future__ import annotations

import io
import logging
import os
import tarfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from checkpoint.manifest import ImageSpec
from inputs.errors import InputError
from inputs.images import IMAGE_SUFFIXES, decode_image
from training.data.labels import align_labels, index_labels
from training.errors import TrainingInputError

logger = logging.getLogger(__name__)

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")


@dataclass(frozen=True)
class RawImage:
    path: str
    class_name: str
    data: bytes


@dataclass(frozen=True)
class ImageData:
    """Decoded images (N, C, H, W uint8) with their class indices."""

    images: torch.Tensor
    labels: np.ndarray
    paths: list[str]


def _is_hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _iter_files(source: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (relative posix path, bytes) for every regular file in a folder or archive."""
    name = source.name.lower()
    if source.is_dir():
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for file_name in sorted(files):
                full = Path(root) / file_name
                yield full.relative_to(source).as_posix(), full.read_bytes()
    elif name.endswith(".zip"):
        try:
            with zipfile.ZipFile(source) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        yield info.filename, archive.read(info)
        except zipfile.BadZipFile as exc:
            raise TrainingInputError(f"{source} is not a readable zip archive: {exc}") from exc
    elif name.endswith((".tar", ".tar.gz", ".tgz")):
        try:
            with tarfile.open(source, "r:*") as archive:
                for member in archive:
                    if member.isfile():
                        handle = archive.extractfile(member)
                        if handle is not None:
                            yield member.name, handle.read()
        except tarfile.TarError as exc:
            raise TrainingInputError(f"{source} is not a readable tar archive: {exc}") from exc
    else:
        raise TrainingInputError(
            f"{source} is neither a folder nor an archive ({', '.join(ARCHIVE_SUFFIXES)})"
        )


def read_raw_images(source: Path) -> list[RawImage]:
    """Read every image file with its class folder, skipping hidden and non-image files."""
    if not source.exists():
        raise TrainingInputError(f"{source} does not exist")
    entries: list[tuple[tuple[str, ...], bytes]] = []
    skipped_other = 0
    for path, data in _iter_files(source):
        parts = PurePosixPath(path.lstrip("/")).parts
        if _is_hidden(parts):
            continue
        if PurePosixPath(path).suffix.lower() not in IMAGE_SUFFIXES:
            skipped_other += 1
            continue
        entries.append((parts, data))
    if skipped_other:
        logger.warning("skipped %d files in %s that are not images", skipped_other, source)
    if not entries:
        raise TrainingInputError(
            f"{source} contains no image files; expected <class>/<image> folders "
            f"with {', '.join(sorted(IMAGE_SUFFIXES))} files"
        )

    # Folders that wrap everything (`train/`, `test/test_dev/`) sit above the class folders.
    while len({parts[0] for parts, _ in entries}) == 1 and all(len(p) >= 3 for p, _ in entries):
        entries = [(parts[1:], data) for parts, data in entries]

    images = [RawImage("/".join(p), p[0], d) for p, d in entries if len(p) >= 2]
    loose = len(entries) - len(images)
    if loose:
        logger.warning("skipped %d images in %s that are not inside a class folder", loose, source)
    if not images:
        raise TrainingInputError(
            f"{source} has images but no class folders; put each class's images in a "
            f"folder named after the class"
        )
    return images


def _class_folders_without_images(source: Path, found: set[str]) -> list[str]:
    if not source.is_dir():
        return []
    roots = [source]
    children = [p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(children) == 1 and children[0].name not in found:
        roots = children
    return sorted(
        p.name
        for root in roots
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in found
    )


def decode_all(raw: list[RawImage], spec: ImageSpec, threads: int) -> tuple[np.ndarray, list[int]]:
    """Decode images in threads; return the stacked array and the indices that decoded."""
    array = np.empty((len(raw), spec.channels, spec.height, spec.width), dtype=np.uint8)
    ok: list[int] = []
    failures: Counter[str] = Counter()

    def work(i: int) -> int | None:
        try:
            array[i] = decode_image(raw[i].data, spec)
        except InputError as exc:
            failures[str(exc).split(":")[0]] += 1
            logger.debug("cannot decode %s: %s", raw[i].path, exc)
            return None
        return i

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for result in tqdm(
            pool.map(work, range(len(raw)), chunksize=64),
            total=len(raw),
            desc="decode",
            unit="img",
            leave=False,
        ):
            if result is not None:
                ok.append(result)
    skipped = len(raw) - len(ok)
    if skipped:
        logger.warning("skipped %d unreadable images: %s", skipped, dict(failures))
    return array, ok


def load_image_data(
    source: Path,
    raw: list[RawImage],
    spec: ImageSpec,
    class_names: list[str] | None,
    threads: int,
    max_memory_bytes: int,
) -> tuple[ImageData, list[str]]:
    """Decode the images read from `source`; returns the data and its class names.

    With `class_names` given (a separate test set), labels are mapped onto them.
    """
    needed = len(raw) * spec.channels * spec.height * spec.width
    if needed > max_memory_bytes:
        raise TrainingInputError(
            f"{source} holds {len(raw)} images that need {needed / 2**30:.1f} GiB decoded at "
            f"{spec.width}x{spec.height}, over --max-memory-gb; use a smaller --image-size"
        )
    found = {r.class_name for r in raw}
    empty = _class_folders_without_images(source, found)
    if empty:
        raise TrainingInputError(
            f"class folder(s) {empty} in {source} contain no readable image files; add images "
            f"or remove the folder(s)"
        )
    array, ok = decode_all(raw, spec, threads)
    if not ok:
        raise TrainingInputError(f"none of the {len(raw)} images in {source} could be decoded")
    labels_text = [raw[i].class_name for i in ok]
    if class_names is None:
        class_names, labels = index_labels(labels_text, str(source))
    else:
        labels = align_labels(labels_text, class_names, str(source))
    images = torch.from_numpy(array[np.asarray(ok)])
    return ImageData(images=images, labels=labels, paths=[raw[i].path for i in ok]), class_names


def sample_image_shape(raw: list[RawImage], limit: int = 200) -> tuple[int, int]:
    """Return the median longer side and the channel count of the first images."""
    sides, channels = [], []
    for item in raw[:limit]:
        try:
            with Image.open(io.BytesIO(item.data)) as image:
                sides.append(max(image.size))
                channels.append(1 if image.mode in ("1", "L", "I", "I;16", "F") else 3)
        except OSError:
            continue
    if not sides:
        raise TrainingInputError("none of the first images could be read")
    return int(np.median(sides)), max(channels)
