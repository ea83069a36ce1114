"""Image files for the input corpus, made with Pillow from a bundled sample photo."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# A photo whose class does not survive a quarter turn well, so the EXIF case can tell
# a rotated reading from an unrotated one.
SAMPLE_PHOTO = Path("images") / "cifar10" / "ship" / "0001.jpg"

SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32">'
    b'<rect width="32" height="32" fill="red"/></svg>\n'
)

EXIF_ORIENTATION_TAG = 0x0112
# "Rotate 90 degrees clockwise to display": the stored pixels are turned a quarter
# counter-clockwise from how the photo should look.
ORIENTATION_ROTATE_90_CW = 6


def sample_photo(samples: Path) -> Image.Image:
    with Image.open(samples / SAMPLE_PHOTO) as image:
        return image.convert("RGB")


def sample_jpeg_bytes(samples: Path) -> bytes:
    return (samples / SAMPLE_PHOTO).read_bytes()


def _save(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def jpeg(image: Image.Image) -> bytes:
    return _save(image, "JPEG", quality=100, subsampling=0)


def png(image: Image.Image) -> bytes:
    return _save(image, "PNG")


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def sixteen_bit_png(image: Image.Image) -> bytes:
    gray = np.asarray(image.convert("L"), dtype=np.uint16)
    return png(Image.fromarray(gray * 257))


def palette_png_with_transparency(image: Image.Image) -> bytes:
    palette = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    return _save(palette, "PNG", transparency=0)


def animated_gif(image: Image.Image) -> bytes:
    frames = [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), image.convert("L").convert("RGB")]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def sideways(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_90)


def exif_rotated_jpeg(image: Image.Image) -> bytes:
    """Store the photo a quarter turn counter-clockwise, with the EXIF tag that turns it back."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = ORIENTATION_ROTATE_90_CW
    return _save(sideways(image), "JPEG", quality=100, subsampling=0, exif=exif.tobytes())


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declaring_size(width: int, height: int) -> bytes:
    """Build a few hundred bytes of PNG whose header declares width x height RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    first_rows = zlib.compress(b"\x00" * (3 * width + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", first_rows)
        + _png_chunk(b"IEND", b"")
    )


def corrupt_central_directory(zip_data: bytes) -> bytes:
    """Overwrite the central directory's file headers so the archive cannot be listed."""
    start = zip_data.find(b"PK\x01\x02")
    end = zip_data.find(b"PK\x05\x06")
    return zip_data[:start] + b"\xde\xad" * ((end - start) // 2) + zip_data[start + 2 * ((end - start) // 2) :]
