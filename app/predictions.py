"""Response types for predictions, built from class probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from inputs import InputError


class ClassProbability(BaseModel):
    label: str
    probability: float


class Prediction(BaseModel):
    label: str
    confidence: float
    top_k: list[ClassProbability]


class PredictResponse(Prediction):
    model: str
    version: str


class PredictRowsResponse(BaseModel):
    model: str
    version: str
    predictions: list[Prediction]


class NonFiniteOutputError(InputError):
    """The model produced NaN or infinite probabilities for an input."""


def to_prediction(probabilities: np.ndarray, class_names: list[str], top_k: int) -> dict[str, Any]:
    """Turn one row of class probabilities into a Prediction-shaped dict with the `top_k` best classes."""
    if not np.isfinite(probabilities).all():
        raise NonFiniteOutputError(
            "the model produced a non-finite probability for this input; check it for extreme values"
        )
    k = min(top_k, len(class_names))
    best = np.argsort(-probabilities, kind="stable")[:k]
    ranked = [{"label": class_names[i], "probability": float(probabilities[i])} for i in best]
    return {"label": ranked[0]["label"], "confidence": ranked[0]["probability"], "top_k": ranked}
