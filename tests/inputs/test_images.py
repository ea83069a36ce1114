"""Image decoding: formats, modes, orientation and size bounds."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from checkpoint import ImageSpec
from inputs import InputTooLargeError, MalformedInputError, UnsupportedMediaError
from inputs.images import decode_image

RGB = ImageSpec(height=8, width=8, channels=3, mean=[0.5] * 3, std=[0.25] * 3)
GRAY = ImageSpec(height=8, width=8, channels=1, mean=[0.5], std=[0.25])


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_rgb_png_shape_and_values() -> None:
    image = Image.new("RGB", (8, 8), (10, 20, 30))
    out = decode_image(_encode(image, "PNG"), RGB)
    assert out.shape == (3, 8, 8)
    assert out.dtype == np.uint8
    assert out[:, 0, 0].tolist() == [10, 20, 30]


def test_resized_to_model_size() -> None:
    out = decode_image(_encode(Image.new("RGB", (40, 20), (5, 5, 5)), "JPEG"), RGB)
    assert out.shape == (3, 8, 8)


def test_grayscale_to_rgb_and_rgb_to_grayscale() -> None:
    gray = decode_image(_encode(Image.new("L", (8, 8), 77), "PNG"), RGB)
    assert gray[:, 0, 0].tolist() == [77, 77, 77]
    rgb = decode_image(_encode(Image.new("RGB", (8, 8), (255, 255, 255)), "PNG"), GRAY)
    assert rgb.shape == (1, 8, 8)
    assert rgb[0, 0, 0] == 255


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    array = np.full((8, 8), 32768, dtype=np.uint16)
    out = decode_image(_encode(Image.fromarray(array), "PNG"), GRAY)
    assert out[0, 0, 0] == 128


def test_transparency_flattened_onto_white() -> None:
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    out = decode_image(_encode(image, "PNG"), RGB)
    assert out[:, 0, 0].tolist() == [255, 255, 255]
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([0, 0, 0] * 256)
    out = decode_image(_encode(palette, "PNG", transparency=0), RGB)
    assert out[:, 0, 0].tolist() == [255, 255, 255]


def test_exif_orientation_applied() -> None:
    image = Image.new("RGB", (16, 8), (0, 0, 0))
    image.paste((255, 0, 0), (0, 0, 8, 8))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    spec = ImageSpec(height=16, width=8, channels=3, mean=[0.5] * 3, std=[0.25] * 3)
    out = decode_image(_encode(image, "PNG", exif=exif), spec)
    # After rotation the red half is on top.
    assert out[0, 2, 4] > 200
    assert out[0, 13, 4] < 50


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), (200, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 200))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    out = decode_image(data, RGB)
    assert out[0, 0, 0] > out[2, 0, 0]


def test_empty_truncated_and_foreign_bytes() -> None:
    with pytest.raises(MalformedInputError, match="empty"):
        decode_image(b"", RGB)
    full = _encode(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    with pytest.raises(MalformedInputError, match="corrupt or truncated"):
        decode_image(full[: len(full) // 2], RGB)
    with pytest.raises(UnsupportedMediaError):
        decode_image(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", RGB)


def test_declared_size_over_pixel_bound() -> None:
    data = _encode(Image.new("L", (300, 300)), "PNG")
    with pytest.raises(InputTooLargeError, match="90000 pixels"):
        decode_image(data, RGB, max_pixels=10_000)
