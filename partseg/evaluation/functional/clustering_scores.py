"""NMI and ARI of a contingency table, the part-consistency scores of Choudhury et al. 2021 Sec. 4.

Both work on a contingency table ``table[i, j]`` = number of samples with ground-truth class ``i``
(a keypoint id) and predicted cluster ``j`` (a part label), so a metric can sum per-image tables
and score once. Rows and columns that sum to zero are labels that never occur and are ignored.
Conventions follow scikit-learn's ``normalized_mutual_info_score`` (arithmetic-mean
normalisation) and ``adjusted_rand_score``, including their limit cases.
"""
import numpy as np


def contingency_table(gt_ids: np.ndarray, pred_labels: np.ndarray, num_gt: int,
                      num_pred: int) -> np.ndarray:
    """Counts of (ground-truth id, predicted label) pairs as a (num_gt, num_pred) int64 table."""
    gt_ids = np.asarray(gt_ids, dtype=np.int64).ravel()
    pred_labels = np.asarray(pred_labels, dtype=np.int64).ravel()
    if gt_ids.shape != pred_labels.shape:
        raise ValueError(f'gt_ids and pred_labels differ in length: {gt_ids.size} vs '
                         f'{pred_labels.size}')
    if gt_ids.size and (gt_ids.min() < 0 or gt_ids.max() >= num_gt or pred_labels.min() < 0
                        or pred_labels.max() >= num_pred):
        raise ValueError(f'labels out of range for a ({num_gt}, {num_pred}) contingency table')
    flat = np.bincount(gt_ids * num_pred + pred_labels, minlength=num_gt * num_pred)
    return flat.reshape(num_gt, num_pred)


def _nonempty(table: np.ndarray) -> np.ndarray:
    """Drop all-zero rows and columns; validate a 2-D non-negative table with a positive total."""
    table = np.asarray(table)
    if table.ndim != 2:
        raise ValueError(f'contingency table must be 2-D, got shape {table.shape}')
    if (table < 0).any():
        raise ValueError('contingency table has negative counts')
    if table.sum() == 0:
        raise ValueError('contingency table is empty (no samples to score)')
    table = table[table.sum(1) > 0]
    return table[:, table.sum(0) > 0].astype(np.float64)


def _entropy(counts: np.ndarray) -> float:
    """Shannon entropy (nats) of a histogram of positive counts."""
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def normalized_mutual_info(table: np.ndarray) -> float:
    """NMI, Choudhury et al. 2021 Sec. 4: ``I(U; V) / ((H(U) + H(V)) / 2)`` of a contingency table.

    Limit cases as scikit-learn: a single class and a single cluster give 1.0; zero mutual
    information gives 0.0. Raises ``ValueError`` on an empty table.
    """
    table = _nonempty(table)
    if table.shape[0] == table.shape[1] == 1:
        return 1.0
    n = table.sum()
    rows, cols = table.sum(1), table.sum(0)  # (R,), (C,) marginal counts
    nz = table > 0
    joint = table[nz] / n
    # p_ij log(p_ij / (p_i p_j)) with p_ij = n_ij / n, p_i = a_i / n, p_j = b_j / n
    outer = np.outer(rows, cols)[nz]  # (R, C) -> (nnz,)
    mi = max(float((joint * np.log(table[nz] * n / outer)).sum()), 0.0)
    if mi == 0.0:
        return 0.0
    normaliser = max((_entropy(rows) + _entropy(cols)) / 2, np.finfo(np.float64).eps)
    return mi / normaliser


def adjusted_rand_index(table: np.ndarray) -> float:
    """ARI, Choudhury et al. 2021 Sec. 4 (Hubert & Arabie 1985) from a contingency table.

    ``(sum_ij C(n_ij, 2) - E) / ((sum_i C(a_i, 2) + sum_j C(b_j, 2)) / 2 - E)`` with
    ``E = sum_i C(a_i, 2) * sum_j C(b_j, 2) / C(n, 2)``. When the denominator vanishes (both
    partitions trivial in the same way, or a single sample) the partitions agree: 1.0.
    """
    table = _nonempty(table)

    def pairs(x):
        return x * (x - 1) / 2

    n = table.sum()
    index = pairs(table).sum()
    sum_rows, sum_cols = pairs(table.sum(1)).sum(), pairs(table.sum(0)).sum()
    total = pairs(n)
    if total == 0:
        return 1.0
    expected = sum_rows * sum_cols / total
    maximum = (sum_rows + sum_cols) / 2
    if maximum == expected:
        return 1.0
    return float((index - expected) / (maximum - expected))
