"""Classic baselines on the exact splits the default models use.

Text: TF-IDF (word 1-2 grams) + logistic regression. Tabular: scikit-learn's
HistGradientBoostingClassifier with native categorical support. Both use the
stratified split of `training.data.splits` with the same fractions and seed as
`make models`, so the numbers sit beside the model card's test metrics.

    python scripts/baselines.py --data-root DIR [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from checkpoint.manifest import DEFAULT_MISSING_VALUES
from training.data.labels import index_labels
from training.data.splits import stratified_split
from training.data.tables import clean_labels, read_csv

VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.15
SEED = 0


def _scores(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": round(float(accuracy_score(true, predicted)), 4),
        "macro_f1": round(float(f1_score(true, predicted, average="macro")), 4),
    }


def text_baseline(path: Path) -> dict[str, float]:
    frame, labels_text = clean_labels(read_csv(path, "utf-8"), "label", path)
    _, labels = index_labels(labels_text, str(path))
    split = stratified_split(labels, VALIDATION_FRACTION, TEST_FRACTION, SEED)
    texts = np.asarray(frame["text"].tolist(), dtype=object)
    # The baseline may also learn from the validation rows, which the network uses for early stopping.
    fit_rows = np.concatenate([split.train, split.validation])
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    features = vectorizer.fit_transform(texts[fit_rows])
    classifier = LogisticRegression(C=10.0, max_iter=2000)
    classifier.fit(features, labels[fit_rows])
    return _scores(labels[split.test], classifier.predict(vectorizer.transform(texts[split.test])))


def tabular_baseline(path: Path, label_column: str) -> dict[str, float]:
    frame, labels_text = clean_labels(read_csv(path, "utf-8"), label_column, path)
    _, labels = index_labels(labels_text, str(path))
    split = stratified_split(labels, VALIDATION_FRACTION, TEST_FRACTION, SEED)
    inputs = frame.drop(columns=[label_column]).apply(lambda c: c.str.strip())
    inputs = inputs.mask(inputs.isin(DEFAULT_MISSING_VALUES))
    categorical = []
    for name in inputs.columns:
        numbers = pd.to_numeric(inputs[name], errors="coerce")
        if numbers.notna().sum() >= 0.95 * inputs[name].notna().sum():
            inputs[name] = numbers
        else:
            inputs[name] = inputs[name].astype("category")
            categorical.append(name)
    fit_rows = np.concatenate([split.train, split.validation])
    classifier = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=SEED)
    classifier.fit(inputs.iloc[fit_rows], labels[fit_rows])
    return _scores(labels[split.test], classifier.predict(inputs.iloc[split.test]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-root", type=Path, required=True, help="folder with text/sms_spam.csv and tabular/adult.csv"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    results = {
        "sms-spam: TF-IDF + logistic regression": text_baseline(args.data_root / "text/sms_spam.csv"),
        "adult-income: HistGradientBoosting": tabular_baseline(
            args.data_root / "tabular/adult.csv", "income"
        ),
    }
    for name, scores in results.items():
        print(f"{name}: accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
