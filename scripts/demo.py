"""Start the service on the default models and classify the bundled samples through /predict.

    python -m scripts.demo

Prints each dataset's accuracy and the mean batch size the micro-batcher formed.
"""

from __future__ import annotations

import asyncio
import csv
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.server_process import ROOT, start_server

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


def _mean_batch_rows(metrics: str, model: str) -> float:
    def value(name: str) -> float:
        match = re.search(rf'^{name}{{model="{model}",path="predict"}} (\S+)$', metrics, re.M)
        return float(match.group(1)) if match else 0.0

    count = value("classify_batch_rows_count")
    return value("classify_batch_rows_sum") / count if count else 0.0


async def _run(base_url: str, datasets: list[DemoDataset]) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for dataset in datasets:
            accuracy = await _classify(client, dataset)
            print(f"{dataset.title:<40} {len(dataset.items):4d} items  accuracy {accuracy:.4f}")
        metrics = (await client.get("/metrics")).text
    for dataset in datasets:
        print(
            f"mean batch size for {dataset.model}: {_mean_batch_rows(metrics, dataset.model):.1f} rows "
            f"({CONCURRENCY} concurrent clients)"
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
