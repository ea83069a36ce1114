"""Shared fixtures: repository paths, bundled samples and the optional full data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
MODELS = ROOT / "models"
# The full data sets sit beside the repository on development and CI machines.
FULL_DATA = Path(os.environ.get("CLASSIFY_DATA_ROOT", ROOT.parent / "shared" / "data"))

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def full_data() -> Path:
    if not FULL_DATA.is_dir():
        pytest.skip(f"full data sets not found at {FULL_DATA} (set CLASSIFY_DATA_ROOT)")
    return FULL_DATA
