"""Serve one checkpoint with PyTriton (Triton Inference Server) and dynamic batching, for the side-by-side benchmark.

    python -m bench.peers.pytriton_server --model models/cifar10.pt --http-port 8100 --threads 2

The model is served on 127.0.0.1 only, under the checkpoint's file stem, at
POST /v2/models/{stem}/infer (KServe v2 protocol). gRPC and metrics are off.
It takes one BYTES input of shape [1, 1] per request, which contains the same
bytes as this service's /predict body: input `image` contains the image file of
an image model, and input `row` contains the JSON text {"row": {...}} of a text
or tabular model. Decoding happens in the inference function, so the server
pays for it, as with LitServe and this service. The outputs are `label` (BYTES,
the class name) and `confidence` (FP32), both of shape [1, 1] per request.

Two environment fixes are applied before Triton starts, so callers pass no
extra environment:

- PyTriton runs the model's proxy in Triton's Python backend stub, a binary
  that links libpython3.X. Unless the library folder of the Python that made
  the virtual environment comes first on LD_LIBRARY_PATH, the loader may pick
  another libpython3.X. Here it picked Debian's 3.11.2 in place of pyenv's
  3.11.7, and the stub failed with "'_thread.RLock' object has no attribute
  '_recursion_count'". Only the Triton child processes need the variable, so
  it is set in os.environ here and no re-exec is needed.
- The stub shipped in nvidia-pytriton 0.7.0 fails under numpy 2, and the
  package declares numpy<2. With numpy 2.4.6 a UINT8 input [1, 2, 3, 250, 5, 6]
  reached the inference function as [1, 1, 1, 1, 1, 1], and a BYTES input
  crashed the stub. This project needs numpy 2 (pandas 3 requires it), so the
  stub runs in a small separate virtual environment with numpy<2 and pyzmq,
  the only packages the proxy imports. It is created with pip on first use
  (see --stub-env). Tensors pass between the two numpy versions in PyTriton's
  own byte format, so the inference function still runs in this process, with
  this project's numpy, torch and encoders.

Readiness: wait until GET /v2/models/{stem}/ready returns 200, then until one
inference request returns 200. GET /v2/health/ready is no use here, because it
returns 200 before the model is loaded. PyTriton connects the inference
function just after Triton marks the model ready, hence the extra request.
SIGTERM or SIGINT stops the server and removes its temporary files.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import torch
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.server import triton_server
from pytriton.triton import Triton, TritonConfig

from checkpoint import ModelKind, load_checkpoint
from inputs import make_encoder

LOGGER = logging.getLogger("bench.peers.pytriton_server")
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STUB_ENV = ROOT / "var" / "pytriton-stub-env"
# The proxy's requirements as nvidia-pytriton 0.7.0 declares them, with numpy held below 2.
STUB_REQUIREMENTS = ("numpy>=1.21,<2", "pyzmq>=23")
STUB_CHECK = "import sys, numpy, zmq; print(sys.version_info[0], sys.version_info[1], numpy.__version__)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def expose_libpython() -> None:
    """Put this Python's library folder first on LD_LIBRARY_PATH for the Triton children."""
    libdir = sysconfig.get_config_var("LIBDIR")
    current = os.environ.get("LD_LIBRARY_PATH")
    os.environ["LD_LIBRARY_PATH"] = f"{libdir}:{current}" if current else libdir


def stub_env_is_usable(path: Path) -> bool:
    """Check that `path` has this Python version with numpy<2 and pyzmq installed."""
    python = path / "bin" / "python3"
    if not python.is_file():
        return False
    result = subprocess.run([python, "-c", STUB_CHECK], capture_output=True, text=True)
    if result.returncode != 0:
        return False
    major, minor, numpy_version = result.stdout.split()
    return (int(major), int(minor)) == sys.version_info[:2] and int(numpy_version.split(".")[0]) < 2


def ensure_stub_env(path: Path) -> None:
    """Create the stub's virtual environment at `path` unless a usable one is there."""
    if stub_env_is_usable(path):
        return
    LOGGER.info("creating the Python backend stub environment in %s", path)
    # Run from this project's venv, `-m venv` still bases the new venv on the base Python.
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", path], check=True)
        subprocess.run(
            [path / "bin" / "python3", "-m", "pip", "install", "--quiet", *STUB_REQUIREMENTS], check=True
        )
    except subprocess.CalledProcessError as error:
        raise SystemExit(
            f"creating the stub environment in {path} failed ({error}). "
            f"It needs pip access to {' and '.join(STUB_REQUIREMENTS)}."
        ) from error
    if not stub_env_is_usable(path):
        raise SystemExit(
            f"stub environment {path} is still unusable after pip install. Delete it and run again."
        )


