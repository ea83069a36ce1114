"""Builders for image archives in memory: tar, tar.gz and zip, links and forged headers."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from pathlib import Path


def tar_bytes(
    entries: dict[str, bytes], mode: str = "w", links: dict[str, tuple[str, bytes]] | None = None
) -> bytes:
    """A tar (mode "w") or tar.gz (mode "w:gz") with files, plus optional links {name: (target, type)}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, (target, kind) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def forge_zip_sizes(data: bytes, declared_size: int) -> bytes:
    """Rewrite every uncompressed-size field of a zip to `declared_size` (a lying header)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (index := out.find(signature, start)) != -1:
            struct.pack_into("<I", out, index + offset, declared_size)
            start = index + 4
    return bytes(out)


def image_entries(folder: Path, prefix: str = "") -> dict[str, bytes]:
    return {
        f"{prefix}{p.relative_to(folder).as_posix()}": p.read_bytes() for p in sorted(folder.rglob("*.jpg"))
    }
