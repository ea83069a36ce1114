"""Send every file of the generated input corpus to the live server and check each documented outcome."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from scripts.corpus.cases import Case, read_cases, write_corpus
from scripts.service_metrics import requests_with_status

TIMEOUT = httpx.Timeout(120)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(samples, folder)
    return folder


def _send(base_url: str, folder: Path, case: Case) -> httpx.Response:
    data = (folder / case.filename).read_bytes()
    url = f"{base_url}/{case.route}"
    params = {"model": case.model}
    if case.route == "classify-dataset":
        params["format"] = "json"
    elif case.body != "json":
        params["top_k"] = "100"  # every class, so replies can be compared as distributions
    if case.body == "multipart":
        return httpx.post(url, params=params, files={"file": (case.filename, data)}, timeout=TIMEOUT)
    content_type = "application/json" if case.body == "json" else case.content_type
    return httpx.post(url, params=params, content=data, headers={"content-type": content_type}, timeout=TIMEOUT)


def _probabilities(reply: httpx.Response) -> np.ndarray:
    top = reply.json()["top_k"]
    return np.array([entry["probability"] for entry in sorted(top, key=lambda e: e["label"])])


def _check(case: Case, reply: httpx.Response, replies: dict[str, httpx.Response]) -> list[str]:
    """Return what differs from the case's expected outcome (empty when it matches)."""
    expected = case.expected
    if reply.status_code != expected.status:
        return [f"status {reply.status_code}, expected {expected.status}: {reply.text[:300]}"]
    body = reply.json()
    problems = []
    if expected.detail is not None:
        detail = str(body.get("detail", "")).lower()
        if expected.detail not in detail:
            problems.append(f"detail {detail!r} does not mention {expected.detail!r}")
    for name, value in expected.fields.items():
        if body.get(name) != value:
            problems.append(f"{name} = {body.get(name)!r}, expected {value!r}")
    if expected.item_errors:
        errors = {str(p["id"]): (p.get("error") or "").lower() for p in body["predictions"]}
        for item, text in expected.item_errors.items():
            if text not in errors.get(item, ""):
                problems.append(f"item {item} error {errors.get(item)!r} does not mention {text!r}")
    if expected.closer_to is not None and expected.farther_from is not None:
        mine = _probabilities(reply)
        near = np.abs(mine - _probabilities(replies[expected.closer_to])).sum()
        far = np.abs(mine - _probabilities(replies[expected.farther_from])).sum()
        if not near < far:
            problems.append(f"distance to {expected.closer_to} {near:.3f} is not below {far:.3f}")
    return problems


def test_every_case_meets_its_expected_outcome(base_url: str, corpus: Path) -> None:
    cases = read_cases(corpus)
    # References first, so the cases that compare against them find their replies.
    cases.sort(key=lambda case: case.expected.closer_to is not None)
    replies: dict[str, httpx.Response] = {}
    failures = {}
    for case in cases:
        reply = _send(base_url, corpus, case)
        replies[case.name] = reply
        problems = _check(case, reply, replies)
        if problems:
            failures[case.name] = problems
    assert not failures, "\n".join(f"{name}: {'; '.join(p)}" for name, p in failures.items())


def test_corpus_causes_no_server_error(base_url: str, corpus: Path) -> None:
    for case in read_cases(corpus):
        reply = _send(base_url, corpus, case)
        assert reply.status_code < 500, f"{case.name}: {reply.status_code} {reply.text[:300]}"
    assert httpx.get(f"{base_url}/readyz").status_code == 200
    metrics = httpx.get(f"{base_url}/metrics").text
    assert requests_with_status(metrics, "5") == 0
