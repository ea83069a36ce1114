"""Render bench results as RESULTS.md: every figure as a ratio, beside its target."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

COMMAND = "make bench  # python -m bench.run"


def _mark(met: bool) -> str:
    return "met" if met else "missed"


def write_report(results: dict, path: Path, interpolate: Callable) -> None:
    from bench.raw_forward import RawPoint

    machine = results["machine"]
    raw = {name: [RawPoint(**p) for p in points] for name, points in results["raw"].items()}
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{COMMAND}` ({results['mode']} mode, {results['seconds']:.0f} s).",
        f"Machine: {machine['cores']} CPU cores, no GPU, torch {machine['torch']} with "
        f"{machine['torch_threads']} threads, Python {machine['python']}, {machine['platform']}.",
        "The load generator runs in its own process on the same cores as the server, so the",
        "online figures include its CPU cost. Every ratio compares two measurements from this run.",
        "",
        "## 1. Raw forward throughput (the limit)",
        "",
        "| model | " + " | ".join(f"batch {p.batch_size}" for p in raw["cifar10"]) + " |",
        "|---|" + "---|" * len(raw["cifar10"]),
    ]
    for name, points in raw.items():
        lines.append(f"| {name} | " + " | ".join(f"{p.items_per_s:,.0f}/s" for p in points) + " |")

    lines += [
        "",
        "## 2. Online `/predict` (one uvicorn process)",
        "",
        "| model | clients | throughput | p50 ms | p95 ms | p99 ms | batch formed | / raw at that batch | no batching | batching gain |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary: dict[str, dict] = {}
    for model, runs in results["online"].items():
        for clients, point in runs["batching"].items():
            limit = interpolate(raw[model], max(1.0, point["mean_batch_rows"]))
            plain = runs["no_batching"][clients]
            gain = point["throughput_per_s"] / plain["throughput_per_s"]
            lines.append(
                f"| {model} | {clients} | {point['throughput_per_s']:,.0f}/s | {point['p50_ms']:.2f} | "
                f"{point['p95_ms']:.2f} | {point['p99_ms']:.2f} | {point['mean_batch_rows']:.1f} | "
                f"{point['throughput_per_s'] / limit:.2f} | {plain['throughput_per_s']:,.0f}/s | {gain:.2f}x |"
            )
            summary.setdefault(model, {})[clients] = {
                "of_raw": point["throughput_per_s"] / limit,
                "gain": gain,
                "batch": point["mean_batch_rows"],
            }
    lines += ["", "Per-request overhead at 1 client (p50 minus the raw batch-1 forward time):", ""]
    for model, runs in results["online"].items():
        raw_ms = raw[model][0].ms_per_batch
        overhead = runs["batching"]["1"]["p50_ms"] - raw_ms
        lines.append(
            f"- {model}: p50 {runs['batching']['1']['p50_ms']:.2f} ms - raw {raw_ms:.2f} ms = "
            f"**{overhead:.2f} ms** (target at most 1 ms: {_mark(overhead <= 1.0)})"
        )
    lines += [
        "",
        "Batching efficiency at 64 clients: the service's gain from batching over the raw model's gain",
        "from batch 1 to the batch size formed (target at least 0.8):",
        "",
    ]
    for model in results["online"]:
        at64 = summary[model].get("64")
        if at64:
            raw_gain = interpolate(raw[model], max(1.0, at64["batch"])) / raw[model][0].items_per_s
            share = (at64["gain"] - 1) / (raw_gain - 1) if raw_gain > 1 else float("nan")
            lines.append(
                f"- {model}: service gain {at64['gain']:.2f}x, raw gain {raw_gain:.2f}x, share "
                f"**{share:.2f}** ({_mark(share >= 0.8)}); throughput / raw at formed batch "
                f"**{at64['of_raw']:.2f}** (target 0.9: {_mark(at64['of_raw'] >= 0.9)})"
            )

    peer_lines = [
        "Each server alone on the machine, one after the other, with batching on: this service with its",
        "defaults; LitServe 0.2 with max_batch_size 64, batch_timeout 2 ms and one worker; PyTriton 0.7",
        "(Triton's core) with max_batch_size 64 and a 2 ms max queue delay. All use the same torch",
        "threads and decode the same bodies in the server: image bodies are multipart for this service",
        "and LitServe, and the same JPEG as a binary KServe v2 BYTES tensor for PyTriton; tabular rows",
        "are the same JSON text. The ratio is this service's throughput over the peer's.",
        "",
        "| model | clients | peer | this service | p99 ms | peer | p99 ms | ratio | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # Throughput ratio targets; for the image model the p99 may be no worse than the peer's.
    targets = {("cifar10", "litserve"): 2.0, ("cifar10", "pytriton"): 1.4, ("adult-income", "litserve"): 3.0}
    peer_names = {"litserve": "LitServe", "pytriton": "PyTriton"}
    measured = set()
    for model, runs in results.get("peers", {}).items():
        for key, name in peer_names.items():
            if key not in runs:
                continue
            measured.add(key)
            for clients, ours in runs["ours"].items():
                theirs = runs[key][clients]
                ratio = ours["throughput_per_s"] / theirs["throughput_per_s"]
                goal = targets.get((model, key))
                if goal is None:
                    verdict = "none set"
                else:
                    met = ratio >= goal and (model != "cifar10" or ours["p99_ms"] <= theirs["p99_ms"])
                    verdict = f"{goal:g}x: {_mark(met)}"
                peer_lines.append(
                    f"| {model} | {clients} | {name} | {ours['throughput_per_s']:,.0f}/s | {ours['p99_ms']:.1f} | "
                    f"{theirs['throughput_per_s']:,.0f}/s | {theirs['p99_ms']:.1f} | **{ratio:.2f}x** | {verdict} |"
                )
    if "pytriton" not in measured:
        peer_lines += ["", "PyTriton was not installed for this run (`make pytriton` installs it)."]
    PEERS_TABLE = "\n".join(peer_lines)  # noqa: N806 - one block of the page

    lines += [
        "",
        "## 3. Peers: LitServe and PyTriton under the same load",
        "",
        PEERS_TABLE,
        "",
        "## 4. Bulk images: `/classify-dataset` against the offline DataLoader loop",
        "",
        "| dataset | images | service | DataLoader + model loop | ratio (target 1.5) | server peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for scale, run in results["bulk_images"].items():
        service = run["service"]
        lines.append(
            f"| {scale} | {service['items']:,} | {service['items_per_s']:,.0f}/s | "
            f"{run['dataloader_items_per_s']:,.0f}/s | **{run['ratio']:.2f}** ({_mark(run['ratio'] >= 1.5)}) | "
            f"{service['peak_rss_mb']:.0f} MB |"
        )
    rss = results["bulk_images"]
    growth = rss["10x"]["service"]["peak_rss_mb"] / rss["1x"]["service"]["peak_rss_mb"]
    csv_run = results["bulk_csv"]
    lines += [
        "",
        f"Peak RSS at 10x over 1x: **{growth:.2f}** (target at most 1.2: {_mark(growth <= 1.2)}).",
        "",
        "## 5. Bulk CSV: `/classify-dataset` against pyarrow's parse of the same file",
        "",
        f"{csv_run['rows']:,} rows (Adult repeated): service {csv_run['service']['items_per_s']:,.0f} rows/s, "
        f"pyarrow parse alone {csv_run['pyarrow_rows_per_s']:,.0f} rows/s, ratio "
        f"**{csv_run['ratio']:.2f}** (target 0.5: {_mark(csv_run['ratio'] >= 0.5)}); "
        f"server peak RSS {csv_run['service']['peak_rss_mb']:.0f} MB.",
        "",
    ]
    soak = path.parent / "soak.md"
    if soak.is_file():
        lines += ["", soak.read_text().rstrip()]
    analysis = path.parent / "analysis.md"
    if analysis.is_file():
        lines += ["", analysis.read_text().rstrip()]
    path.write_text("\n".join(lines) + "\n")
