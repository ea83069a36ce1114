"""Run every benchmark and write bench/RESULTS.md and bench/results.json.

    python -m bench.run [--quick] [--data-root DIR]

Each figure that matters is a ratio of two measurements taken in this run on
this machine: the service against the raw model, batching on against off,
the service against the offline DataLoader loop and against pyarrow's parser.
`--quick` runs every part on tiny inputs to prove the harness works.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import torch

from app.settings import default_torch_threads
from bench.bulk import (
    copy_folder,
    dataloader_items_per_s,
    extract_image_folder,
    pyarrow_rows_per_s,
    repeat_archive,
    repeat_csv,
)
from bench.load import build_request
from bench.raw_forward import interpolate_items_per_s, measure_raw
from bench.report import write_report
from scripts.server_process import (
    ROOT,
    ProcessExitedError,
    RunningServer,
    free_port,
    start_server,
    wait_until_ready,
)
from scripts.service_metrics import BatchTotals, batch_totals

MODELS = ROOT / "models"
SAMPLES = ROOT / "samples"
ONLINE_MODELS = {"cifar10": "image", "adult-income": "json"}


def _server(scratch: Path, name: str, **env: str) -> RunningServer:
    settings = {
        "CLASSIFY_MODEL_DIR": str(MODELS),
        "CLASSIFY_LOG_LEVEL": "WARNING",
        "CLASSIFY_JOBS_DIR": str(scratch / "jobs"),
        **env,
    }
    return start_server(scratch / f"{name}.log", settings)


def server_memory_mb(server: RunningServer, field: str = "VmHWM") -> float:
    """Return a memory figure of the server process from /proc: VmHWM (peak RSS) or VmRSS (now)."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024


def _batch_totals(base_url: str, model: str) -> BatchTotals:
    return batch_totals(httpx.get(f"{base_url}/metrics").text, model)


def _bodies(scratch: Path) -> dict[str, Path]:
    image = scratch / "image.jpg"
    image.write_bytes(next((SAMPLES / "images" / "cifar10" / "cat").glob("*.jpg")).read_bytes())
    import csv

    with (SAMPLES / "tabular" / "adult.csv").open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    row.pop("income")
    tabular = scratch / "row.json"
    tabular.write_text(json.dumps({"row": row}))
    return {"cifar10": image, "adult-income": tabular}


def run_online(scratch: Path, levels: list[int], requests: int, max_seconds: float) -> dict:
    bodies = _bodies(scratch)
    results: dict = {}
    for label, env in (("batching", {}), ("no_batching", {"CLASSIFY_MAX_BATCH_SIZE": "1"})):
        server = _server(scratch, f"online-{label}", **env)
        try:
            for model, kind in ONLINE_MODELS.items():
                for concurrency in levels:
                    before = _batch_totals(server.base_url, model)
                    url = f"{server.base_url}/predict?model={model}"
                    point = _load(url, kind, bodies[model], concurrency, requests, max_seconds)
                    after = _batch_totals(server.base_url, model)
                    batches = after.batches - before.batches
                    point["mean_batch_rows"] = (after.rows - before.rows) / batches if batches else 0.0
                    results.setdefault(model, {}).setdefault(label, {})[str(concurrency)] = point
                    print(
                        f"online {label} {model} c={concurrency}: {point['throughput_per_s']:.0f}/s "
                        f"p50 {point['p50_ms']:.2f} ms, batch {point['mean_batch_rows']:.1f}",
                        flush=True,
                    )
        finally:
            server.stop()
    return results


def load_command(url: str, kind: str, body: Path, concurrency: int, requests: int, max_seconds: float) -> list[str]:
    """Return the command line of one bench.load run (its own process, JSON on stdout)."""
    return [
        sys.executable,
        "-m",
        "bench.load",
        "--url",
        url,
        "--concurrency",
        str(concurrency),
        "--requests",
        str(requests),
        "--max-seconds",
        str(max_seconds),
        "--body",
        str(body),
        "--kind",
        kind,
    ]


def _load(url: str, kind: str, body: Path, concurrency: int, requests: int, max_seconds: float) -> dict:
    command = load_command(url, kind, body, concurrency, requests, max_seconds)
    return json.loads(subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout)


@dataclass
class Peer:
    """A peer server started for the side-by-side runs."""

    name: str
    process: subprocess.Popen[bytes]
    url: str  # where the load generator sends requests
    kind: str  # bench.load request kind
    # LitServe's worker processes outlive a SIGTERM to the parent alone, so its whole
    # process group is signalled. PyTriton stops Triton itself on SIGTERM.
    signal_group: bool

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.signal_group:
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def pytriton_available() -> bool:
    return importlib.util.find_spec("pytriton") is not None


