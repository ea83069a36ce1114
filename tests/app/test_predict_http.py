"""The real app under uvicorn: parity with the offline models, batching under load, errors."""

from __future__ import annotations

import asyncio
import csv
import re
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from checkpoint import load_checkpoint
from inputs import make_encoder
from scripts.service_metrics import BatchTotals, batch_totals
from tests.app.conftest import sample_images
from tests.conftest import MODELS


def _offline_probabilities(model_file: str, raw_samples: list[object]) -> np.ndarray:
    loaded = load_checkpoint(MODELS / model_file)
    encoder = make_encoder(loaded.manifest)
    with torch.inference_mode():
        return np.concatenate(
            [
                torch.softmax(loaded.module(encoder.collate([encoder.encode(s)])), 1).numpy()
                for s in raw_samples
            ]
        )


def _csv_rows(path: Path, label_column: str, limit: int) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:limit]
    for row in rows:
        row.pop(label_column)
    return rows


def _check_parity(responses: list[dict], offline: np.ndarray, class_names: list[str]) -> None:
    for response, probabilities in zip(responses, offline, strict=True):
        assert response["label"] == class_names[int(probabilities.argmax())]
        assert response["confidence"] == pytest.approx(float(probabilities.max()), abs=1e-5)
        served = {entry["label"]: entry["probability"] for entry in response["top_k"]}
        for label, probability in served.items():
            assert probability == pytest.approx(float(probabilities[class_names.index(label)]), abs=1e-5)


def test_readiness_and_model_listing(base_url: str) -> None:
    assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base_url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["models"] == {"adult-income": "ready", "cifar10": "ready", "sms-spam": "ready"}
    listing = {m["name"]: m for m in httpx.get(f"{base_url}/models").json()}
    assert listing["cifar10"]["kind"] == "image"
    assert listing["sms-spam"]["class_names"] == ["ham", "spam"]
    detail = httpx.get(f"{base_url}/models/adult-income").json()
    assert detail["input_schema"]["type"] == "tabular"
    assert "workclass" in [c["name"] for c in detail["input_schema"]["columns"]]
    assert detail["metrics"]["test"]["accuracy"] > 0.8


def test_image_parity_with_offline_model(base_url: str, samples: Path) -> None:
    images = sample_images(samples, per_class=3)
    responses = []
    for path, _ in images:
        reply = httpx.post(
            f"{base_url}/predict",
            files={"file": (path.name, path.read_bytes(), "image/jpeg")},
            params={"top_k": 10},
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["model"] == "cifar10"
        responses.append(reply.json())
    offline = _offline_probabilities("cifar10.pt", [p.read_bytes() for p, _ in images])
    _check_parity(responses, offline, load_checkpoint(MODELS / "cifar10.pt").manifest.class_names)


def test_raw_image_body_is_accepted(base_url: str, samples: Path) -> None:
    path, _ = sample_images(samples, per_class=1)[0]
    reply = httpx.post(
        f"{base_url}/predict", content=path.read_bytes(), headers={"content-type": "image/jpeg"}
    )
    assert reply.status_code == 200
    assert reply.json()["model"] == "cifar10"


@pytest.mark.parametrize(
    ("model_file", "data", "label_column"),
    [
        ("sms-spam.pt", "text/sms_spam.csv", "label"),
        ("adult-income.pt", "tabular/adult.csv", "income"),
    ],
)
def test_row_parity_with_offline_model(
    base_url: str, samples: Path, model_file: str, data: str, label_column: str
) -> None:
    rows = _csv_rows(samples / data, label_column, 40)
    name = model_file.removesuffix(".pt")
    single = [httpx.post(f"{base_url}/predict", json={"row": row}).json() for row in rows[:10]]
    listed = httpx.post(f"{base_url}/predict", params={"model": name}, json={"rows": rows, "top_k": 2})
    assert listed.status_code == 200, listed.text
    offline = _offline_probabilities(model_file, rows)
    class_names = load_checkpoint(MODELS / model_file).manifest.class_names
    assert all(r["model"] == name for r in single)
    _check_parity(single, offline[:10], class_names)
    _check_parity(listed.json()["predictions"], offline, class_names)


def _batch_stats(base_url: str, model: str) -> BatchTotals:
    return batch_totals(httpx.get(f"{base_url}/metrics").text, model)


def test_concurrent_requests_form_batches(base_url: str, samples: Path) -> None:
    rows = _csv_rows(samples / "tabular/adult.csv", "income", 64)
    before = _batch_stats(base_url, "adult-income")

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=64)
        ) as client:
            return await asyncio.gather(*(client.post("/predict", json={"row": r}) for r in rows * 3))

    replies = asyncio.run(fire())
    assert all(r.status_code == 200 for r in replies)
    after = _batch_stats(base_url, "adult-income")
    assert after.rows - before.rows == len(rows) * 3
    assert (after.rows - before.rows) / (after.batches - before.batches) > 1


