"""A bounded async HTTP load generator for POST /predict and KServe v2 infer, run in its own process.

It uses aiohttp, whose client costs far less CPU per request than httpx; on a
2-core machine shared with the server, the client's cost shows in every figure.

    python -m bench.load --url URL --concurrency N --requests M --body FILE --kind KIND

Kinds json, image and multipart send the body file to this service's /predict
or to the LitServe peer. Kinds kserve-binary and kserve-json send it to a
KServe v2 endpoint, POST /v2/models/NAME/infer, as the single element of a
BYTES input of shape [1, 1] (see --input-name): kserve-binary uses Triton's
binary tensor data extension, and kserve-json puts the body, which must be
UTF-8 text, in the JSON "data" array. Every request body is built once.

Prints one JSON line: requests, errors, seconds, throughput and latency percentiles.
A request counts as an error unless it returns status 200. Only loopback URLs are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time
from urllib.parse import urlparse

import aiohttp
import numpy as np

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
KINDS = ("json", "image", "multipart", "kserve-binary", "kserve-json")
# Input names that bench.peers.pytriton_server gives its models.
DEFAULT_INPUT_NAMES = {"kserve-binary": "image", "kserve-json": "row"}


def kserve_binary_request(input_name: str, element: bytes) -> tuple[bytes, dict[str, str]]:
    """Build a KServe v2 request whose BYTES input is sent with Triton's binary tensor data extension.

    The body is the JSON header, then the tensor data: each BYTES element is a
    4-byte little-endian unsigned length followed by its bytes. The
    Inference-Header-Content-Length header gives the JSON header's size.
    """
    tensor = struct.pack("<I", len(element)) + element
    header = {
        "inputs": [
            {
                "name": input_name,
                "datatype": "BYTES",
                "shape": [1, 1],
                "parameters": {"binary_data_size": len(tensor)},
            }
        ]
    }
    header_bytes = json.dumps(header).encode()
    headers = {
        "content-type": "application/octet-stream",
        "inference-header-content-length": str(len(header_bytes)),
    }
    return header_bytes + tensor, headers


def kserve_json_request(input_name: str, element: bytes) -> tuple[bytes, dict[str, str]]:
    """Build a KServe v2 JSON request whose BYTES input contains `element` as a string."""
    try:
        text = element.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SystemExit(f"kind kserve-json needs a UTF-8 text body: {error}") from error
    body = {"inputs": [{"name": input_name, "datatype": "BYTES", "shape": [1, 1], "data": [text]}]}
    return json.dumps(body).encode(), {"content-type": "application/json"}


def build_request(kind: str, payload: bytes, input_name: str | None) -> tuple[bytes, dict[str, str]]:
    """Return the request body and headers for `kind`. The multipart kind builds its form per request."""
    if kind == "kserve-binary":
        return kserve_binary_request(input_name or DEFAULT_INPUT_NAMES[kind], payload)
    if kind == "kserve-json":
        return kserve_json_request(input_name or DEFAULT_INPUT_NAMES[kind], payload)
    headers = {"json": {"content-type": "application/json"}, "image": {"content-type": "image/jpeg"}}.get(
        kind, {}
    )
    return payload, headers


async def _run(
    url: str,
    concurrency: int,
    total: int,
    payload: bytes,
    kind: str,
    deadline_s: float,
    input_name: str | None = None,
) -> dict:
    latencies: list[float] = []
    errors = 0
    issued = 0
    payload, headers = build_request(kind, payload, input_name)
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
    parser = argparse.ArgumentParser(
        description="bounded load generator for POST /predict and KServe v2 infer"
    )
    parser.add_argument(
        "--url", required=True, help="full /predict or /v2/models/NAME/infer URL on a loopback address"
    )
    parser.add_argument("--concurrency", type=int, required=True, help="clients sending at once")
    parser.add_argument("--requests", type=int, required=True, help="requests to send in total")
    parser.add_argument("--max-seconds", type=float, default=60, help="stop sending after this long")
    parser.add_argument("--body", required=True, help="file holding the request body")
    parser.add_argument(
        "--kind",
        choices=KINDS,
        required=True,
        help="JSON body, raw image/jpeg body, the image in multipart field 'file', "
        "or the body as one KServe v2 BYTES element, sent as binary data or as JSON text",
    )
    parser.add_argument(
        "--input-name",
        default=None,
        help="KServe v2 input name for the kserve kinds (default: image for kserve-binary, row for kserve-json)",
    )
    args = parser.parse_args()
    if urlparse(args.url).hostname not in LOOPBACK_HOSTS:
        raise SystemExit(f"refusing to send load to {args.url}: only loopback addresses are allowed")
    with open(args.body, "rb") as handle:
        payload = handle.read()
    deadline = time.monotonic() + args.max_seconds
    print(
        json.dumps(
            asyncio.run(
                _run(args.url, args.concurrency, args.requests, payload, args.kind, deadline, args.input_name)
            )
        )
    )


if __name__ == "__main__":
    main()
