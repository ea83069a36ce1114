"""Train each kind for one short epoch on the bundled samples through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkpoint import ModelKind, load_checkpoint
from training.cli import main

FAST = ["--epochs", "1", "--seed", "0", "--threads", "1"]


def _train(kind: str, data: Path, output: Path, *extra: str) -> None:
    code = main(["train", kind, "--data", str(data), "--output", str(output), *FAST, *extra])
    assert code == 0


@pytest.fixture(scope="module")
def image_checkpoint(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    out = tmp_path_factory.mktemp("image") / "tiny-cifar.pt"
    _train("image", samples / "images" / "cifar10", out, "--width", "8", "--batch-size", "32")
    return out


@pytest.fixture(scope="module")
def text_checkpoint(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    out = tmp_path_factory.mktemp("text") / "tiny-sms.pt"
    _train("text", samples / "text" / "sms_spam.csv", out, "--hidden-size", "16", "--embed-dim", "16")
    return out


@pytest.fixture(scope="module")
def tabular_checkpoint(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    out = tmp_path_factory.mktemp("tabular") / "tiny-adult.pt"
    _train(
        "tabular",
        samples / "tabular" / "adult.csv",
        out,
        "--label-column",
        "income",
        "--hidden-sizes",
        "16",
        "--ensemble",
        "2",
    )
    return out


def test_image_manifest(image_checkpoint: Path) -> None:
    manifest = load_checkpoint(image_checkpoint).manifest
    assert manifest.kind == ModelKind.IMAGE
    assert manifest.name == "tiny-cifar"
    assert manifest.class_names == sorted(manifest.class_names)
    assert len(manifest.class_names) == 10
    assert (manifest.input.height, manifest.input.width, manifest.input.channels) == (32, 32, 3)
    assert all(0 < s < 1 for s in manifest.input.std)
    assert 0.0 <= manifest.metrics["test"]["accuracy"] <= 1.0
    assert manifest.training["epochs_run"] == 1


def test_text_manifest(text_checkpoint: Path) -> None:
    manifest = load_checkpoint(text_checkpoint).manifest
    assert manifest.kind == ModelKind.TEXT
    assert manifest.class_names == ["ham", "spam"]
    assert manifest.label_column == "label"
    assert manifest.input.text_column == "text"
    assert manifest.input.vocabulary[:2] == ["<pad>", "<unk>"]
    assert len(manifest.input.vocabulary) > 100


def test_tabular_manifest(tabular_checkpoint: Path) -> None:
    manifest = load_checkpoint(tabular_checkpoint).manifest
    spec = manifest.input
    assert manifest.kind == ModelKind.TABULAR
    assert manifest.class_names == ["<=50K", ">50K"]
    assert [c.name for c in spec.numeric_columns] == [
        "age",
        "fnlwgt",
        "education-num",
        "capital-gain",
        "capital-loss",
        "hours-per-week",
    ]
    workclass = next(c for c in spec.columns if c.name == "workclass")
    assert "Private" in workclass.categories
    assert "?" not in workclass.categories
    assert "?" in spec.missing_values
    assert manifest.training["ensemble_size"] == 2


def test_report_files_written(image_checkpoint: Path) -> None:
    report = json.loads(image_checkpoint.with_suffix(".report.json").read_text())
    test = report["test"]
    assert test["count"] == sum(sum(row) for row in test["confusion_matrix"])
    assert set(test["per_class"]) == set(test["class_names"])
    assert report["parity_max_difference"] <= 1e-4
    png = image_checkpoint.with_suffix(".report.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_reproducible_on_cpu(tmp_path: Path, samples: Path) -> None:
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    for out in (first, second):
        _train(
            "tabular",
            samples / "tabular" / "adult.csv",
            out,
            "--label-column",
            "income",
            "--hidden-sizes",
            "16",
        )
    a = load_checkpoint(first).module.state_dict()
    b = load_checkpoint(second).module.state_dict()
    assert all((a[k] == b[k]).all() for k in a)


def test_archive_input_matches_folder(tmp_path: Path, samples: Path) -> None:
    import tarfile
    import zipfile

    folder = samples / "images" / "cifar10"
    tar_path, zip_path = tmp_path / "images.tar.gz", tmp_path / "images.zip"
    with tarfile.open(tar_path, "w:gz") as archive:
        archive.add(folder, arcname="wrapped")
    with zipfile.ZipFile(zip_path, "w") as archive:
        for file in sorted(folder.rglob("*.jpg")):
            archive.write(file, file.relative_to(folder).as_posix())
    for source in (tar_path, zip_path):
        out = tmp_path / f"{source.name}.pt"
        _train("image", source, out, "--width", "8", "--batch-size", "32")
        manifest = load_checkpoint(out).manifest
        assert (
            manifest.training["train_samples"]
            + manifest.training["validation_samples"]
            + manifest.training["test_samples"]
            == 200
        )
