"""A corpus of broken, unusual and hostile inputs, each with the outcome the service must give.

Every case is one file plus how to send it (route, model, body kind) and an
`Expected` outcome: a status code, a word the error detail must contain, summary
counts of a /classify-dataset reply, or per-item errors. `write_corpus` writes the
files and a `cases.json` index into a folder; the live-server test sends them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from scripts.corpus import images, tables
from scripts.corpus.archives import forge_zip_sizes, tar_bytes, zip_bytes

Route = Literal["predict", "classify-dataset"]
# multipart: the file in the form field "file"; raw: the bytes as the body with
# `content_type`; json: the bytes as an application/json body.
BodyKind = Literal["multipart", "raw", "json"]


@dataclass(frozen=True)
class Expected:
    status: int
    # Lower-case text the error detail must contain (4xx replies only).
    detail: str | None = None
    # Exact values of top-level fields of a JSON reply, such as "classified" or "skipped".
    fields: dict[str, object] = field(default_factory=dict)
    # Item id -> lower-case text its per-item error must contain (/classify-dataset replies).
    item_errors: dict[str, str] = field(default_factory=dict)
    # For /predict: the reply's probabilities must be closer to this case's reply than to
    # `farther_from`'s (an EXIF-rotated photo must be classified upright).
    closer_to: str | None = None
    farther_from: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    route: Route
    model: str
    body: BodyKind
    expected: Expected
    reason: str  # why the service must give the expected outcome
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class CaseFile:
    case: Case
    data: bytes


def _image(name: str, data: bytes, expected: Expected, reason: str, suffix: str) -> CaseFile:
    case = Case(name, f"{name}{suffix}", "predict", "cifar10", "multipart", expected, reason)
    return CaseFile(case, data)


def _image_cases(samples: Path) -> Iterator[CaseFile]:
    photo = images.sample_photo(samples)
    ok = Expected(200)
    corrupt = Expected(400, detail="corrupt or truncated")
    yield _image("truncated_jpeg", images.truncated(images.jpeg(photo)), corrupt, "half a JPEG", ".jpg")
    yield _image("truncated_png", images.truncated(images.png(photo)), corrupt, "half a PNG", ".png")
    yield _image("cmyk_jpeg", images.jpeg(photo.convert("CMYK")), ok, "CMYK is converted to RGB", ".jpg")
    yield _image("png_16bit", images.sixteen_bit_png(photo), ok, "scaled to 8 bits, not clipped", ".png")
    yield _image(
        "palette_transparency_png",
        images.palette_png_with_transparency(photo),
        ok,
        "transparency is flattened onto white",
        ".png",
    )
    yield _image("grayscale_png", images.png(photo.convert("L")), ok, "expanded to three channels", ".png")
    yield _image("rgba_png", images.png(photo.convert("RGBA")), ok, "alpha is flattened", ".png")
    yield _image("animated_gif", images.animated_gif(photo), ok, "the first frame is classified", ".gif")
    yield _image("upright_png", images.png(photo), ok, "reference for the EXIF case", ".png")
    yield _image("sideways_png", images.png(images.sideways(photo)), ok, "reference for the EXIF case", ".png")
    yield _image(
        "exif_rotated_jpeg",
        images.exif_rotated_jpeg(photo),
        Expected(200, closer_to="upright_png", farther_from="sideways_png"),
        "stored sideways with EXIF orientation 6; classified as displayed (upright)",
        ".jpg",
    )
    yield _image("one_pixel_png", images.png(photo.resize((1, 1))), ok, "resized up to the model's size", ".png")
    yield _image(
        "decompression_bomb_png",
        images.png_declaring_size(100_000, 100_000),
        Expected(413, detail="pixels"),
        "declares 10^10 pixels; rejected from the header before decoding",
        ".png",
    )
    yield _image("zero_bytes", b"", Expected(400, detail="empty"), "an empty file", ".jpg")
    yield _image(
        "text_named_jpg",
        b"This is a text file, not a picture.\n",
        Expected(415, detail="not an image"),
        "text with an image suffix",
        ".jpg",
    )
    yield _image("vector_svg", images.SVG, Expected(415, detail="not an image"), "SVG is not rasterised", ".svg")
    raw = Case(
        "raw_jpeg_body",
        "raw_jpeg_body.jpg",
        "predict",
        "cifar10",
        "raw",
        ok,
        "a JPEG sent as the whole body",
        content_type="image/jpeg",
    )
    yield CaseFile(raw, images.jpeg(photo))
    wrong_type = Case(
        "raw_body_wrong_type",
        "raw_body_wrong_type.bin",
        "predict",
        "cifar10",
        "raw",
        Expected(415, detail="content-type"),
        "a body whose content type the service does not read",
        content_type="application/pdf",
    )
    yield CaseFile(wrong_type, b"%PDF-1.4\n")


def _archive(name: str, data: bytes, expected: Expected, reason: str, suffix: str = ".zip") -> CaseFile:
    return CaseFile(Case(name, f"{name}{suffix}", "classify-dataset", "cifar10", "multipart", expected, reason), data)


def _archive_cases(samples: Path) -> Iterator[CaseFile]:
    good = images.sample_jpeg_bytes(samples)
    yield _archive(
        "traversal_zip",
        zip_bytes({"../evil/cat/a.jpg": good, "/abs/cat/b.jpg": good, "cat/ok.jpg": good}),
        Expected(200, fields={"classified": 1, "skipped": {"unsafe_path": 2}}),
        "entries with .. and absolute paths are skipped, never written",
    )
    yield _archive(
        "traversal_tar",
        tar_bytes({"../evil/cat/a.jpg": good, "/abs/cat/b.jpg": good, "cat/ok.jpg": good}),
        Expected(200, fields={"classified": 1, "skipped": {"unsafe_path": 2}}),
        "entries with .. and absolute paths are skipped, never written",
        ".tar",
    )
    yield _archive(
        "links_tar",
        tar_bytes(
            {"cat/ok.jpg": good},
            links={"cat/symlink.jpg": ("/etc/passwd", b"2"), "cat/hardlink.jpg": ("cat/ok.jpg", b"1")},
        ),
        Expected(200, fields={"classified": 1, "skipped": {"link_or_special_file": 2}}),
        "symbolic and hard links are skipped",
        ".tar",
    )
    yield _archive(
        "ratio_bomb_zip",
        zip_bytes({"cat/ok.jpg": good, "cat/bomb.jpg": b"\x00" * (60 * 2**20)}),
        Expected(
            200,
            fields={"classified": 1, "failed": 1},
            item_errors={"cat/bomb.jpg": "classify_max_entry_bytes"},
        ),
        "a 60 MB entry compressed 1000:1 stops at the entry bound and fails alone",
    )
    yield _archive(
        "forged_size_zip",
        forge_zip_sizes(zip_bytes({"cat/forged.jpg": b"\x00" * 2**20}), declared_size=100),
        Expected(200, fields={"classified": 0, "failed": 1}),
        "a header declaring 100 bytes for a 1 MB entry: reading stops at the declared size",
    )
    inner_zip = zip_bytes({"cat/inner.jpg": good})
    yield _archive(
        "nested_archives_zip",
        zip_bytes({"cat/inner.zip": inner_zip, "cat/inner.tar.gz": tar_bytes({"a.jpg": good}, "w:gz"), "cat/ok.jpg": good}),
        Expected(200, fields={"classified": 1, "skipped": {"nested_archive": 2}}),
        "archives inside the archive are skipped, not opened",
    )
    yield _archive(
        "macos_metadata_zip",
        zip_bytes({"__MACOSX/cat/._ok.jpg": b"\x00\x05\x16\x07", "cat/.DS_Store": b"Bud1", "cat/ok.jpg": good}),
        Expected(200, fields={"classified": 1, "skipped": {"hidden": 2}}),
        "__MACOSX folders and hidden files are skipped",
    )
    yield _archive(
        "no_images_zip",
        zip_bytes({"readme.txt": b"no pictures here\n", "data/table.csv": b"a,b\n1,2\n"}),
        Expected(422, detail="not_an_image"),
        "an archive without images is a dataset-level error",
    )
    yield _archive(
        "corrupt_central_directory_zip",
        images.corrupt_central_directory(zip_bytes({"cat/ok.jpg": good})),
        Expected(400, detail="zip"),
        "a zip whose central directory is damaged cannot be listed",
    )
    yield _archive(
        "truncated_tar_gz",
        tar_bytes({f"cat/{i}.jpg": good for i in range(8)}, "w:gz")[:-200],
        Expected(400, detail="truncated"),
        "a gzip stream cut short inside the first chunk of entries is rejected as a whole",
        ".tar.gz",
    )


def _csv(name: str, model: str, data: bytes, expected: Expected, reason: str) -> CaseFile:
    return CaseFile(Case(name, f"{name}.csv", "classify-dataset", model, "multipart", expected, reason), data)


def _csv_cases(samples: Path) -> Iterator[CaseFile]:
    adult = tables.read_rows(samples / "tabular" / "adult.csv", 20)
    sms = tables.read_rows(samples / "text" / "sms_spam.csv", 20)
    twenty = Expected(200, fields={"count": 20, "classified": 20, "failed": 0})
    yield _csv("utf8_bom", "adult-income", b"\xef\xbb\xbf" + tables.to_csv(adult), twenty, "the BOM is dropped")
    yield _csv("semicolon", "adult-income", tables.to_csv(adult, delimiter=";"), twenty, "the delimiter is detected")
    yield _csv(
        "quoted_newlines",
        "sms-spam",
        tables.to_csv(tables.with_newlines(sms)),
        twenty,
        "newlines inside quoted text fields stay in the field",
    )
    yield _csv(
        "latin1",
        "sms-spam",
        tables.to_csv(tables.with_accents(sms), encoding="latin-1"),
        twenty,
        "latin-1 bytes are detected and decoded",
    )
    yield _csv(
        "missing_column",
        "adult-income",
        tables.to_csv(tables.drop_column(adult, "age")),
        Expected(422, detail="age"),
        "a schema column absent from the header is named in the error",
    )
    yield _csv(
        "extra_column",
        "adult-income",
        tables.to_csv(tables.add_column(adult, "notes", "n/a")),
        twenty,
        "columns the model does not use are ignored",
    )
    yield _csv(
        "renamed_column",
        "adult-income",
        tables.to_csv(tables.rename_column(adult, "hours-per-week", "hours")),
        Expected(422, detail="hours-per-week"),
        "a renamed schema column is missing under its trained name",
    )
    yield _csv("empty_file", "adult-income", b"", Expected(422, detail="empty"), "zero bytes")
    yield _csv(
        "header_only",
        "adult-income",
        tables.to_csv(adult[:1]),
        Expected(422, detail="no items"),
        "a header without data rows",
    )
    yield _csv(
        "nan_and_inf",
        "adult-income",
        tables.to_csv(tables.with_cells(adult, "age", {1: "NaN", 2: "inf", 3: "-Infinity"})),
        Expected(
            200,
            fields={"count": 20, "classified": 18, "failed": 2},
            item_errors={"2": "finite", "3": "finite"},
        ),
        "NaN is a missing value (as in training); infinities fail their own row",
    )
    yield _csv(
        "one_megabyte_text",
        "sms-spam",
        tables.to_csv(tables.with_cells(sms, "text", {1: "free prize " * 100_000})),
        twenty,
        "a 1 MB text field is read whole and truncated to the model's token limit",
    )
    yield _csv(
        "unseen_label",
        "adult-income",
        tables.to_csv(tables.with_cells(adult, "income", {1: "unknown-bracket"})),
        Expected(200, fields={"count": 20, "classified": 20, "unknown_true_labels": {"unknown-bracket": 1}}),
        "a true label the model never saw is counted apart and left out of the metrics",
    )


def _json(name: str, model: str, data: bytes, expected: Expected, reason: str) -> CaseFile:
    return CaseFile(Case(name, f"{name}.json", "predict", model, "json", expected, reason), data)


def _json_cases(samples: Path) -> Iterator[CaseFile]:
    header, row = tables.read_rows(samples / "tabular" / "adult.csv", 1)[:2]
    features = {name: value for name, value in zip(header, row, strict=True) if name != "income"}

    def body(value: object) -> bytes:
        return json.dumps(value).encode()

    yield _json("valid_row", "adult-income", body({"row": features}), Expected(200), "a reference row")
    yield _json(
        "wrong_type_number",
        "adult-income",
        body({"row": {**features, "age": "forty"}}),
        Expected(422, detail="age"),
        "a word where a number belongs",
    )
    yield _json(
        "wrong_type_row",
        "adult-income",
        body({"row": list(features.values())}),
        Expected(422, detail="row"),
        "a list where the row object belongs",
    )
    yield _json(
        "all_nulls",
        "adult-income",
        body({"row": dict.fromkeys(features)}),
        Expected(200),
        "every value missing: the model's missing-value handling applies",
    )
    yield _json(
        "nested_object",
        "adult-income",
        body({"row": {**features, "workclass": {"name": "Private"}}}),
        Expected(422, detail="workclass"),
        "an object where a scalar belongs",
    )
    yield _json(
        "boolean_number",
        "adult-income",
        body({"row": {**features, "age": True}}),
        Expected(422, detail="age"),
        "true is not a number",
    )
    yield _json(
        "nan_literal",
        "adult-income",
        b'{"row": ' + body(features)[:-1] + b', "capital-gain": NaN}}',
        Expected(200),
        "a NaN literal is a missing value",
    )
    yield _json(
        "infinity_literal",
        "adult-income",
        b'{"row": ' + body({k: v for k, v in features.items() if k != "age"})[:-1] + b', "age": Infinity}}',
        Expected(422, detail="finite"),
        "an infinite number is rejected",
    )
    yield _json(
        "huge_rows_list",
        "adult-income",
        body({"rows": [features] * 5_000}),
        Expected(413, detail="rows"),
        "more rows than one request may carry",
    )
    yield _json(
        "invalid_utf8",
        "sms-spam",
        b'{"row": {"text": "caf\xe9 \xff\xfe"}}',
        Expected(400, detail="utf-8"),
        "bytes that are not UTF-8",
    )
    yield _json(
        "text_not_string",
        "sms-spam",
        body({"row": {"text": {"body": "hi"}}}),
        Expected(422, detail="text"),
        "an object where the text belongs",
    )
    yield _json("not_json", "sms-spam", b"row=hello", Expected(400, detail="json"), "a form body")
    yield _json(
        "both_row_and_rows",
        "sms-spam",
        body({"row": {"text": "a"}, "rows": [{"text": "b"}]}),
        Expected(422, detail="exactly one"),
        "row and rows together are ambiguous",
    )
    yield _json(
        "bad_top_k",
        "sms-spam",
        body({"row": {"text": "hello"}, "top_k": "all"}),
        Expected(422, detail="top_k"),
        "top_k must be a positive integer",
    )


CASE_GROUPS: tuple[Callable[[Path], Iterator[CaseFile]], ...] = (
    _image_cases,
    _archive_cases,
    _csv_cases,
    _json_cases,
)


def build_corpus(samples: Path) -> list[CaseFile]:
    """Build every case in memory from the bundled samples."""
    built = [case_file for group in CASE_GROUPS for case_file in group(samples)]
    names = [item.case.name for item in built]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"case names must be unique; repeated: {sorted(duplicates)}")
    return built


def write_corpus(samples: Path, folder: Path) -> list[Case]:
    """Write every case's file into `folder` and an index `cases.json`; return the cases."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(samples)
    for item in corpus:
        (folder / item.case.filename).write_bytes(item.data)
    index = [asdict(item.case) for item in corpus]
    (folder / "cases.json").write_text(json.dumps(index, indent=2) + "\n")
    return [item.case for item in corpus]


def read_cases(folder: Path) -> list[Case]:
    """Load the index written by `write_corpus`."""
    cases = []
    for entry in json.loads((folder / "cases.json").read_text()):
        expected = Expected(**entry.pop("expected"))
        cases.append(Case(**entry, expected=expected))
    return cases
