"""Loaded models: checkpoint, encoder, inference thread and batcher per model, and readiness."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from app.batching import Batcher, BatcherConfig
from app.errors import BadRequestError, ModelNotFoundError
from app.inference import InferenceWorker, ThreadCounts
from app.metrics import ServiceMetrics
from app.settings import Settings
from checkpoint import CheckpointError, LoadedCheckpoint, Manifest, ModelKind, load_checkpoint
from inputs import Encoder, make_encoder
from inputs.encoders import TabularRowEncoder, TextRowEncoder

logger = logging.getLogger(__name__)


@dataclass
class ServedModel:
    checkpoint: LoadedCheckpoint
    encoder: Encoder
    worker: InferenceWorker
    batcher: Batcher
    warmed_up: bool = False

    @property
    def manifest(self) -> Manifest:
        return self.checkpoint.manifest

    @property
    def name(self) -> str:
        return self.manifest.name


@dataclass(frozen=True)
class LoadFailure:
    path: str
    reason: str


def dummy_sample(manifest: Manifest) -> np.ndarray:
    """Return a valid encoded sample for warm-up passes."""
    spec = manifest.input
    if manifest.kind == ModelKind.IMAGE:
        return np.zeros((spec.channels, spec.height, spec.width), dtype=np.uint8)  # type: ignore[union-attr]
    if manifest.kind == ModelKind.TEXT:
        return np.full(16, 1, dtype=np.int64)
    return np.zeros(len(spec.columns), dtype=np.float32)  # type: ignore[union-attr]


@dataclass
class ModelRegistry:
    settings: Settings
    metrics: ServiceMetrics
    device: torch.device
    models: dict[str, ServedModel] = field(default_factory=dict)
    failures: list[LoadFailure] = field(default_factory=list)

    def load_all(self) -> None:
        """Load every checkpoint in the model folder; a failing file is logged and skipped."""
        folder = self.settings.model_dir
        paths = sorted(folder.glob("*.pt")) if folder.is_dir() else []
        if not paths:
            logger.error("no *.pt checkpoints in %s (CLASSIFY_MODEL_DIR)", folder.resolve())
        for path in paths:
            try:
                self._load(path)
            except (CheckpointError, RuntimeError, ValueError) as exc:
                logger.error("cannot load checkpoint %s: %s", path, exc)
                self.failures.append(LoadFailure(str(path), str(exc)))

    def _load(self, path: Path) -> None:
        checkpoint = load_checkpoint(path, self.device)
        name = checkpoint.manifest.name
        if name in self.models:
            raise CheckpointError(
                f"model name {name!r} is already served from {self.models[name].checkpoint.path}"
            )
        encoder = make_encoder(checkpoint.manifest, self.settings.max_image_pixels)
        threads = ThreadCounts(online=self.settings.torch_threads, bulk=self.settings.bulk_torch_threads)
        worker = InferenceWorker(checkpoint, encoder, threads)
        config = BatcherConfig(
            max_batch_size=self.settings.max_batch_size,
            max_delay_ms=self.settings.max_delay_ms,
            max_queue_rows=self.settings.max_queue_rows,
            idle_dispatch=self.settings.idle_dispatch,
        )
        self.models[name] = ServedModel(checkpoint, encoder, worker, Batcher(worker, config, self.metrics))
        logger.info(
            "loaded model %s v%s (%s, %d classes) from %s on %s",
            name,
            checkpoint.manifest.version,
            checkpoint.manifest.kind,
            checkpoint.manifest.num_classes,
            path,
            self.device,
        )

    async def warm_up(self) -> None:
        """Run dummy batches of the configured sizes through each model, then start its batcher."""
        for model in self.models.values():
            sample = dummy_sample(model.manifest)
            for size in self.settings.warmup_batch_sizes:
                await model.worker.run([sample] * size)
            model.batcher.start()
            model.warmed_up = True
            logger.info(
                "model %s warmed up with batch sizes %s", model.name, self.settings.warmup_batch_sizes
            )

    @property
    def ready(self) -> bool:
        return bool(self.models) and all(m.warmed_up and m.batcher.alive for m in self.models.values())

    def get(self, name: str) -> ServedModel:
        model = self.models.get(name)
        if model is None:
            raise ModelNotFoundError(f"model {name!r} is not served; available models: {sorted(self.models)}")
        return model

    def pick(
        self, name: str | None, kinds: tuple[ModelKind, ...], row: Mapping[str, object] | None = None
    ) -> ServedModel:
        """Return the named model, or the only served model that fits the input.

        With several candidate models, the one that takes the most of the row's
        columns is picked; a tie raises an error that requests ?model=NAME.
        """
        if name is not None:
            model = self.get(name)
            if model.manifest.kind not in kinds:
                expected_kinds = " or ".join(k.value for k in kinds)
                raise BadRequestError(
                    f"model {name!r} is a {model.manifest.kind.value} model but this input is for a "
                    f"{expected_kinds} model"
                )
            return model
        candidates = [m for m in self.models.values() if m.manifest.kind in kinds]
        if len(candidates) > 1 and row is not None:
            overlaps = {m.name: _column_overlap(m, row) for m in candidates}
            best = max(overlaps.values())
            if best > 0:
                candidates = [m for m in candidates if overlaps[m.name] == best]
        if len(candidates) == 1:
            return candidates[0]
        expected_kinds = " or ".join(k.value for k in kinds)
        if not candidates:
            raise ModelNotFoundError(f"no {expected_kinds} model is served; available: {sorted(self.models)}")
        raise BadRequestError(
            f"several {expected_kinds} models fit this input ({sorted(m.name for m in candidates)}); "
            f"choose one with ?model=NAME"
        )

    async def stop(self) -> None:
        await asyncio.gather(*(m.batcher.stop() for m in self.models.values() if m.warmed_up))
        for model in self.models.values():
            model.worker.shutdown()


def _column_overlap(model: ServedModel, row: Mapping[str, object]) -> int:
    """Count the row's columns that the model takes as input."""
    encoder = model.encoder
    if isinstance(encoder, TextRowEncoder):
        expected = {encoder.text.spec.text_column}
    elif isinstance(encoder, TabularRowEncoder):
        expected = set(encoder.table.column_names)
    else:
        return 0
    return len(expected & set(row))
