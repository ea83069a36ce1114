"""Command line: `python -m training train {image,text,tabular}` and `python -m training evaluate`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from checkpoint import CheckpointError, resolve_device
from checkpoint.manifest import DEFAULT_MISSING_VALUES
from training.config import CommonConfig, ImageConfig, TabularConfig, TextConfig
from training.errors import TrainingInputError
from training.export import ParityError
from training.loop import FitOptions
from training.models.image import IMAGE_ARCHS, SMALL_RESNET
from training.models.text import TEXT_ENCODERS

logger = logging.getLogger("training")


@dataclass(frozen=True)
class KindDefaults:
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    patience: int
    optimizer: str
    label_smoothing: float
    ensemble_size: int = 1


DEFAULTS = {
    "image": KindDefaults(10, 128, 0.1, 5e-4, 3, "sgd", 0.1),
    "text": KindDefaults(15, 64, 3e-3, 1e-4, 4, "adamw", 0.0),
    "tabular": KindDefaults(20, 256, 2e-3, 1e-4, 6, "adamw", 0.0),
}


def _columns(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _add_common(parser: argparse.ArgumentParser, kind: str) -> None:
    d = DEFAULTS[kind]
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data", type=Path, required=True, help="training data (see the command's description)"
    )
    data.add_argument(
        "--test-data",
        type=Path,
        default=None,
        help="separate held-out test data in the same format; without it a stratified "
        "test split is taken from --data",
    )
    data.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="share of --data held out for validation and early stopping (default 0.1)",
    )
    data.add_argument(
        "--test-fraction",
        type=float,
        default=0.15,
        help="share of --data held out as the test split when --test-data is not given (default 0.15)",
    )
    data.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for splits, initialisation and shuffling; runs on the CPU are reproducible (default 0)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--output",
        type=Path,
        required=True,
        help="checkpoint file to write (.pt); the report JSON and PNG go beside it",
    )
    out.add_argument("--name", default=None, help="model name served by the API (default: output file stem)")
    out.add_argument(
        "--model-version", default="1", help="version string stored in the checkpoint (default 1)"
    )
    fit = parser.add_argument_group("optimisation")
    fit.add_argument("--epochs", type=int, default=d.epochs, help=f"maximum epochs (default {d.epochs})")
    fit.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help=f"samples per training step (default {d.batch_size})",
    )
    fit.add_argument(
        "--lr",
        type=float,
        default=d.learning_rate,
        help=f"peak learning rate of the one-cycle schedule (default {d.learning_rate})",
    )
    fit.add_argument(
        "--weight-decay",
        type=float,
        default=d.weight_decay,
        help=f"weight decay on weight matrices (default {d.weight_decay})",
    )
    fit.add_argument(
        "--optimizer",
        choices=("sgd", "adamw"),
        default=d.optimizer,
        help=f"optimizer (default {d.optimizer})",
    )
    fit.add_argument(
        "--label-smoothing",
        type=float,
        default=d.label_smoothing,
        help=f"label smoothing of the cross-entropy loss (default {d.label_smoothing})",
    )
    fit.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        help=f"stop after this many epochs without validation improvement (default {d.patience})",
    )
    fit.add_argument(
        "--monitor",
        choices=("loss", "accuracy"),
        default="loss",
        help="validation metric for early stopping and for picking the exported epoch (default loss)",
    )
    fit.add_argument(
        "--ensemble",
        type=int,
        default=d.ensemble_size,
        help="independently trained members (seeds seed, seed+1, ...) whose mean "
        f"probabilities the checkpoint returns (default {d.ensemble_size})",
    )
    fit.add_argument(
        "--device",
        default="auto",
        help="torch device: auto (CUDA when available, else CPU), cpu, cuda, cuda:1 ...",
    )
    fit.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice, usually the core count)",
    )
    if kind != "image":
        data.add_argument("--encoding", default="utf-8", help="CSV text encoding (default utf-8)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training", description="Train classifiers and export TorchScript checkpoints."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a classifier and export a checkpoint")
    kinds = train.add_subparsers(dest="kind", required=True)

    image = kinds.add_parser(
        "image",
        help="images in class folders",
        description="--data is a folder or a .tar/.tar.gz/.tgz/.zip archive with one folder per "
        "class (ImageFolder layout), optionally inside one wrapping folder.",
    )
    _add_common(image, "image")
    group = image.add_argument_group("model")
    group.add_argument(
        "--arch",
        choices=IMAGE_ARCHS,
        default=SMALL_RESNET,
        help=f"network: {SMALL_RESNET} for small images (about 32x32), a torchvision "
        f"family for larger ones (default {SMALL_RESNET})",
    )
    group.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="square side in pixels images are resized to (default: the median "
        "longer side of the first images, between 16 and 224)",
    )
    group.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=None,
        help="1 for grayscale, 3 for RGB (default: detected from the first images)",
    )
    group.add_argument(
        "--width", type=int, default=40, help=f"channels of the first {SMALL_RESNET} stage (default 40)"
    )
    group.add_argument(
        "--no-augment", action="store_true", help="disable random shifts and horizontal flips during training"
    )
    group.add_argument(
        "--decode-threads",
        type=int,
        default=os.cpu_count() or 2,
        help="threads decoding images before training (default: the core count)",
    )
    group.add_argument(
        "--max-memory-gb",
        type=float,
        default=8.0,
        help="refuse datasets whose decoded pixels exceed this many GiB (default 8)",
    )

    text = kinds.add_parser(
        "text",
        help="a CSV with a text column and a label column",
        description="--data is a CSV with a text column and a label column.",
    )
    _add_common(text, "text")
    group = text.add_argument_group("model")
    group.add_argument("--text-column", default="text", help="column holding the text (default text)")
    group.add_argument("--label-column", default="label", help="column holding the class (default label)")
    group.add_argument(
        "--encoder",
        choices=TEXT_ENCODERS,
        default="gru",
        help="gru or lstm (bidirectional recurrent encoder) or bag (mean and max of "
        "embeddings; fastest) (default gru)",
    )
    group.add_argument("--embed-dim", type=int, default=64, help="token embedding size (default 64)")
    group.add_argument(
        "--hidden-size", type=int, default=64, help="recurrent or hidden layer size (default 64)"
    )
    group.add_argument("--dropout", type=float, default=0.3, help="dropout probability (default 0.3)")
    group.add_argument(
        "--max-tokens", type=int, default=200, help="tokens kept per text; the rest is cut (default 200)"
    )
    group.add_argument(
        "--min-token-count",
        type=int,
        default=2,
        help="tokens seen fewer times in training become <unk> (default 2)",
    )
    group.add_argument(
        "--max-vocabulary", type=int, default=30000, help="vocabulary size cap (default 30000)"
    )
    group.add_argument("--no-lowercase", action="store_true", help="keep letter case when tokenising")

    tabular = kinds.add_parser(
        "tabular",
        help="a CSV of numeric and categorical columns",
        description="--data is a CSV; every column but the label is an input.",
    )
    _add_common(tabular, "tabular")
    group = tabular.add_argument_group("model")
    group.add_argument("--label-column", required=True, help="column holding the class")
    group.add_argument(
        "--numeric-columns",
        type=_columns,
        default=None,
        help="comma-separated columns forced to numeric (others are detected)",
    )
    group.add_argument(
        "--categorical-columns",
        type=_columns,
        default=None,
        help="comma-separated columns forced to categorical (others are detected)",
    )
    group.add_argument(
        "--ignore-columns",
        type=_columns,
        default=[],
        help="comma-separated columns not used as inputs (ids, leaks)",
    )
    group.add_argument(
        "--missing-values",
        type=_columns,
        default=DEFAULT_MISSING_VALUES,
        help="comma-separated cell values meaning missing, besides the empty cell "
        f"(default {','.join(v for v in DEFAULT_MISSING_VALUES if v)})",
    )
    group.add_argument("--embed-dim", type=int, default=8, help="embedding size per column (default 8)")
    group.add_argument(
        "--hidden-sizes",
        type=lambda v: [int(x) for x in _columns(v)],
        default=[256, 128],
        help="comma-separated hidden layer sizes (default 256,128)",
    )
    group.add_argument("--dropout", type=float, default=0.2, help="dropout probability (default 0.2)")
    group.add_argument("--bins", type=int, default=16, help="quantile bins per numeric column (default 16)")
    group.add_argument(
        "--min-category-count",
        type=int,
        default=5,
        help="categories seen fewer times in training are treated as unknown (default 5)",
    )

    evaluate = commands.add_parser("evaluate", help="classify a labelled dataset offline with a checkpoint")
    evaluate.add_argument("--model", type=Path, required=True, help="checkpoint file (.pt)")
    evaluate.add_argument(
        "--data",
        type=Path,
        required=True,
        help="image folder or archive, or CSV with the model's columns and label column",
    )
    evaluate.add_argument(
        "--batch-size", type=int, default=256, help="samples per forward pass (default 256)"
    )
    evaluate.add_argument("--device", default="auto", help="torch device (default auto)")
    return parser


def _device(name: str) -> torch.device:
    try:
        return resolve_device(name)
    except ValueError as exc:
        raise TrainingInputError(f"--device: {exc}") from None


def _configs(args: argparse.Namespace) -> tuple[CommonConfig, FitOptions]:
    device = _device(args.device)
    common = CommonConfig(
        data=args.data,
        test_data=args.test_data,
        output=args.output,
        name=args.name or args.output.stem.split(".")[0],
        version=args.model_version,
        validation_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        patience=args.patience,
        monitor=args.monitor,
        device=device,
        encoding=getattr(args, "encoding", "utf-8"),
        ensemble_size=args.ensemble,
    )
    options = FitOptions(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        patience=args.patience,
        monitor=args.monitor,
        label_smoothing=args.label_smoothing,
        optimizer=args.optimizer,
        seed=args.seed,
        device=device,
    )
    if options.epochs < 1 or options.batch_size < 2 or common.ensemble_size < 1:
        raise TrainingInputError("--epochs and --ensemble must be at least 1, and --batch-size at least 2")
    return common, options


def run(args: argparse.Namespace) -> None:
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    if args.command == "evaluate":
        from training.offline import evaluate_checkpoint

        evaluate_checkpoint(args.model, args.data, args.batch_size, _device(args.device))
        return

    common, options = _configs(args)
    torch.manual_seed(common.seed)
    if args.kind == "image":
        from training.pipelines.image import train_image

        train_image(
            common,
            ImageConfig(
                arch=args.arch,
                image_size=args.image_size,
                channels=args.channels,
                width=args.width,
                augment=not args.no_augment,
                decode_threads=args.decode_threads,
                max_memory_gb=args.max_memory_gb,
            ),
            options,
        )
    elif args.kind == "text":
        from training.pipelines.text import train_text

        train_text(
            common,
            TextConfig(
                text_column=args.text_column,
                label_column=args.label_column,
                encoder=args.encoder,
                embed_dim=args.embed_dim,
                hidden_size=args.hidden_size,
                dropout=args.dropout,
                max_tokens=args.max_tokens,
                min_token_count=args.min_token_count,
                max_vocabulary=args.max_vocabulary,
                lowercase=not args.no_lowercase,
            ),
            options,
        )
    else:
        from training.pipelines.tabular import train_tabular

        missing = list(dict.fromkeys(["", *args.missing_values]))
        train_tabular(
            common,
            TabularConfig(
                label_column=args.label_column,
                numeric_columns=args.numeric_columns,
                categorical_columns=args.categorical_columns,
                ignore_columns=args.ignore_columns,
                missing_values=missing,
                embed_dim=args.embed_dim,
                hidden_sizes=args.hidden_sizes,
                dropout=args.dropout,
                bins=args.bins,
                min_category_count=args.min_category_count,
            ),
            options,
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        run(args)
    except (TrainingInputError, CheckpointError, ParityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
