"""Soak test: hold the service at saturation for a long run and record errors and memory growth.

    python -m bench.soak [--minutes 10] [--clients 32]

Two load generators (image and tabular /predict, `--clients` each) run in
windows of `--window-s` seconds while a whole dataset is uploaded to
/classify-dataset once per window. After every window the server's RSS and
its /metrics are read. Errors are every non-200 reply plus any 5xx the server
counted; RSS growth compares the end of the run with the end of the first
window, when the service is warm. Writes bench/soak.json and bench/soak.md,
then re-renders bench/RESULTS.md when bench/results.json exists.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench.raw_forward import interpolate_items_per_s
from bench.report import write_report
from bench.run import SAMPLES, _bodies, _server, load_command, server_memory_mb
from scripts.server_process import ROOT, RunningServer
from scripts.service_metrics import requests_with_status

BENCH = ROOT / "bench"
RSS_GROWTH_GOAL = 0.05


@dataclass
class Window:
    index: int
    elapsed_s: float
    requests: int
    errors: int
    throughput_per_s: float
    p99_ms: float
    bulk_items: int
    bulk_errors: int
    rss_mb: float


def _server_errors(server: RunningServer) -> int:
    return int(requests_with_status(httpx.get(f"{server.base_url}/metrics").text, "5"))


def _load_process(url: str, kind: str, body: Path, clients: int, seconds: float) -> subprocess.Popen[str]:
    # Bounded by time only: the request count is set far above what the window allows.
    command = load_command(url, kind, body, clients, 100_000_000, seconds)
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _sample_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((SAMPLES / "images" / "cifar10").rglob("*.jpg")):
            archive.write(path, path.relative_to(SAMPLES / "images").as_posix())
    return buffer.getvalue()


def _upload_dataset(base_url: str, archive: bytes) -> tuple[int, int]:
    """Upload the sample archive once; return (items classified, errors)."""
    try:
        reply = httpx.post(
            f"{base_url}/classify-dataset?model=cifar10&format=json",
            files={"file": ("samples.zip", archive)},
            timeout=120,
        )
    except httpx.HTTPError:
        return 0, 1
    if reply.status_code != 200:
        return 0, 1
    body = reply.json()
    return body["classified"], body["failed"]


def run_soak(scratch: Path, minutes: float, clients: int, window_s: float) -> dict:
    bodies = _bodies(scratch)
    archive = _sample_archive()
    server = _server(scratch, "soak-server")
    windows: list[Window] = []
    started = time.monotonic()
    try:
        rss_at_start_mb = server_memory_mb(server, "VmRSS")
        index = 0
        while time.monotonic() - started < minutes * 60:
            loads = [
                _load_process(f"{server.base_url}/predict?model=cifar10", "image", bodies["cifar10"], clients, window_s),
                _load_process(
                    f"{server.base_url}/predict?model=adult-income", "json", bodies["adult-income"], clients, window_s
                ),
            ]
            bulk_items = bulk_errors = 0
            window_end = time.monotonic() + window_s
            with ThreadPoolExecutor(1) as pool:
                while time.monotonic() < window_end:
                    items, errors = pool.submit(_upload_dataset, server.base_url, archive).result()
                    bulk_items += items
                    bulk_errors += errors
            points = [json.loads(load.communicate()[0]) for load in loads]
            requests = sum(p["requests"] for p in points)
            window = Window(
                index=index,
                elapsed_s=round(time.monotonic() - started, 1),
                requests=requests,
                errors=sum(p["errors"] for p in points),
                throughput_per_s=round(sum(p["throughput_per_s"] for p in points), 1),
                p99_ms=round(max(p["p99_ms"] for p in points), 2),
                bulk_items=bulk_items,
                bulk_errors=bulk_errors,
                rss_mb=round(server_memory_mb(server, "VmRSS"), 1),
            )
            windows.append(window)
            print(
                f"soak window {index}: {window.throughput_per_s:.0f} req/s, errors {window.errors}, "
                f"bulk {bulk_items} items, RSS {window.rss_mb:.0f} MB",
                flush=True,
            )
            index += 1
        server_errors = _server_errors(server)
        peak_rss_mb = server_memory_mb(server)
        ready = httpx.get(f"{server.base_url}/readyz").status_code == 200
    finally:
        server.stop()
    warm_mb = windows[0].rss_mb
    final_mb = windows[-1].rss_mb
    half_mb = windows[len(windows) // 2].rss_mb
    return {
        "minutes": minutes,
        "clients_per_model": clients,
        "window_s": window_s,
        "rss_at_start_mb": round(rss_at_start_mb, 1),
        "rss_warm_mb": warm_mb,
        "rss_final_mb": final_mb,
        "rss_growth": round((final_mb - warm_mb) / warm_mb, 4),
        # A leak keeps growing; a one-time step (an allocator arena, a larger batch) does not.
        "rss_growth_second_half": round((final_mb - half_mb) / half_mb, 4),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "requests": sum(w.requests for w in windows),
        "errors": sum(w.errors + w.bulk_errors for w in windows) + server_errors,
        "server_5xx": server_errors,
        "bulk_items": sum(w.bulk_items for w in windows),
        "ready_after": ready,
        "windows": [asdict(w) for w in windows],
    }


def render_soak(soak: dict) -> str:
    growth = soak["rss_growth"]
    mark_errors = "met" if soak["errors"] == 0 else "missed"
    mark_growth = "met" if growth < RSS_GROWTH_GOAL else "missed"
    lines = [
        "## 6. Soak: saturation for a long run",
        "",
        f"Command: `python -m bench.soak --minutes {soak['minutes']:g} --clients {soak['clients_per_model']}`: "
        f"image and tabular `/predict` with {soak['clients_per_model']} clients each, and the bundled image "
        f"archive uploaded to `/classify-dataset` back to back, for {soak['minutes']:g} minutes.",
        "",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| requests served | {soak['requests']:,} (+ {soak['bulk_items']:,} bulk items) | |",
        f"| errors (non-200 replies and server 5xx) | **{soak['errors']}** | 0 ({mark_errors}) |",
        f"| RSS after the first window / at the end | {soak['rss_warm_mb']:.0f} MB / {soak['rss_final_mb']:.0f} MB | |",
        f"| RSS growth, first window to end | **{growth * 100:.1f}%** | under {RSS_GROWTH_GOAL * 100:.0f}% "
        f"({mark_growth}) |",
        f"| RSS growth over the second half of the run | {soak['rss_growth_second_half'] * 100:.1f}% | |",
        f"| peak RSS | {soak['peak_rss_mb']:.0f} MB | |",
        f"| ready after the run | {soak['ready_after']} | True |",
        "",
        "| window | at | req/s | p99 | errors | bulk items | RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for w in soak["windows"]:
        lines.append(
            f"| {w['index']} | {w['elapsed_s']:.0f} s | {w['throughput_per_s']:,.0f} | {w['p99_ms']:.1f} ms | "
            f"{w['errors'] + w['bulk_errors']} | {w['bulk_items']:,} | {w['rss_mb']:.0f} MB |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="hold the service at saturation and record errors and RSS")
    parser.add_argument("--minutes", type=float, default=10, help="length of the run in minutes")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients per model")
    parser.add_argument("--window-s", type=float, default=30, help="seconds between RSS and metrics samples")
    parser.add_argument("--out", type=Path, default=BENCH, help="folder for soak.json and soak.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        soak = run_soak(Path(scratch), args.minutes, args.clients, args.window_s)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(soak, indent=2) + "\n")
    (args.out / "soak.md").write_text(render_soak(soak))
    results = args.out / "results.json"
    if results.is_file():
        write_report(json.loads(results.read_text()), args.out / "RESULTS.md", interpolate_items_per_s)
    print(f"errors {soak['errors']}, RSS growth {soak['rss_growth'] * 100:.1f}%")
    if soak["errors"] or not soak["ready_after"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
