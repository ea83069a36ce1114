"""A bounded async HTTP load generator for POST /predict, run in its own process.

It uses aiohttp, whose client costs far less CPU per request than httpx; on a
2-core machine shared with the server, the client's cost shows in every figure.

    python -m bench.load --url URL --concurrency N --requests M --body FILE --kind json|image|multipart

Prints one JSON line: requests, errors, seconds, throughput and latency percentiles.
Only loopback URLs are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlparse

import aiohttp
import numpy as np

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


async def _run(url: str, concurrency: int, total: int, payload: bytes, kind: str, deadline_s: float) -> dict:
    latencies: list[float] = []
    errors = 0
    issued = 0
    headers = {"json": {"content-type": "application/json"}, "image": {"content-type": "image/jpeg"}}.get(
        kind, {}
    )
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal issued, errors
            while issued < total and time.monotonic() < deadline_s:
                issued += 1
                started = time.perf_counter()
                try:
                    if kind == "multipart":
                        body: object = aiohttp.FormData()
                        body.add_field("file", payload, filename="image.jpg", content_type="image/jpeg")
                    else:
                        body = payload
                    async with session.post(url, data=body, headers=headers) as reply:
                        await reply.read()
                        ok = reply.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "throughput_per_s": len(latencies) / seconds,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="bounded load generator for POST /predict")
    parser.add_argument("--url", required=True, help="full /predict URL on a loopback address")
    parser.add_argument("--concurrency", type=int, required=True, help="clients sending at once")
    parser.add_argument("--requests", type=int, required=True, help="requests to send in total")
    parser.add_argument("--max-seconds", type=float, default=60, help="stop sending after this long")
    parser.add_argument("--body", required=True, help="file holding the request body")
    parser.add_argument(
        "--kind",
        choices=("json", "image", "multipart"),
        required=True,
        help="JSON body, raw image/jpeg body, or the image in multipart field 'file'",
    )
    args = parser.parse_args()
    if urlparse(args.url).hostname not in LOOPBACK_HOSTS:
        raise SystemExit(f"refusing to send load to {args.url}: only loopback addresses are allowed")
    with open(args.body, "rb") as handle:
        payload = handle.read()
    deadline = time.monotonic() + args.max_seconds
    print(
        json.dumps(asyncio.run(_run(args.url, args.concurrency, args.requests, payload, args.kind, deadline)))
    )


if __name__ == "__main__":
    main()
