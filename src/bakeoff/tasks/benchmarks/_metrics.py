"""Corpus-level aggregations the benchmarks need beyond tasks/base.py's (registered on import).

Each takes the (n_samples, k) array of per-sample ``metric_inputs`` and returns one number, so
reports can recompute and bootstrap them from stored records alone.
"""

from __future__ import annotations

import numpy as np

from bakeoff.tasks.base import FloatArray, register_aggregation


def balanced_accuracy(values: FloatArray) -> float:
    """Columns (pred, gold[, group]): mean recall over the gold classes, as scikit-learn's
    ``balanced_accuracy_score``. With a group column, the mean over groups of each group's
    balanced accuracy (LegalBench's score over several tasks)."""
    if not len(values):
        return float("nan")
    if values.shape[1] < 3:
        return _balanced(values[:, 0], values[:, 1])
    groups = np.unique(values[:, 2])
    return float(np.mean([_balanced(*_columns(values, g)) for g in groups]))


def _columns(values: FloatArray, group: float) -> tuple[FloatArray, FloatArray]:
    rows = values[values[:, 2] == group]
    return rows[:, 0], rows[:, 1]


def _balanced(pred: FloatArray, gold: FloatArray) -> float:
    recalls = [float(np.mean(pred[gold == c] == c)) for c in np.unique(gold)]
    return float(np.mean(recalls))


def macro_f1(values: FloatArray) -> float:
    """Columns (pred, gold, n_classes): unweighted mean of each class's one-vs-rest F1 over
    classes 0..n-1 (a class never predicted nor gold scores 0), as the harness's CB ``f1``."""
    if not len(values):
        return float("nan")
    pred, gold = values[:, 0], values[:, 1]
    n_classes = int(np.max(values[:, 2]))
    scores = []
    for c in range(n_classes):
        tp = float(np.sum((pred == c) & (gold == c)))
        denom = float(np.sum(pred == c) + np.sum(gold == c))
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def pearson(values: FloatArray) -> float:
    """Columns (prediction, gold): Pearson correlation; nan when either side is constant."""
    if len(values) < 2 or np.ptp(values[:, 0]) == 0 or np.ptp(values[:, 1]) == 0:
        return float("nan")
    return float(np.corrcoef(values[:, 0], values[:, 1])[0, 1])


def spearman(values: FloatArray) -> float:
    """Columns (prediction, gold): Spearman rank correlation; nan when either side is constant."""
    if len(values) < 2 or np.ptp(values[:, 0]) == 0 or np.ptp(values[:, 1]) == 0:
        return float("nan")
    from scipy import stats  # lazy: keeps `import bakeoff.tasks.catalog` cheap

    return float(stats.spearmanr(values[:, 0], values[:, 1]).statistic)


def grouped_all(values: FloatArray) -> float:
    """Columns (correct, group): share of groups whose rows are all correct (MultiRC EM)."""
    if not len(values):
        return float("nan")
    groups = np.unique(values[:, 1])
    return float(np.mean([np.all(values[values[:, 1] == g, 0] > 0.5) for g in groups]))


register_aggregation("balanced_acc", balanced_accuracy)
register_aggregation("macro_f1", macro_f1)
register_aggregation("pearson", pearson)
register_aggregation("spearman", spearman)
register_aggregation("grouped_all", grouped_all)
