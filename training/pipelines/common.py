"""The steps every data kind shares after its data and model are ready."""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from checkpoint import Manifest, ModelKind
from checkpoint.manifest import InputSpec
from training.export import export_checkpoint
from training.loop import FitOptions, FitResult, evaluate, fit
from training.models.ensemble import MeanEnsemble
from training.report import classification_report, format_report, write_report_json, write_report_png
from training.samples import Augment, SampleSet

logger = logging.getLogger(__name__)


@dataclass
class TrainingJob:
    """Everything a pipeline prepares before the shared train-report-export steps."""

    name: str
    version: str
    kind: ModelKind
    class_names: list[str]
    input_spec: InputSpec
    label_column: str | None
    build_model: Callable[[], nn.Module]
    architecture: str
    train: SampleSet
    validation: SampleSet
    test: SampleSet
    test_source: str
    options: FitOptions
    augment: Augment | None = None
    ensemble_size: int = 1
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingOutcome:
    checkpoint: Path
    report_json: Path
    report_png: Path
    manifest: Manifest


def describe_split(name: str, samples: SampleSet, class_names: list[str]) -> str:
    counts = np.bincount(samples.labels, minlength=len(class_names))
    return (
        f"{name}: {len(samples)} ({', '.join(f'{c} {n}' for c, n in zip(class_names, counts, strict=True))})"
    )


def run_job(job: TrainingJob, output: Path) -> TrainingOutcome:
    """Train, evaluate on the test split, write the report files and export the checkpoint."""
    for name, part in (("train", job.train), ("validation", job.validation), ("test", job.test)):
        logger.info(describe_split(name, part, job.class_names))
    members: list[nn.Module] = []
    results: list[FitResult] = []
    for member in range(job.ensemble_size):
        if job.ensemble_size > 1:
            logger.info("training ensemble member %d of %d", member + 1, job.ensemble_size)
        torch.manual_seed(job.options.seed + member)
        model = job.build_model()
        options = replace(job.options, seed=job.options.seed + member)
        results.append(fit(model, job.train, job.validation, options, job.augment))
        members.append(model)
    model = members[0] if len(members) == 1 else MeanEnsemble(members).eval()
    parameters = sum(p.numel() for p in model.parameters())
    logger.info("model %s: %d parameters, device %s", job.architecture, parameters, job.options.device)
    result = FitResult(
        best_epoch=results[0].best_epoch,
        history=results[0].history,
        seconds=sum(r.seconds for r in results),
    )
    test = evaluate(model, job.test, job.options.batch_size * 2, job.options.device)
    report = classification_report(job.class_names, job.test.labels, test.logits.argmax(1).numpy())
    print(f"\nTest split ({job.test_source}), best epoch {result.best_epoch}:")
    print(format_report(report))

    options = {k: str(v) if isinstance(v, torch.device) else v for k, v in asdict(job.options).items()}
    training_info = {
        **job.details,
        "options": options,
        "best_epoch": [r.best_epoch for r in results] if len(results) > 1 else result.best_epoch,
        "ensemble_size": job.ensemble_size,
        "epochs_run": len(result.history),
        "training_seconds": round(result.seconds, 1),
        "train_samples": len(job.train),
        "validation_samples": len(job.validation),
        "test_samples": len(job.test),
        "test_source": job.test_source,
        "torch_version": torch.__version__,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
    }
    manifest = Manifest(
        name=job.name,
        version=job.version,
        kind=job.kind,
        class_names=job.class_names,
        label_column=job.label_column,
        input=job.input_spec,
        architecture=job.architecture,
        parameter_count=parameters,
        created_at=datetime.now(UTC),
        training=training_info,
        metrics={"test": report.model_dump()},
    )

    output.parent.mkdir(parents=True, exist_ok=True)
    difference = export_checkpoint(model, manifest, output, job.test)
    report_json = output.with_suffix(".report.json")
    report_png = output.with_suffix(".report.png")
    write_report_json(
        report_json,
        report,
        result,
        {
            "parity_max_difference": difference,
            "manifest": manifest.model_dump(mode="json", exclude={"input"}),
        },
    )
    write_report_png(report_png, report, result, f"{job.name} ({job.architecture})")
    size_mb = output.stat().st_size / 2**20
    print(f"\nWrote {output} ({size_mb:.1f} MB), {report_json.name} and {report_png.name}")
    return TrainingOutcome(output, report_json, report_png, manifest)