def _start_peer(scratch: Path, name: str, model: str, arguments: list[str]) -> subprocess.Popen[bytes]:
    log = (scratch / f"{name}-{model}.log").open("wb")
    command = [sys.executable, "-m", f"bench.peers.{name}_server", "--model", str(MODELS / f"{model}.pt")]
    return subprocess.Popen(
        command + arguments + ["--threads", str(default_torch_threads())],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_ready(peer: Peer, ready: Callable[[], bool], timeout_s: float = 180) -> Peer:
    try:
        if wait_until_ready(peer.process, ready, timeout_s, poll_s=0.3):
            return peer
    except ProcessExitedError:
        raise RuntimeError(f"{peer.name} exited with {peer.process.returncode} before it was ready") from None
    peer.stop()
    raise RuntimeError(f"{peer.name} was not ready within {timeout_s:.0f} s")


def _start_litserve(scratch: Path, model: str, kind: str) -> Peer:
    port = free_port()
    arguments = ["--port", str(port), "--max-batch-size", "64", "--batch-timeout-s", "0.002"]
    process = _start_peer(scratch, "litserve", model, arguments)
    peer = Peer("LitServe", process, f"http://127.0.0.1:{port}/predict", kind, signal_group=True)
    return _wait_ready(peer, lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200)


def _start_pytriton(scratch: Path, model: str, kind: str, body: Path) -> Peer:
    port = free_port()
    arguments = ["--http-port", str(port), "--max-batch-size", "64", "--max-queue-delay-us", "2000"]
    process = _start_peer(scratch, "pytriton", model, arguments)
    base = f"http://127.0.0.1:{port}/v2/models/{model}"
    triton_kind = "kserve-binary" if kind == "multipart" else "kserve-json"
    peer = Peer("PyTriton", process, f"{base}/infer", triton_kind, signal_group=False)
    request, headers = build_request(triton_kind, body.read_bytes(), None)

    def ready() -> bool:
        # The model reports ready a moment before PyTriton has connected its inference
        # function, so one real request must succeed too.
        if httpx.get(f"{base}/ready", timeout=2).status_code != 200:
            return False
        return httpx.post(f"{base}/infer", content=request, headers=headers, timeout=10).status_code == 200

    return _wait_ready(peer, ready)


def run_peers(scratch: Path, levels: list[int], requests: int, max_seconds: float) -> dict:
    """This service, LitServe and PyTriton, each alone on the machine, under the same load and bodies."""
    bodies = _bodies(scratch)
    kinds = {"cifar10": "multipart", "adult-income": "json"}
    results: dict = {}
    server = _server(scratch, "peers-ours")
    try:
        for model, kind in kinds.items():
            for clients in levels:
                point = _load(
                    f"{server.base_url}/predict?model={model}",
                    kind,
                    bodies[model],
                    clients,
                    requests,
                    max_seconds,
                )
                results.setdefault(model, {}).setdefault("ours", {})[str(clients)] = point
    finally:
        server.stop()
    starters: dict[str, Callable[[str, str], Peer]] = {
        "litserve": lambda model, kind: _start_litserve(scratch, model, kind)
    }
    if pytriton_available():
        starters["pytriton"] = lambda model, kind: _start_pytriton(scratch, model, kind, bodies[model])
    else:
        print("peers: PyTriton is not installed (make pytriton), so it is skipped", flush=True)
    for model, kind in kinds.items():
        for key, start in starters.items():
            peer = start(model, kind)
            try:
                for clients in levels:
                    point = _load(peer.url, peer.kind, bodies[model], clients, requests, max_seconds)
                    results[model].setdefault(key, {})[str(clients)] = point
            finally:
                peer.stop()
            for clients in levels:
                ours, theirs = results[model]["ours"][str(clients)], results[model][key][str(clients)]
                print(
                    f"peers {model} c={clients}: ours {ours['throughput_per_s']:.0f}/s p99 {ours['p99_ms']:.1f} ms, "
                    f"{peer.name} {theirs['throughput_per_s']:.0f}/s p99 {theirs['p99_ms']:.1f} ms",
                    flush=True,
                )
    return results


def _classify_upload(server: RunningServer, path: Path, model: str) -> dict:
    started = time.perf_counter()
    summary: dict = {}
    with (
        path.open("rb") as handle,
        httpx.stream(
            "POST",
            f"{server.base_url}/classify-dataset",
            params={"model": model, "format": "ndjson"},
            files={"file": (path.name, handle)},
            timeout=3600,
        ) as reply,
    ):
        reply.raise_for_status()
        for line in reply.iter_lines():
            if line.startswith('{"summary"'):
                summary = json.loads(line)["summary"]
    seconds = time.perf_counter() - started
    return {
        "items": summary["count"],
        "failed": summary["failed"],
        "seconds": seconds,
        "items_per_s": summary["count"] / seconds,
        "accuracy": (summary.get("metrics") or {}).get("accuracy"),
    }


def run_bulk_images(scratch: Path, archives: dict[str, Path], folders: dict[str, Path], workers: int) -> dict:
    results: dict = {}
    for scale, archive in archives.items():
        server = _server(scratch, f"bulk-{scale}")
        try:
            service = _classify_upload(server, archive, "cifar10")
            service["peak_rss_mb"] = server_memory_mb(server)
        finally:
            server.stop()
        offline = dataloader_items_per_s(MODELS / "cifar10.pt", folders[scale], 256, workers)
        results[scale] = {
            "service": service,
            "dataloader_items_per_s": offline,
            "ratio": service["items_per_s"] / offline,
        }
        print(
            f"bulk images {scale}: service {service['items_per_s']:.0f}/s, DataLoader {offline:.0f}/s, "
            f"peak RSS {service['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    return results


def run_bulk_csv(scratch: Path, source: Path, min_rows: int) -> dict:
    path = scratch / "adult-large.csv"
    rows = repeat_csv(source, path, min_rows)
    parse = pyarrow_rows_per_s(path, rows)
    server = _server(scratch, "bulk-csv")
    try:
        service = _classify_upload(server, path, "adult-income")
        service["peak_rss_mb"] = server_memory_mb(server)
    finally:
        server.stop()
    print(
        f"bulk CSV {rows} rows: service {service['items_per_s']:.0f}/s, pyarrow parse {parse:.0f}/s",
        flush=True,
    )
    return {
        "rows": rows,
        "service": service,
        "pyarrow_rows_per_s": parse,
        "ratio": service["items_per_s"] / parse,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny inputs, to check the harness in about a minute"
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path(os.environ.get("CLASSIFY_DATA_ROOT", ROOT.parent / "shared" / "data")),
        help="folder with images/cifar10/{train,test}.tar and tabular/adult.csv",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench", help="folder for RESULTS.md and results.json"
    )
    args = parser.parse_args()
    if not args.quick and not (args.data_root / "images" / "cifar10" / "test.tar").is_file():
        raise SystemExit(f"full data sets not found under {args.data_root}; pass --data-root or use --quick")

    started = time.perf_counter()
    torch.set_num_threads(default_torch_threads())  # the raw limit uses the server's threads
    batch_sizes = [1, 8, 64] if args.quick else [1, 2, 4, 8, 16, 32, 64]
    raw = {
        name: [asdict(p) for p in measure_raw(MODELS / f"{name}.pt", batch_sizes, 0.1 if args.quick else 1.0)]
        for name in ("cifar10", "adult-income", "sms-spam")
    }
    print("raw forward measured", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        levels = [1, 8] if args.quick else [1, 8, 32, 64]
        online = run_online(scratch, levels, 50 if args.quick else 3000, 5 if args.quick else 15)
        peers = run_peers(
            scratch, [8] if args.quick else [8, 64], 50 if args.quick else 3000, 5 if args.quick else 15
        )

        if args.quick:
            sample_folder = SAMPLES / "images" / "cifar10"
            archives = {"1x": scratch / "1x.tar", "10x": scratch / "10x.tar"}
            repeat_archive(sample_folder, archives["1x"], 1)
            repeat_archive(sample_folder, archives["10x"], 10)
            folders = {"1x": sample_folder, "10x": copy_folder(sample_folder, scratch / "10x-folder", 10)}
            csv_source, csv_rows = SAMPLES / "tabular" / "adult.csv", 3000
        else:
            images = args.data_root / "images" / "cifar10"
            archives = {"1x": images / "test.tar", "10x": images / "train.tar"}
            folders = {
                "1x": extract_image_folder(images / "test.tar", scratch / "test"),
                "10x": extract_image_folder(images / "train.tar", scratch / "train"),
            }
            csv_source, csv_rows = args.data_root / "tabular" / "adult.csv", 1_000_000
        bulk_images = run_bulk_images(scratch, archives, folders, workers=os.cpu_count() or 2)
        bulk_csv = run_bulk_csv(scratch, csv_source, csv_rows)

    results = {
        "mode": "quick" if args.quick else "full",
        "machine": {
            "cores": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "seconds": round(time.perf_counter() - started, 1),
        "raw": raw,
        "online": online,
        "peers": peers,
        "bulk_images": bulk_images,
        "bulk_csv": bulk_csv,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "results-quick.json" if args.quick else "results.json"
    (args.out / name).write_text(json.dumps(results, indent=1))
    if not args.quick:
        write_report(results, args.out / "RESULTS.md", interpolate_items_per_s)
    print(f"done in {results['seconds']} s; wrote {args.out / name}")


if __name__ == "__main__":
    main()
