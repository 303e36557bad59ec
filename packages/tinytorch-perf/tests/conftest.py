"""Shared helpers for the tinytorch-perf tests."""

from __future__ import annotations

import importlib.util
import os
import struct
import zlib
from pathlib import Path

import pytest

from tinytorch.core import manual_seed

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def load_pyproject() -> dict:
    """This package's pyproject.toml (tomllib is in the standard library from 3.11)."""
    try:
        import tomllib
    except ModuleNotFoundError:
        tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml needs Python "
                                                      ">= 3.11 or tomli")
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


HAS_VISION = importlib.util.find_spec("tinytorch.vision") is not None
HAS_LANGUAGE = importlib.util.find_spec("tinytorch.language") is not None
if os.environ.get("TINYTORCH_REQUIRE_EXTRAS") == "1" and not (HAS_VISION and HAS_LANGUAGE):
    raise RuntimeError("TINYTORCH_REQUIRE_EXTRAS=1 but tinytorch-vision or tinytorch-language "
                       "is not installed: the model tests would be skipped")
needs_vision = pytest.mark.skipif(
    not HAS_VISION, reason="tinytorch-vision is not installed (pip install tinytorch-perf[models])")
needs_language = pytest.mark.skipif(
    not HAS_LANGUAGE,
    reason="tinytorch-language is not installed (pip install tinytorch-perf[models])")


@pytest.fixture(autouse=True)
def seed():
    manual_seed(0)


def read_png(path) -> dict:
    """Parse a PNG file: check the signature and every chunk's CRC; return the header
    (width, height, bit depth, colour type) and the decompressed image data."""
    with open(path, "rb") as file:
        data = file.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in chunk {kind!r}"
        chunks.append((kind, body))
        position += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    return {"width": width, "height": height, "depth": depth, "colour": colour,
            "pixels": pixels}


def assert_real_png(path, min_side: int = 100) -> None:
    """A real, non-empty image: valid PNG, sensible size, and not a single flat colour."""
    png = read_png(path)
    assert png["width"] >= min_side and png["height"] >= min_side
    assert len(set(png["pixels"])) > 10, "the image is (nearly) one flat colour"
