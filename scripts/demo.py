"""Classify the bundled samples with the committed checkpoints and print each dataset's accuracy."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from training.offline import evaluate_checkpoint

ROOT = Path(__file__).resolve().parent.parent
DATASETS = [
    ("models/cifar10.pt", "samples/images/cifar10"),
    ("models/sms-spam.pt", "samples/text/sms_spam.csv"),
    ("models/adult-income.pt", "samples/tabular/adult.csv"),
]


def main() -> int:
    results = []
    for model, data in DATASETS:
        accuracy = evaluate_checkpoint(ROOT / model, ROOT / data, 256, torch.device("cpu"))
        results.append((data, accuracy))
        print()
    for data, accuracy in results:
        print(f"{data:<32} accuracy {accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
