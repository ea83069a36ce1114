"""Image pipeline: ImageFolder data (folder or archive) to a residual CNN checkpoint."""

from __future__ import annotations

import logging

import torch

from checkpoint import ImageSpec, ModelKind
from training.augment import shift_and_flip
from training.config import CommonConfig, ImageConfig
from training.data.images import load_image_data, read_raw_images, sample_image_shape
from training.data.splits import stratified_split
from training.loop import FitOptions
from training.models.image import SMALL_RESNET, build_image_model
from training.pipelines.common import TrainingJob, TrainingOutcome, run_job
from training.samples import SampleSet

logger = logging.getLogger(__name__)


def _channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images, on the 0..1 scale."""
    sample = images[: min(len(images), 10_000)].float() / 255.0
    mean = sample.mean(dim=(0, 2, 3))
    std = sample.std(dim=(0, 2, 3)).clamp(min=1e-3)
    return [round(float(v), 5) for v in mean], [round(float(v), 5) for v in std]


def train_image(common: CommonConfig, config: ImageConfig, options: FitOptions) -> TrainingOutcome:
    raw = read_raw_images(common.data)
    side, channels = sample_image_shape(raw)
    size = config.image_size or max(16, min(side, 224))
    channels = config.channels or channels
    logger.info(
        "%d image files in %s; training at %dx%d with %d channel(s)",
        len(raw),
        common.data,
        size,
        size,
        channels,
    )
    placeholder = ImageSpec(
        height=size, width=size, channels=channels, mean=[0.0] * channels, std=[1.0] * channels
    )
    max_bytes = int(config.max_memory_gb * 2**30)
    data, class_names = load_image_data(common.data, raw, placeholder, None, config.decode_threads, max_bytes)
    del raw
    everything = SampleSet(data.images, data.labels)

    test_fraction = 0.0 if common.test_data else common.test_fraction
    split = stratified_split(data.labels, common.validation_fraction, test_fraction, common.seed)
    train = everything.subset(split.train)
    validation = everything.subset(split.validation)
    if common.test_data:
        test_raw = read_raw_images(common.test_data)
        test_data, _ = load_image_data(
            common.test_data, test_raw, placeholder, class_names, config.decode_threads, max_bytes
        )
        test = SampleSet(test_data.images, test_data.labels)
        test_source = str(common.test_data.name)
    else:
        test = everything.subset(split.test)
        test_source = f"{test_fraction:.0%} stratified split of {common.data.name}"

    mean, std = _channel_stats(train.samples)  # type: ignore[arg-type]
    spec = ImageSpec(height=size, width=size, channels=channels, mean=mean, std=std)
    architecture = f"{config.arch} (width {config.width})" if config.arch == SMALL_RESNET else config.arch
    job = TrainingJob(
        name=common.name,
        version=common.version,
        kind=ModelKind.IMAGE,
        class_names=class_names,
        input_spec=spec,
        label_column=None,
        build_model=lambda: build_image_model(
            config.arch, channels, len(class_names), mean, std, config.width
        ),
        architecture=architecture,
        train=train,
        validation=validation,
        test=test,
        test_source=test_source,
        options=options,
        augment=shift_and_flip if config.augment else None,
        ensemble_size=common.ensemble_size,
        details={
            "data": common.data.name,
            "augmentation": "shift 4px + horizontal flip" if config.augment else "none",
            "seed": common.seed,
        },
    )
    return run_job(job, common.output)
