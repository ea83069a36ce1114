"""Choose the torch device for training or serving from a setting such as "auto" or "cuda:1"."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """Return the device `name` names; "auto" picks CUDA when available, else the CPU.

    Raises ValueError for a name torch does not parse, or for CUDA when none is available.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"{name!r} is not a torch device: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name!r} requests CUDA, but no CUDA device is available")
    return device
