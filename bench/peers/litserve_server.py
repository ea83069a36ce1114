"""Serve one checkpoint with LitServe, batching enabled, for the side-by-side benchmark.

    python -m bench.peers.litserve_server --model models/cifar10.pt --port 8100

Requests take the same bodies as this service's /predict: a multipart field
`file` for an image model, or {"row": {...}} for a text or tabular model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import litserve as ls
import numpy as np
import torch

from checkpoint import ModelKind, load_checkpoint
from inputs import make_encoder


class CheckpointAPI(ls.LitAPI):
    def __init__(self, model_path: Path, threads: int | None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.model_path = model_path
        self.threads = threads

    def setup(self, device: str) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)
        self.loaded = load_checkpoint(self.model_path, "cpu")
        self.encoder = make_encoder(self.loaded.manifest)
        self.is_image = self.loaded.manifest.kind == ModelKind.IMAGE

    def decode_request(self, request) -> np.ndarray:  # noqa: ANN001 - form data or parsed JSON
        if self.is_image:
            return self.encoder.encode(request["file"].file.read())
        return self.encoder.encode(request["row"])

    def batch(self, inputs: list[np.ndarray]) -> torch.Tensor:
        return self.encoder.collate(inputs)

    def predict(self, x: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(self.loaded.module(x), dim=1).numpy()

    def unbatch(self, output: np.ndarray) -> list[np.ndarray]:
        return list(output)

    def encode_response(self, output: np.ndarray) -> dict:
        index = int(output.argmax())
        return {"label": self.loaded.manifest.class_names[index], "confidence": float(output[index])}


def main() -> None:
    parser = argparse.ArgumentParser(description="LitServe peer for the benchmark")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint file")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--max-batch-size", type=int, default=64, help="LitServe max_batch_size")
    parser.add_argument(
        "--batch-timeout-s", type=float, default=0.002, help="LitServe batch_timeout in seconds"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads in the worker")
    args = parser.parse_args()
    api = CheckpointAPI(
        args.model, args.threads, max_batch_size=args.max_batch_size, batch_timeout=args.batch_timeout_s
    )
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, timeout=60)
    server.run(host="127.0.0.1", port=args.port, generate_client_file=False, log_level="warning")


if __name__ == "__main__":
    main()
