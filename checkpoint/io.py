"""Write and read checkpoint files: a TorchScript module with its manifest inside."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import ValidationError

from checkpoint.manifest import FORMAT_VERSION, Manifest

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"


class CheckpointError(Exception):
    """A checkpoint file is missing, unreadable or carries an invalid manifest."""


@dataclass(frozen=True)
class LoadedCheckpoint:
    path: Path
    module: torch.jit.ScriptModule
    manifest: Manifest
    device: torch.device


@contextmanager
def quiet_jit() -> Iterator[None]:
    """Silence the torch.jit deprecation notice only.

    torch 2.14 marks torch.jit as deprecated in favour of torch.export, but
    TorchScript is the deployment format of this project.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*(jit|TorchScript).*")
        warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit.*")
        yield


def script_module(module: torch.nn.Module) -> torch.jit.ScriptModule:
    """Compile an eager module with torch.jit.script, silencing only the deprecation notice."""
    with quiet_jit():
        return torch.jit.script(module)


def save_checkpoint(scripted: torch.jit.ScriptModule, manifest: Manifest, path: Path) -> None:
    """Write the scripted module with the manifest stored as an extra file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {MANIFEST_FILE: manifest.model_dump_json(indent=1)}
    tmp = path.with_suffix(path.suffix + ".tmp")
    with quiet_jit():
        torch.jit.save(scripted, str(tmp), _extra_files=extra)
    tmp.replace(path)


def read_manifest(path: Path) -> Manifest:
    """Read only the manifest of a checkpoint (the module is loaded on the CPU and dropped)."""
    return load_checkpoint(path, torch.device("cpu")).manifest


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> LoadedCheckpoint:
    """Load a checkpoint onto `device` in eval mode, validating its manifest."""
    path = Path(path)
    device = torch.device(device)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    extra = {MANIFEST_FILE: ""}
    try:
        with quiet_jit():
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except (RuntimeError, ValueError, OSError) as exc:
        raise CheckpointError(f"{path} is not a loadable TorchScript file: {exc}") from exc
    raw = extra[MANIFEST_FILE]
    if not raw:
        raise CheckpointError(f"{path} has no {MANIFEST_FILE}; export it with `python -m training`")
    try:
        manifest = Manifest.model_validate_json(raw)
    except ValidationError as exc:
        raise CheckpointError(f"{path} has an invalid manifest: {exc}") from exc
    if manifest.format_version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} uses checkpoint format {manifest.format_version}, newer than the "
            f"supported {FORMAT_VERSION}; upgrade this package"
        )
    module.eval()
    logger.debug("loaded %s (%s %s) on %s", path, manifest.kind, manifest.name, device)
    return LoadedCheckpoint(path=path, module=module, manifest=manifest, device=device)