ERROR_CASES = [
    # (description, request kwargs, status, phrase in detail)
    (
        "malformed JSON",
        {"content": b'{"row": {', "headers": {"content-type": "application/json"}},
        400,
        "not valid JSON",
    ),
    (
        "invalid UTF-8",
        {"content": b'{"row": {"text": "\xff\xfe"}}', "headers": {"content-type": "application/json"}},
        400,
        "UTF-8",
    ),
    ("empty body", {"content": b"", "headers": {"content-type": "application/json"}}, 400, "empty"),
    ("both row and rows", {"json": {"row": {}, "rows": []}}, 422, "exactly one"),
    ("unknown field", {"json": {"row": {"text": "x"}, "colour": 1}}, 422, "unexpected fields ['colour']"),
    ("unknown model", {"json": {"row": {"text": "x"}}, "params": {"model": "nope"}}, 404, "not served"),
    (
        "wrong kind for model",
        {"json": {"row": {"text": "x"}}, "params": {"model": "cifar10"}},
        400,
        "image model",
    ),
    (
        "unsupported media",
        {"content": b"hello", "headers": {"content-type": "text/plain"}},
        415,
        "Content-Type",
    ),
    (
        "missing and unexpected columns",
        {"json": {"row": {"age": 30, "salary": 5}}, "params": {"model": "adult-income"}},
        422,
        "missing columns",
    ),
    (
        "text not a string",
        {"json": {"row": {"text": 5}}, "params": {"model": "sms-spam"}},
        422,
        "must be a string",
    ),
    (
        "nested value",
        {"json": {"rows": [{"text": {"a": 1}}]}, "params": {"model": "sms-spam"}},
        422,
        "rows[0]",
    ),
    ("bad top_k", {"json": {"row": {"text": "x"}, "top_k": 0}}, 422, "top_k"),
    ("too many rows", {"json": {"rows": [{"text": "x"}] * 65}}, 413, "CLASSIFY_MAX_BATCH_SIZE"),
    ("empty rows", {"json": {"rows": []}}, 422, "non-empty"),
    ("multipart without file", {"files": {"image": ("a.jpg", b"123", "image/jpeg")}}, 400, "field 'file'"),
    (
        "not an image",
        {"files": {"file": ("a.pdf", b"%PDF-1.4 hello", "application/pdf")}},
        415,
        "not an image",
    ),
    ("empty image", {"files": {"file": ("a.jpg", b"", "image/jpeg")}}, 400, "empty"),
    (
        "body over limit",
        {"content": b"0" * (3 * 2**20), "headers": {"content-type": "image/jpeg"}},
        413,
        "exceeds the limit",
    ),
]


@pytest.mark.parametrize(
    ("description", "request_kwargs", "status", "phrase"), ERROR_CASES, ids=[case[0] for case in ERROR_CASES]
)
def test_error_responses(
    base_url: str, description: str, request_kwargs: dict, status: int, phrase: str
) -> None:
    reply = httpx.post(f"{base_url}/predict", **request_kwargs)
    assert reply.status_code == status, reply.text
    assert phrase in reply.json()["detail"]


def test_service_still_ready_after_errors(base_url: str) -> None:
    text = httpx.get(f"{base_url}/metrics").text
    assert not re.search(r'classify_requests_total\{[^}]*status="5\d\d"\} [1-9]', text)
    assert httpx.get(f"{base_url}/readyz").status_code == 200