def use_stub_env(path: Path) -> None:
    """Make Triton start the Python backend stub from the virtual environment at `path`.

    PyTriton puts `get_triton_python_backend_python_env()/bin` first on the PATH
    of tritonserver, and the stub's embedded Python takes its environment from
    the first python3 on PATH.
    """
    # NOTE: this replaces a module-level function of nvidia-pytriton 0.7.0, so recheck it after an upgrade.
    if not hasattr(triton_server, "get_triton_python_backend_python_env"):
        raise SystemExit(
            "this nvidia-pytriton version has no get_triton_python_backend_python_env to redirect"
        )
    triton_server.get_triton_python_backend_python_env = lambda: path


class CheckpointModel:
    """A checkpoint with its encoder, wrapped as a PyTriton inference function."""

    def __init__(self, model_path: Path) -> None:
        self.loaded = load_checkpoint(model_path, "cpu")
        self.encoder = make_encoder(self.loaded.manifest)
        self.is_image = self.loaded.manifest.kind == ModelKind.IMAGE
        self.input_name = "image" if self.is_image else "row"
        self.class_names = [name.encode() for name in self.loaded.manifest.class_names]

    def encode(self, item: bytes) -> np.ndarray:
        if self.is_image:
            return self.encoder.encode(item)
        return self.encoder.encode(json.loads(item)["row"])

    # NOTE: an input that fails to decode raises, and Triton then fails every request of that batch.
    @batch
    def infer(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        items = inputs[self.input_name][:, 0]
        samples = self.encoder.collate([self.encode(item) for item in items])
        with torch.inference_mode():
            probabilities = torch.softmax(self.loaded.module(samples), dim=1).numpy()
        indices = probabilities.argmax(axis=1)
        labels = np.array([[self.class_names[i]] for i in indices], dtype=np.object_)
        confidence = probabilities[np.arange(len(indices)), indices].reshape(-1, 1)
        return {"label": labels, "confidence": confidence.astype(np.float32)}


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, which Triton.serve() handles by stopping the server."""

    def handle(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handle)


def main() -> None:
    parser = argparse.ArgumentParser(description="PyTriton peer for the benchmark")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint file")
    parser.add_argument("--http-port", type=int, required=True, help="HTTP port on 127.0.0.1")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--max-batch-size", type=int, default=64, help="Triton max_batch_size")
    parser.add_argument(
        "--max-queue-delay-us",
        type=int,
        default=2000,
        help="dynamic batcher max_queue_delay_microseconds",
    )
    parser.add_argument(
        "--stub-env",
        type=Path,
        default=DEFAULT_STUB_ENV,
        help="virtual environment with numpy<2 for the Python backend stub, created when missing "
        "(used only while this environment has numpy 2)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop_on_sigterm()

    if args.threads:
        torch.set_num_threads(args.threads)
    model = CheckpointModel(args.model)
    expose_libpython()
    if int(np.__version__.split(".")[0]) >= 2:
        ensure_stub_env(args.stub_env.resolve())
        use_stub_env(args.stub_env.resolve())

    # Only the HTTP port listens. The disabled gRPC and metrics endpoints still get loopback
    # addresses and free ports, so enabling one cannot bind 0.0.0.0 or a default port.
    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=args.http_port,
        allow_grpc=False,
        grpc_address="127.0.0.1",
        grpc_port=free_port(),
        allow_metrics=False,
        metrics_address="127.0.0.1",
        metrics_port=free_port(),
        log_verbose=0,
    )
    with Triton(config=config) as triton:
        triton.bind(
            model_name=args.model.stem,
            infer_func=model.infer,
            inputs=[Tensor(name=model.input_name, dtype=np.bytes_, shape=(1,))],
            outputs=[
                Tensor(name="label", dtype=np.bytes_, shape=(1,)),
                Tensor(name="confidence", dtype=np.float32, shape=(1,)),
            ],
            config=ModelConfig(
                max_batch_size=args.max_batch_size,
                batcher=DynamicBatcher(max_queue_delay_microseconds=args.max_queue_delay_us),
            ),
        )
        LOGGER.info("serving %s on http://127.0.0.1:%d", args.model.stem, args.http_port)
        triton.serve()


if __name__ == "__main__":
    main()
