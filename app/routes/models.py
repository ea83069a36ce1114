"""Model listing and details."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from app.dependencies import RegistryDep
from app.registry import ServedModel
from checkpoint import ImageSpec, TextSpec

router = APIRouter(tags=["models"])


class ModelSummary(BaseModel):
    name: str
    kind: str
    version: str
    class_names: list[str]
    ready: bool


class ModelDetail(ModelSummary):
    architecture: str
    parameter_count: int
    created_at: str
    device: str
    label_column: str | None
    input_schema: dict[str, Any]
    metrics: dict[str, Any]


def input_schema(model: ServedModel) -> dict[str, Any]:
    """Describe the input a client sends, without the bulky vocabulary."""
    spec = model.manifest.input
    if isinstance(spec, ImageSpec):
        return {
            "type": "image",
            "height": spec.height,
            "width": spec.width,
            "channels": spec.channels,
            "mean": spec.mean,
            "std": spec.std,
            "resize": spec.resize,
        }
    if isinstance(spec, TextSpec):
        return {
            "type": "text",
            "text_column": spec.text_column,
            "lowercase": spec.lowercase,
            "max_tokens": spec.max_tokens,
            "vocabulary_size": len(spec.vocabulary),
        }
    return {
        "type": "tabular",
        "missing_values": spec.missing_values,
        "columns": [
            {
                "name": c.name,
                "kind": c.kind.value,
                **({"categories": c.categories} if c.categories is not None else {}),
            }
            for c in spec.columns
        ],
    }


def _summary(model: ServedModel) -> dict[str, Any]:
    manifest = model.manifest
    return {
        "name": manifest.name,
        "kind": manifest.kind.value,
        "version": manifest.version,
        "class_names": manifest.class_names,
        "ready": model.warmed_up and model.batcher.alive,
    }


@router.get("/models", response_model=list[ModelSummary])
async def list_models(registry: RegistryDep) -> list[dict[str, Any]]:
    """Every served model with its kind, version and classes."""
    return [_summary(m) for m in registry.models.values()]


@router.get("/models/{name}", response_model=ModelDetail, responses={404: {"description": "unknown model"}})
async def get_model(name: str, registry: RegistryDep) -> dict[str, Any]:
    """Return one model: input schema, architecture and the metrics measured at training time."""
    model = registry.get(name)
    manifest = model.manifest
    return {
        **_summary(model),
        "architecture": manifest.architecture,
        "parameter_count": manifest.parameter_count,
        "created_at": manifest.created_at.isoformat(),
        "device": str(model.checkpoint.device),
        "label_column": manifest.label_column,
        "input_schema": input_schema(model),
        "metrics": manifest.metrics,
    }
