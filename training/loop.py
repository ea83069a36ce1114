"""Training loop: one epoch, evaluation, and early stopping on the validation split."""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from training.samples import Augment, SampleSet, evaluation_batches, training_batches

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitOptions:
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    patience: int
    monitor: str  # "loss" or "accuracy" on the validation split
    label_smoothing: float
    optimizer: str  # "adamw" or "sgd"
    seed: int
    device: torch.device


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    validation_loss: float
    validation_accuracy: float
    seconds: float
    items_per_second: float


@dataclass(frozen=True)
class FitResult:
    best_epoch: int
    history: list[EpochRecord]
    seconds: float


@dataclass(frozen=True)
class EvaluationResult:
    loss: float
    accuracy: float
    logits: torch.Tensor  # (N, classes), in sample order


def _make_optimizer(model: nn.Module, options: FitOptions) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "embedding" not in n)]
    groups = [
        {"params": decay, "weight_decay": options.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if options.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=options.learning_rate, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=options.learning_rate)


@torch.inference_mode()
def evaluate(model: nn.Module, samples: SampleSet, batch_size: int, device: torch.device) -> EvaluationResult:
    """Compute loss, accuracy and logits over a sample set, in eval mode."""
    model.eval()
    logits = torch.empty((len(samples), 0))
    chunks: list[tuple[np.ndarray, torch.Tensor]] = []
    for indices in evaluation_batches(samples, batch_size):
        chunks.append((indices, model(samples.batch(indices).to(device)).float().cpu()))
    if chunks:
        num_classes = chunks[0][1].shape[1]
        logits = torch.empty((len(samples), num_classes))
        for indices, chunk in chunks:
            logits[torch.from_numpy(indices)] = chunk
    labels = torch.from_numpy(samples.labels)
    loss = nn.functional.cross_entropy(logits, labels).item() if len(samples) else math.nan
    accuracy = (logits.argmax(1) == labels).float().mean().item() if len(samples) else math.nan
    return EvaluationResult(loss=loss, accuracy=accuracy, logits=logits)


def train_one_epoch(
    model: nn.Module,
    samples: SampleSet,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    loss_fn: nn.Module,
    options: FitOptions,
    rng: np.random.Generator,
    generator: torch.Generator,
    augment: Augment | None,
    description: str,
) -> tuple[float, float]:
    """Train for one pass over `samples`; return the mean loss and accuracy."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    with tqdm(total=len(samples), desc=description, unit="item", leave=False) as progress:
        for indices in training_batches(samples, options.batch_size, rng):
            if len(indices) < 2:
                continue  # BatchNorm cannot train on a batch of one
            inputs = samples.batch(indices)
            if augment is not None:
                inputs = augment(inputs, generator)
            inputs = inputs.to(options.device)
            targets = torch.from_numpy(samples.labels[indices]).to(options.device)

            logits = model(inputs)
            loss = loss_fn(logits, targets)

            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            scheduler.step()

            total_loss += loss.item() * len(indices)
            correct += int((logits.argmax(1) == targets).sum())
            seen += len(indices)
            progress.update(len(indices))
            progress.set_postfix(loss=f"{total_loss / seen:.4f}")
    return total_loss / max(seen, 1), correct / max(seen, 1)


def _is_better(record: EpochRecord, best: EpochRecord | None, monitor: str) -> bool:
    if best is None:
        return True
    if monitor == "accuracy":
        return record.validation_accuracy > best.validation_accuracy
    return record.validation_loss < best.validation_loss


def fit(
    model: nn.Module,
    train: SampleSet,
    validation: SampleSet,
    options: FitOptions,
    augment: Augment | None = None,
) -> FitResult:
    """Train with a one-cycle schedule; restore the weights of the best validation epoch.

    Stops early after `patience` epochs without improvement of the monitored
    validation metric.
    """
    if options.epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {options.epochs}")
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    generator = torch.Generator().manual_seed(options.seed)
    model.to(options.device)
    optimizer = _make_optimizer(model, options)
    steps_per_epoch = max(1, math.ceil(len(train) / options.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=options.learning_rate,
        total_steps=options.epochs * steps_per_epoch + 1,
        pct_start=0.25,
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=options.label_smoothing)

    history: list[EpochRecord] = []
    best: EpochRecord | None = None
    best_state = copy.deepcopy(model.state_dict())
    started = time.monotonic()
    for epoch in range(1, options.epochs + 1):
        epoch_start = time.monotonic()
        train_loss, train_accuracy = train_one_epoch(
            model,
            train,
            optimizer,
            scheduler,
            loss_fn,
            options,
            rng,
            generator,
            augment,
            f"epoch {epoch}/{options.epochs}",
        )
        train_seconds = time.monotonic() - epoch_start
        result = evaluate(model, validation, options.batch_size * 2, options.device)
        record = EpochRecord(
            epoch=epoch,
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            validation_loss=result.loss,
            validation_accuracy=result.accuracy,
            seconds=time.monotonic() - epoch_start,
            items_per_second=len(train) / max(train_seconds, 1e-9),
        )
        history.append(record)
        improved = _is_better(record, best, options.monitor)
        logger.info(
            "epoch %d: train loss %.4f acc %.4f | val loss %.4f acc %.4f | %.0f items/s%s",
            epoch,
            train_loss,
            train_accuracy,
            result.loss,
            result.accuracy,
            record.items_per_second,
            " (best)" if improved else "",
        )
        if improved:
            best = record
            best_state = copy.deepcopy(model.state_dict())
        elif best is not None and epoch - best.epoch >= options.patience:
            logger.info(
                "early stop: no validation %s improvement for %d epochs", options.monitor, options.patience
            )
            break

    model.load_state_dict(best_state)
    model.eval()
    best_epoch = best.epoch if best is not None else options.epochs
    return FitResult(best_epoch=best_epoch, history=history, seconds=time.monotonic() - started)
