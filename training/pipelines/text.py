"""Text pipeline: a CSV of text and labels to a recurrent (or bag-of-embeddings) checkpoint."""

from __future__ import annotations

import logging
import re
from collections import Counter

import numpy as np

from checkpoint import ModelKind, TextSpec
from inputs.text import DEFAULT_TOKEN_PATTERN, TextEncoder
from training.config import CommonConfig, TextConfig
from training.data.labels import align_labels, index_labels
from training.data.splits import stratified_split
from training.data.tables import clean_labels, read_csv, require_columns
from training.errors import TrainingInputError
from training.loop import FitOptions
from training.models.text import build_text_model
from training.pipelines.common import TrainingJob, TrainingOutcome, run_job
from training.samples import SampleSet

logger = logging.getLogger(__name__)


def build_vocabulary(texts: list[str], config: TextConfig) -> list[str]:
    """Tokens seen at least `min_token_count` times in the training texts, most frequent first."""
    pattern = re.compile(DEFAULT_TOKEN_PATTERN)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(pattern.findall(text.lower() if config.lowercase else text))
    frequent = [t for t, n in counts.most_common() if n >= config.min_token_count]
    return ["<pad>", "<unk>", *frequent[: config.max_vocabulary - 2]]


def _encode(encoder: TextEncoder, texts: list[str]) -> SampleSet:
    arrays = [encoder.encode(t) for t in texts]
    return SampleSet(arrays, np.zeros(len(arrays), dtype=np.int64), np.asarray([len(a) for a in arrays]))


def train_text(common: CommonConfig, config: TextConfig, options: FitOptions) -> TrainingOutcome:
    frame = read_csv(common.data, common.encoding)
    require_columns(frame, [config.text_column], common.data, "--text-column")
    require_columns(frame, [config.label_column], common.data, "--label-column")
    frame, labels_text = clean_labels(frame, config.label_column, common.data)
    class_names, labels = index_labels(labels_text, f"{common.data} column {config.label_column!r}")
    texts = frame[config.text_column].tolist()

    test_fraction = 0.0 if common.test_data else common.test_fraction
    split = stratified_split(labels, common.validation_fraction, test_fraction, common.seed)
    train_texts = [texts[i] for i in split.train]
    vocabulary = build_vocabulary(train_texts, config)
    if len(vocabulary) <= 2:
        raise TrainingInputError(
            f"{common.data}: no token occurs {config.min_token_count} times in column "
            f"{config.text_column!r}; lower --min-token-count or check the column"
        )
    spec = TextSpec(
        text_column=config.text_column,
        lowercase=config.lowercase,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        max_tokens=config.max_tokens,
        vocabulary=vocabulary,
    )
    encoder = TextEncoder(spec)
    logger.info("vocabulary: %d tokens (min count %d)", len(vocabulary), config.min_token_count)

    def part(indices: np.ndarray, source_texts: list[str], source_labels: np.ndarray) -> SampleSet:
        samples = _encode(encoder, [source_texts[i] for i in indices])
        samples.labels = source_labels[indices]
        return samples

    train = part(split.train, texts, labels)
    validation = part(split.validation, texts, labels)
    if common.test_data:
        test_frame = read_csv(common.test_data, common.encoding)
        require_columns(
            test_frame,
            [config.text_column, config.label_column],
            common.test_data,
            "--text-column/--label-column",
        )
        test_frame, test_labels_text = clean_labels(test_frame, config.label_column, common.test_data)
        test_labels = align_labels(test_labels_text, class_names, str(common.test_data))
        test_texts = test_frame[config.text_column].tolist()
        test = part(np.arange(len(test_texts)), test_texts, test_labels)
        test_source = common.test_data.name
    else:
        test = part(split.test, texts, labels)
        test_source = f"{test_fraction:.0%} stratified split of {common.data.name}"

    job = TrainingJob(
        name=common.name,
        version=common.version,
        kind=ModelKind.TEXT,
        class_names=class_names,
        input_spec=spec,
        label_column=config.label_column,
        build_model=lambda: build_text_model(
            config.encoder,
            len(vocabulary),
            len(class_names),
            config.embed_dim,
            config.hidden_size,
            config.dropout,
        ),
        architecture=f"{config.encoder} text classifier (embed {config.embed_dim}, "
        f"hidden {config.hidden_size})",
        train=train,
        validation=validation,
        test=test,
        test_source=test_source,
        options=options,
        ensemble_size=common.ensemble_size,
        details={
            "data": common.data.name,
            "seed": common.seed,
            "split": {"validation_fraction": common.validation_fraction, "test_fraction": test_fraction},
        },
    )
    return run_job(job, common.output)
