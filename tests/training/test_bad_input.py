"""Bad training data ends in one clear message (exit code 2), never a traceback."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from training.cli import main

FAST = ["--epochs", "1", "--threads", "1"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args) + FAST)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return err


def _image_folder(tmp_path: Path, samples: Path, classes: int = 2) -> Path:
    root = tmp_path / "images"
    for class_dir in sorted((samples / "images" / "cifar10").iterdir())[:classes]:
        shutil.copytree(class_dir, root / class_dir.name)
    return root


def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    err = _run(capsys, "train", "image", "--data", str(empty), "--output", str(tmp_path / "m.pt"))
    assert str(empty) in err
    assert "no image files" in err


def test_class_folder_without_images(
    tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _image_folder(tmp_path, samples)
    (root / "zebra").mkdir()
    (root / "zebra" / "notes.txt").write_text("no pictures here")
    err = _run(capsys, "train", "image", "--data", str(root), "--output", str(tmp_path / "m.pt"))
    assert "'zebra'" in err
    assert "contain no readable image files" in err


def test_unreadable_images_skipped_with_count(
    tmp_path: Path, samples: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _image_folder(tmp_path, samples)
    (root / "airplane" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "airplane" / "readme.md").write_text("hello")
    with caplog.at_level(logging.WARNING):
        code = main(
            ["train", "image", "--data", str(root), "--output", str(tmp_path / "m.pt"), "--width", "8", *FAST]
        )
    assert code == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any("skipped 1 unreadable images" in m for m in messages)
    assert any("skipped 1 files" in m and "not images" in m for m in messages)


def test_single_class_images(tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _image_folder(tmp_path, samples, classes=1)
    err = _run(capsys, "train", "image", "--data", str(root), "--output", str(tmp_path / "m.pt"))
    assert "single class ('airplane')" in err


def test_missing_label_column(tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = samples / "tabular" / "adult.csv"
    err = _run(
        capsys,
        "train",
        "tabular",
        "--data",
        str(data),
        "--label-column",
        "salary",
        "--output",
        str(tmp_path / "m.pt"),
    )
    assert "no column 'salary'" in err
    assert "income" in err  # the message lists the columns that exist


def test_single_class_label_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "one.csv"
    data.write_text("text,label\n" + "".join(f"message {i},ham\n" for i in range(30)))
    err = _run(capsys, "train", "text", "--data", str(data), "--output", str(tmp_path / "m.pt"))
    assert "single class ('ham')" in err
    assert str(data) in err


def test_non_utf8_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "latin1.csv"
    rows = "".join(f"caf\xe9 num\xe9ro {i},{'spam' if i % 2 else 'ham'}\n" for i in range(40))
    data.write_bytes(("text,label\n" + rows).encode("latin-1"))
    err = _run(capsys, "train", "text", "--data", str(data), "--output", str(tmp_path / "m.pt"))
    assert "is not valid utf-8" in err
    assert "--encoding latin-1" in err
    # With the encoding given, the same file trains.
    assert (
        main(
            [
                "train",
                "text",
                "--data",
                str(data),
                "--output",
                str(tmp_path / "m.pt"),
                "--encoding",
                "latin-1",
                "--min-token-count",
                "1",
                *FAST,
            ]
        )
        == 0
    )


def test_missing_text_column(tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _run(
        capsys,
        "train",
        "text",
        "--data",
        str(samples / "text" / "sms_spam.csv"),
        "--text-column",
        "body",
        "--output",
        str(tmp_path / "m.pt"),
    )
    assert "no column 'body'" in err


def test_missing_data_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _run(
        capsys, "train", "image", "--data", str(tmp_path / "nowhere"), "--output", str(tmp_path / "m.pt")
    )
    assert "does not exist" in err


def test_empty_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "empty.csv"
    data.write_text("")
    err = _run(capsys, "train", "text", "--data", str(data), "--output", str(tmp_path / "m.pt"))
    assert "is empty" in err


def test_test_data_with_unknown_labels(
    tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test = tmp_path / "test.csv"
    test.write_text("text,label\nhello there,maybe\nwin money now,spam\n")
    err = _run(
        capsys,
        "train",
        "text",
        "--data",
        str(samples / "text" / "sms_spam.csv"),
        "--test-data",
        str(test),
        "--output",
        str(tmp_path / "m.pt"),
    )
    assert "['maybe']" in err
