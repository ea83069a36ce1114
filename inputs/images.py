"""Decode image bytes into uint8 CHW arrays of a model's size and channels."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from checkpoint.manifest import ImageSpec
from inputs.errors import InputTooLargeError, MalformedInputError, UnsupportedMediaError

# Pillow's own bomb check (Pillow 10-11) warns above 89 M pixels and raises above
# twice that. This module checks the declared size against the caller's bound instead,
# so the global check is turned off for the whole process.
Image.MAX_IMAGE_PIXELS = None

DEFAULT_MAX_IMAGE_PIXELS = 40_000_000

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale 16- and 32-bit integer images down to 8 bits instead of clipping them."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16") or array.max() > 255:
            array = array / 257.0  # 65535 -> 255
        return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), "L")
    if image.mode == "F":
        array = np.nan_to_num(np.asarray(image, dtype=np.float64))
        return Image.fromarray(np.clip(array * 255.0, 0, 255).astype(np.uint8), "L")
    return image


def _to_channels(image: Image.Image, channels: int) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Flatten transparency onto white, the usual page background.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    target = "RGB" if channels == 3 else "L"
    return image.convert(target) if image.mode != target else image


def decode_image(data: bytes, spec: ImageSpec, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode one image into a uint8 array of shape (channels, height, width).

    EXIF orientation is applied, animated images give their first frame,
    transparency is flattened onto white and the result is resized to the
    model's size. Raises an InputError subclass on anything that is not a
    readable image.
    """
    if not data:
        raise MalformedInputError("the image file is empty (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnsupportedMediaError(
            "the file is not an image format this service reads (JPEG, PNG, WebP, BMP, GIF, TIFF)"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MalformedInputError(f"the image is corrupt or truncated: {exc}") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise InputTooLargeError(
            f"the image declares {width}x{height} = {width * height} pixels, over the limit of "
            f"{max_pixels}; downscale it before sending"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if image.format == "JPEG":
                # Let libjpeg decode at a reduced scale when the target is much smaller.
                image.draft(image.mode, (spec.width, spec.height))
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            image = _to_channels(_to_8bit(image), spec.channels)
            if image.size != (spec.width, spec.height):
                image = image.resize((spec.width, spec.height), Image.Resampling.BILINEAR)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MalformedInputError(f"the image is corrupt or truncated: {exc}") from exc
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[None, :, :]
    else:
        array = array.transpose(2, 0, 1)
    return np.ascontiguousarray(array)
