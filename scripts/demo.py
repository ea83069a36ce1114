"""Start the service on the default models and classify the bundled samples.

    python -m scripts.demo

First every sample goes through POST /predict from concurrent clients (the
micro-batcher forms the batches); then each dataset is uploaded whole to
POST /classify-dataset (an image archive, a text CSV, a tabular CSV), which
returns every prediction and the evaluation.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.server_process import ROOT, start_server
from scripts.service_metrics import batch_totals

SAMPLES = ROOT / "samples"
CONCURRENCY = 16


@dataclass(frozen=True)
class DemoItem:
    request: dict
    true_label: str


@dataclass(frozen=True)
class DemoDataset:
    title: str
    model: str
    items: list[DemoItem]


def _image_items() -> list[DemoItem]:
    folder = SAMPLES / "images" / "cifar10"
    return [
        DemoItem({"files": {"file": (p.name, p.read_bytes(), "image/jpeg")}}, class_dir.name)
        for class_dir in sorted(folder.iterdir())
        for p in sorted(class_dir.glob("*.jpg"))
    ]


def _row_items(path: Path, label_column: str) -> list[DemoItem]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        DemoItem({"json": {"row": {k: v for k, v in row.items() if k != label_column}}}, row[label_column])
        for row in rows
    ]


async def _classify(client: httpx.AsyncClient, dataset: DemoDataset) -> float:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(item: DemoItem) -> bool:
        async with limit:
            reply = await client.post("/predict", params={"model": dataset.model}, **item.request)
        reply.raise_for_status()
        return reply.json()["label"] == item.true_label

    correct = await asyncio.gather(*(one(item) for item in dataset.items))
    return sum(correct) / len(correct)


def _image_archive() -> bytes:
    buffer = io.BytesIO()
    folder = SAMPLES / "images" / "cifar10"
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.jpg")):
            archive.write(path, f"cifar10/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


BULK_UPLOADS = [
    ("cifar10", "cifar10-samples.zip", _image_archive),
    ("sms-spam", "sms_spam.csv", lambda: (SAMPLES / "text" / "sms_spam.csv").read_bytes()),
    ("adult-income", "adult.csv", lambda: (SAMPLES / "tabular" / "adult.csv").read_bytes()),
]


async def _run(base_url: str, datasets: list[DemoDataset]) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        print(f"POST /predict, one sample per request, {CONCURRENCY} concurrent clients:")
        for dataset in datasets:
            accuracy = await _classify(client, dataset)
            print(f"  {dataset.title:<40} {len(dataset.items):4d} items  accuracy {accuracy:.4f}")
        metrics = (await client.get("/metrics")).text
        for dataset in datasets:
            rows = batch_totals(metrics, dataset.model).mean_rows
            print(f"  mean batch size formed for {dataset.model}: {rows:.1f} rows")

        print("\nPOST /classify-dataset, one upload per dataset:")
        for model, filename, load in BULK_UPLOADS:
            reply = await client.post(
                "/classify-dataset", params={"model": model}, files={"file": (filename, load())}
            )
            reply.raise_for_status()
            body = reply.json()
            report = body["metrics"]
            print(
                f"  {filename:<20} {model:<13} {body['classified']:4d} classified, {body['failed']} failed  "
                f"accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
                f"({body['items_per_s']:.0f} items/s)"
            )


def main() -> int:
    datasets = [
        DemoDataset("CIFAR-10 test images (cifar10)", "cifar10", _image_items()),
        DemoDataset(
            "SMS spam test rows (sms-spam)",
            "sms-spam",
            _row_items(SAMPLES / "text" / "sms_spam.csv", "label"),
        ),
        DemoDataset(
            "Adult income test rows (adult-income)",
            "adult-income",
            _row_items(SAMPLES / "tabular" / "adult.csv", "income"),
        ),
    ]
    with tempfile.TemporaryDirectory() as scratch:
        print("starting the service on 127.0.0.1 with the models in models/ ...")
        server = start_server(Path(scratch) / "server.log", {"CLASSIFY_MODEL_DIR": str(ROOT / "models")})
        print(f"service ready at {server.base_url}; classifying the bundled samples through /predict\n")
        try:
            asyncio.run(_run(server.base_url, datasets))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
