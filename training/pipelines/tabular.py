"""Tabular pipeline: a CSV of mixed numeric and categorical columns to an MLP checkpoint."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pandas as pd
import torch

from checkpoint import ColumnKind, ModelKind, TabularColumn, TabularSpec
from inputs.tabular import TabularEncoder
from training.config import CommonConfig, TabularConfig
from training.data.labels import align_labels, index_labels
from training.data.splits import stratified_split
from training.data.tables import clean_labels, read_csv, require_columns
from training.errors import TrainingInputError
from training.loop import FitOptions
from training.models.tabular import TabularMLP
from training.pipelines.common import TrainingJob, TrainingOutcome, run_job
from training.samples import SampleSet

logger = logging.getLogger(__name__)

# A column is numeric when at least this share of its non-missing cells parse as numbers.
NUMERIC_SHARE = 0.95


def _present(cells: pd.Series, missing: set[str]) -> pd.Series:
    stripped = cells.str.strip()
    return stripped[~stripped.isin(missing)]


def detect_column_kinds(
    frame: pd.DataFrame, columns: list[str], config: TabularConfig
) -> dict[str, ColumnKind]:
    """Decide numeric or categorical per column, honouring explicit overrides."""
    missing = set(config.missing_values)
    kinds: dict[str, ColumnKind] = {}
    for name in columns:
        if config.numeric_columns and name in config.numeric_columns:
            kinds[name] = ColumnKind.NUMERIC
        elif config.categorical_columns and name in config.categorical_columns:
            kinds[name] = ColumnKind.CATEGORICAL
        else:
            present = _present(frame[name], missing)
            parsed = pd.to_numeric(present, errors="coerce")
            numeric = len(present) > 0 and parsed.notna().mean() >= NUMERIC_SHARE
            kinds[name] = ColumnKind.NUMERIC if numeric else ColumnKind.CATEGORICAL
    return kinds


def build_spec(
    frame: pd.DataFrame, kinds: dict[str, ColumnKind], config: TabularConfig
) -> tuple[TabularSpec, list[list[float]]]:
    """Column statistics from the training rows: scaling, quantile bin edges and categories."""
    missing = set(config.missing_values)
    columns: list[TabularColumn] = []
    edges: list[list[float]] = []
    for name, kind in kinds.items():
        present = _present(frame[name], missing)
        if kind == ColumnKind.NUMERIC:
            values = pd.to_numeric(present, errors="coerce").to_numpy(np.float64)
            values = values[np.isfinite(values)]
            mean = float(values.mean()) if len(values) else 0.0
            std = float(values.std()) if len(values) > 1 else 1.0
            columns.append(TabularColumn(name=name, kind=kind, mean=mean, std=std if std > 0 else 1.0))
            quantiles = np.quantile(values, np.linspace(0, 1, config.bins + 1)) if len(values) else [0.0, 1.0]
            column_edges = sorted({float(q) for q in quantiles})
            edges.append(column_edges if len(column_edges) > 1 else [column_edges[0], column_edges[0] + 1.0])
        else:
            counts = Counter(present.tolist())
            categories = [c for c, n in counts.most_common() if n >= config.min_category_count]
            columns.append(TabularColumn(name=name, kind=kind, categories=categories))
    spec = TabularSpec(columns=columns, missing_values=config.missing_values)
    return spec, edges


def _encode(encoder: TabularEncoder, frame: pd.DataFrame, labels: np.ndarray, source: str) -> SampleSet:
    encoded = encoder.encode_frame(frame)
    values = encoded.values
    n_numeric = len(encoder.spec.numeric_columns)
    numeric = values[:, :n_numeric]
    numeric[~np.isfinite(numeric)] = np.nan
    if encoded.errors:
        logger.warning(
            "%s: %d rows have non-numeric cells in numeric columns; they are treated as missing (first: %s)",
            source,
            len(encoded.errors),
            next(iter(encoded.errors.values())),
        )
    return SampleSet(torch.from_numpy(values), labels)


def train_tabular(common: CommonConfig, config: TabularConfig, options: FitOptions) -> TrainingOutcome:
    frame = read_csv(common.data, common.encoding)
    require_columns(frame, [config.label_column], common.data, "--label-column")
    overrides = (config.numeric_columns or []) + (config.categorical_columns or []) + config.ignore_columns
    require_columns(frame, overrides, common.data, "--numeric/--categorical/--ignore-columns")
    frame, labels_text = clean_labels(frame, config.label_column, common.data)
    class_names, labels = index_labels(labels_text, f"{common.data} column {config.label_column!r}")
    inputs = [c for c in frame.columns if c != config.label_column and c not in config.ignore_columns]
    if not inputs:
        raise TrainingInputError(f"{common.data} has no input columns besides the label")

    test_fraction = 0.0 if common.test_data else common.test_fraction
    split = stratified_split(labels, common.validation_fraction, test_fraction, common.seed)
    train_frame = frame.iloc[split.train].reset_index(drop=True)
    kinds = detect_column_kinds(train_frame, inputs, config)
    spec, edges = build_spec(train_frame, kinds, config)
    logger.info(
        "columns: numeric %s; categorical %s",
        [c.name for c in spec.numeric_columns],
        [c.name for c in spec.categorical_columns],
    )
    encoder = TabularEncoder(spec, config.label_column)

    train = _encode(encoder, train_frame, labels[split.train], str(common.data))
    validation = _encode(
        encoder,
        frame.iloc[split.validation].reset_index(drop=True),
        labels[split.validation],
        str(common.data),
    )
    if common.test_data:
        test_frame = read_csv(common.test_data, common.encoding)
        require_columns(test_frame, [config.label_column, *inputs], common.test_data, "the training columns")
        test_frame, test_labels_text = clean_labels(test_frame, config.label_column, common.test_data)
        test_labels = align_labels(test_labels_text, class_names, str(common.test_data))
        test = _encode(encoder, test_frame, test_labels, str(common.test_data))
        test_source = common.test_data.name
    else:
        test = _encode(
            encoder, frame.iloc[split.test].reset_index(drop=True), labels[split.test], str(common.data)
        )
        test_source = f"{test_fraction:.0%} stratified split of {common.data.name}"

    def build_model() -> TabularMLP:
        return TabularMLP(
            means=[c.mean or 0.0 for c in spec.numeric_columns],
            stds=[c.std or 1.0 for c in spec.numeric_columns],
            bin_edges=edges,
            category_counts=[len(c.categories or []) for c in spec.categorical_columns],
            num_classes=len(class_names),
            embed_dim=config.embed_dim,
            hidden_sizes=config.hidden_sizes,
            dropout=config.dropout,
        )

    job = TrainingJob(
        name=common.name,
        version=common.version,
        kind=ModelKind.TABULAR,
        class_names=class_names,
        input_spec=spec,
        label_column=config.label_column,
        build_model=build_model,
        architecture=f"MLP {config.hidden_sizes} with {config.embed_dim}-d embeddings and "
        f"piecewise-linear encoding over {config.bins} quantile bins",
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
