"""POST /classify-dataset on the real server: formats, evaluation, bad items and unsafe archives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sklearn.metrics import accuracy_score, f1_score

from scripts.corpus.archives import forge_zip_sizes, image_entries, tar_bytes, zip_bytes
from scripts.server_process import RunningServer, start_server
from tests.conftest import MODELS

TIMEOUT = httpx.Timeout(120)


def _post(base_url: str, name: str, data: bytes, **params: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/classify-dataset", files={"file": (name, data)}, params=params, timeout=TIMEOUT
    )


@pytest.fixture(scope="module")
def images(samples: Path) -> dict[str, bytes]:
    return image_entries(samples / "images" / "cifar10")


def _check_against_sklearn(body: dict) -> None:
    scored = [p for p in body["predictions"] if p.get("true_label") and p["label"] is not None]
    true = [p["true_label"] for p in scored]
    predicted = [p["label"] for p in scored]
    metrics = body["metrics"]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(true, predicted))
    assert metrics["macro_f1"] == pytest.approx(f1_score(true, predicted, average="macro"))
    assert metrics["weighted_f1"] == pytest.approx(f1_score(true, predicted, average="weighted"))


@pytest.mark.parametrize("packing", ["zip", "tar", "tar.gz"])
def test_image_archive_formats(base_url: str, images: dict[str, bytes], packing: str) -> None:
    wrapped = {f"holdout/{name}": data for name, data in images.items()}
    data = (
        zip_bytes(wrapped) if packing == "zip" else tar_bytes(wrapped, "w:gz" if packing == "tar.gz" else "w")
    )
    reply = _post(base_url, f"images.{packing}", data)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model"] == "cifar10"
    assert body["count"] == body["classified"] == 200
    assert body["failed"] == 0
    assert {p["id"] for p in body["predictions"]} == set(wrapped)
    assert all(p["true_label"] == p["id"].split("/")[1] for p in body["predictions"])
    assert sum(sum(row) for row in body["metrics"]["confusion_matrix"]) == 200
    _check_against_sklearn(body)


@pytest.mark.parametrize(
    ("data", "model", "label"),
    [
        ("text/sms_spam.csv", "sms-spam", "label"),
        ("tabular/adult.csv", "adult-income", "income"),
    ],
)
def test_csv_datasets(base_url: str, samples: Path, data: str, model: str, label: str) -> None:
    reply = _post(base_url, Path(data).name, (samples / data).read_bytes())
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model"] == model
    assert body["count"] == body["classified"] == 300
    assert [p["id"] for p in body["predictions"]] == [str(i) for i in range(1, 301)]
    assert body["csv"]["label_column"] == label
    _check_against_sklearn(body)


def test_ndjson_and_csv_outputs(base_url: str, samples: Path) -> None:
    data = (samples / "text" / "sms_spam.csv").read_bytes()
    lines = _post(base_url, "sms.csv", data, format="ndjson").text.strip().split("\n")
    assert len(lines) == 301
    items = [json.loads(line) for line in lines[:-1]]
    assert {"id", "label", "confidence", "true_label"} <= set(items[0])
    summary = json.loads(lines[-1])["summary"]
    assert summary["count"] == 300
    assert summary["metrics"]["accuracy"] > 0.9
    reply = httpx.post(
        f"{base_url}/classify-dataset",
        files={"file": ("sms.csv", data)},
        headers={"accept": "text/csv"},
        timeout=TIMEOUT,
    )
    assert reply.headers["content-type"].startswith("text/csv")
    rows = reply.text.strip().split("\n")
    assert rows[0] == "id,label,confidence,true_label,error"
    assert len(rows) == 301


def test_corrupt_items_are_recorded(base_url: str, images: dict[str, bytes]) -> None:
    entries = dict(list(images.items())[:10])
    real = next(iter(images.values()))
    entries["cat/broken.jpg"] = real[: len(real) // 3]
    entries["cat/empty.png"] = b""
    reply = _post(base_url, "mixed.zip", zip_bytes(entries))
    body = reply.json()
    assert body["count"] == 12
    assert body["classified"] == 10
    assert body["failed"] == 2
    failed = {p["id"]: p["error"] for p in body["predictions"] if "error" in p}
    assert set(failed) == {"cat/broken.jpg", "cat/empty.png"}
    assert "corrupt" in failed["cat/broken.jpg"]


def test_unsafe_and_hidden_entries_are_skipped(
    base_url: str, images: dict[str, bytes], tmp_path: Path
) -> None:
    image = next(iter(images.values()))
    escape = tmp_path / "escaped.jpg"
    entries = {
        "cat/ok.jpg": image,
        f"../../..{escape}": image,
        "/tmp/absolute.jpg": image,
        "__MACOSX/cat/._ok.jpg": b"junk",
        "cat/.DS_Store": b"junk",
        "cat/notes.txt": b"hello",
        "cat/inner.zip": zip_bytes({"x.jpg": image}),
    }
    links = {"cat/link.jpg": ("/etc/passwd", b"2"), "cat/hard.jpg": ("cat/ok.jpg", b"1")}
    reply = _post(base_url, "unsafe.tar", tar_bytes(entries, links=links))
    body = reply.json()
    assert [p["id"] for p in body["predictions"]] == ["cat/ok.jpg"]
    assert body["skipped"] == {
        "unsafe_path": 2,
        "hidden": 2,
        "not_an_image": 1,
        "nested_archive": 1,
        "link_or_special_file": 2,
    }
    assert not escape.exists()


def test_dataset_level_errors(base_url: str, samples: Path) -> None:
    cases = [
        ("notes.txt", b"", None, 422, "empty"),
        ("notes.pdf", b"%PDF-1.4 binary\x00\x01", "cifar10", 415, "not a zip or tar archive"),
        (
            "nothing.zip",
            zip_bytes({"readme.txt": b"hi", ".DS_Store": b"x"}),
            None,
            422,
            "no items to classify",
        ),
        ("broken.zip", b"PK\x03\x04" + b"\x00" * 100, "cifar10", 400, "cannot be read"),
        ("wrong.csv", b"body,label\nhello,ham\n", "sms-spam", 422, "lacks the model's columns ['text']"),
        ("header.csv", b"text,label\n", "sms-spam", 422, "no items"),
        ("images.zip", zip_bytes({"a.jpg": b"x"}), "sms-spam", 415, "not a CSV"),
        ("rows.csv", (samples / "tabular/adult.csv").read_bytes(), "nope", 404, "not served"),
    ]
    for name, data, model, status, phrase in cases:
        params = {"model": model} if model else {}
        reply = _post(base_url, name, data, **params)
        assert reply.status_code == status, (name, reply.text)
        assert phrase in reply.json()["detail"], (name, reply.text)


def test_csv_dialects_and_encodings(base_url: str) -> None:
    rows = ["Free entry! Win £100 now", "see you at 5, ok?", 'he said "hi"\nthen left']
    labels = ["spam", "ham", "ham"]
    plain = "text,label\n" + "".join(
        f'"{t.replace(chr(34), chr(34) * 2)}",{lab}\n' for t, lab in zip(rows, labels, strict=True)
    )
    variants = {
        "bom.csv": b"\xef\xbb\xbf" + plain.encode(),
        "semicolon.csv": plain.replace('",', '";').replace("text,label", "text;label").encode(),
        "latin1.csv": plain.encode("latin-1"),
        "tabs.csv": plain.replace('",', '"\t').replace("text,label", "text\tlabel").encode(),
    }
    for name, data in variants.items():
        reply = _post(base_url, name, data, model="sms-spam")
        assert reply.status_code == 200, (name, reply.text)
        body = reply.json()
        assert body["count"] == 3, name
        assert body["labelled"] == 3, name
    latin = _post(base_url, "latin1.csv", variants["latin1.csv"], model="sms-spam").json()
    assert latin["csv"]["encoding"] == "cp1252 (detected)"


def test_bad_csv_rows_and_unknown_labels(base_url: str, samples: Path) -> None:
    lines = (samples / "tabular/adult.csv").read_text().splitlines()
    header, first, second = lines[0], lines[1], lines[2]
    broken = first.replace(",", ",,", 1)  # one field too many
    bad_number = "abc" + second[second.index(",") :]
    relabelled = lines[3].rsplit(",", 1)[0] + ",>50K."
    data = "\n".join([header, first, broken, bad_number, relabelled, lines[4]]) + "\n"
    body = _post(base_url, "adult.csv", data.encode(), model="adult-income").json()
    assert body["count"] == 5
    assert body["failed"] == 2
    errors = {p["id"]: p["error"] for p in body["predictions"] if "error" in p}
    assert "malformed CSV row" in errors["2"]
    assert "'age'" in errors["3"]
    assert body["unknown_true_labels"] == {">50K.": 1}


@pytest.fixture(scope="module")
def small_limits_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("limits") / "server.log"
    server = start_server(
        log,
        {
            "CLASSIFY_MODEL_DIR": str(MODELS),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_MAX_ENTRY_BYTES": str(1 * 2**20),
            "CLASSIFY_MAX_UNCOMPRESSED_BYTES": str(3 * 2**20),
            "CLASSIFY_MAX_UPLOAD_BYTES": str(8 * 2**20),
            "CLASSIFY_BULK_CHUNK_ITEMS": "32",
            "CLASSIFY_BULK_BATCH_SIZE": "16",
        },
    )
    yield server
    server.stop()


def test_zip_bombs_are_bounded(small_limits_server: RunningServer, images: dict[str, bytes]) -> None:
    base_url = small_limits_server.base_url
    zeros = b"\x00" * (2 * 2**20)
    bomb = zip_bytes({"cat/a.jpg": next(iter(images.values())), "cat/bomb.jpg": zeros})
    body = _post(base_url, "bomb.zip", bomb, model="cifar10").json()
    errors = {p["id"]: p.get("error") for p in body["predictions"]}
    assert "CLASSIFY_MAX_ENTRY_BYTES" in errors["cat/bomb.jpg"]
    assert errors["cat/a.jpg"] is None

    # Over the total bound within the first chunk: refused before any output.
    many = zip_bytes({f"cat/{i}.jpg": b"\x00" * (900 * 1024) for i in range(5)})
    reply = _post(base_url, "many.zip", many, model="cifar10")
    assert reply.status_code == 413
    assert "CLASSIFY_MAX_UNCOMPRESSED_BYTES" in reply.json()["detail"]

    # Over the bound after results began streaming: the items so far stay, the summary says why.
    late = dict(list(images.items())[:40])
    late.update({f"cat/big{i}.jpg": b"\x00" * (900 * 1024) for i in range(5)})
    body = _post(base_url, "late.zip", zip_bytes(late), model="cifar10").json()
    assert "CLASSIFY_MAX_UNCOMPRESSED_BYTES" in body["stopped_early"]
    assert body["classified"] >= 32

    forged = forge_zip_sizes(zip_bytes({"cat/forged.jpg": zeros}), declared_size=100)
    reply = _post(base_url, "forged.zip", forged, model="cifar10")
    assert reply.status_code == 200
    assert reply.json()["classified"] == 0

    assert httpx.get(f"{base_url}/readyz").status_code == 200


def test_upload_over_limit(small_limits_server: RunningServer) -> None:
    reply = _post(
        small_limits_server.base_url, "big.csv", b"text,label\n" + b"x,ham\n" * (2 * 2**20), model="sms-spam"
    )
    assert reply.status_code == 413


def test_ndjson_streams_before_the_end(small_limits_server: RunningServer, images: dict[str, bytes]) -> None:
    entries = {f"{copy}/{name}": data for copy in range(10) for name, data in images.items()}
    parts = []
    with httpx.stream(
        "POST",
        f"{small_limits_server.base_url}/classify-dataset",
        files={"file": ("many.tar", tar_bytes(entries))},
        params={"format": "ndjson"},
        timeout=TIMEOUT,
    ) as reply:
        for part in reply.iter_raw():
            parts.append(part)
    text = b"".join(parts).decode()
    assert text.count("\n") == 2001
    assert len(parts) > 5
    assert b'"summary"' not in parts[0]
    assert parts[0].count(b"\n") < 2000
