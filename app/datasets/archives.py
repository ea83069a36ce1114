"""Lazy, bounded reading of image archives (.zip, .tar, .tar.gz/.tgz).

Nothing is extracted to disk: entries are read into memory one at a time.
Entries with absolute paths or `..` components, links, device files,
hidden files (`.DS_Store`, `._*`, `__MACOSX/`), nested archives and non-image
files are skipped and counted. The entry count, each entry's size and the
total decompressed size are bounded, and sizes are measured while reading,
not trusted from headers, so a forged size in a zip header does not help a bomb.
"""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

from app.datasets.items import DatasetItem, ReadLimits, SkipCounts
from inputs import InputTooLargeError, MalformedInputError
from inputs.images import IMAGE_SUFFIXES

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".gz", ".tar.bz2", ".tar.xz", ".7z", ".rar")


def sniff_archive(head: bytes) -> str | None:
    """Return 'zip' or 'tar' from the first bytes of a file (gzip counts as tar), else None."""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b") or head.startswith(b"BZh") or head.startswith(b"\xfd7zXZ"):
        return "tar"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """Path components of an entry, or None when the path is absolute or climbs out."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(part == ".." for part in parts):
        return None
    return tuple(p for p in parts if p not in ("", "."))


def _skip_reason(parts: tuple[str, ...]) -> str | None:
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return "hidden"
    suffix = PurePosixPath(parts[-1]).suffix.lower()
    if parts[-1].lower().endswith(ARCHIVE_SUFFIXES):
        return "nested_archive"
    if suffix not in IMAGE_SUFFIXES:
        return "not_an_image"
    return None


def _accepted_parts(name: str, skipped: SkipCounts, is_regular_file: bool = True) -> tuple[str, ...] | None:
    """Path components of an entry worth decoding, or None after counting why it is skipped."""
    parts = _safe_parts(name)
    if parts is None:
        skipped.add("unsafe_path")
        return None
    if not is_regular_file:
        skipped.add("link_or_special_file")
        return None
    if not parts:
        return None
    reason = _skip_reason(parts)
    if reason:
        skipped.add(reason)
        return None
    return parts


def _too_large(parts: tuple[str, ...], limits: ReadLimits) -> DatasetItem:
    return DatasetItem(
        id="/".join(parts),
        payload=None,
        error=f"entry larger than {limits.max_entry_bytes} bytes (CLASSIFY_MAX_ENTRY_BYTES)",
    )


def _true_label(parts: tuple[str, ...], class_names: frozenset[str]) -> str | None:
    """Return the nearest enclosing folder named like a class, else the immediate folder, if any."""
    for folder in reversed(parts[:-1]):
        if folder in class_names:
            return folder
    return parts[-2] if len(parts) >= 2 else None


class _Budget:
    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.entries = 0
        self.bytes = 0

    def count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise InputTooLargeError(
                f"the archive has more than {self.limits.max_entries} entries "
                f"(CLASSIFY_MAX_ARCHIVE_ENTRIES); split it into smaller archives"
            )

    def read(self, handle: BinaryIO, name: str) -> bytes:
        """Read one entry, refusing it past the per-entry or total bound."""
        data = handle.read(self.limits.max_entry_bytes + 1)
        if len(data) > self.limits.max_entry_bytes:
            raise _EntryTooLarge(name)
        self.bytes += len(data)
        if self.bytes > self.limits.max_uncompressed_bytes:
            raise InputTooLargeError(
                f"the archive decompresses to more than {self.limits.max_uncompressed_bytes} bytes "
                f"(CLASSIFY_MAX_UNCOMPRESSED_BYTES); this looks like an archive bomb or needs splitting"
            )
        return data


class _EntryTooLarge(Exception):
    pass


def _item(parts: tuple[str, ...], data: bytes, class_names: frozenset[str]) -> DatasetItem:
    return DatasetItem(id="/".join(parts), payload=data, true_label=_true_label(parts, class_names))


def iter_zip(
    file: BinaryIO, limits: ReadLimits, class_names: frozenset[str], skipped: SkipCounts
) -> Iterator[DatasetItem]:
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise MalformedInputError(f"the zip archive cannot be read: {exc}") from exc
    budget = _Budget(limits)
    with archive:
        for info in archive.infolist():
            budget.count_entry()
            if info.is_dir():
                continue
            parts = _accepted_parts(info.filename, skipped)
            if parts is None:
                continue
            try:
                with archive.open(info) as handle:
                    data = budget.read(handle, info.filename)
            except _EntryTooLarge:
                yield _too_large(parts, limits)
                continue
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                yield DatasetItem(id="/".join(parts), payload=None, error=f"entry cannot be read: {exc}")
                continue
            yield _item(parts, data, class_names)


def iter_tar(
    file: BinaryIO, limits: ReadLimits, class_names: frozenset[str], skipped: SkipCounts
) -> Iterator[DatasetItem]:
    try:
        # Streaming mode reads forward only, so a .tar.gz is never decompressed twice.
        archive = tarfile.open(fileobj=file, mode="r|*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise MalformedInputError(f"the tar archive cannot be read: {exc}") from exc
    budget = _Budget(limits)
    try:
        with archive:
            for member in archive:
                budget.count_entry()
                if member.isdir():
                    continue
                parts = _accepted_parts(member.name, skipped, member.isfile())
                if parts is None:
                    continue
                if member.size > limits.max_entry_bytes:
                    yield _too_large(parts, limits)
                    continue
                handle = archive.extractfile(member)
                if handle is None:
                    skipped.add("link_or_special_file")
                    continue
                data = budget.read(handle, member.name)
                yield _item(parts, data, class_names)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise MalformedInputError(f"the tar archive is corrupt or truncated: {exc}") from exc
