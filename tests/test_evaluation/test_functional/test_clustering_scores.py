import math

import numpy as np
import pytest

from partseg.evaluation.functional import (adjusted_rand_index, contingency_table,
                                           normalized_mutual_info)


def test_contingency_table_counts_pairs():
    table = contingency_table([0, 0, 1, 1, 1], [2, 2, 0, 2, 2], num_gt=2, num_pred=3)
    np.testing.assert_array_equal(table, [[0, 0, 2], [1, 0, 2]])
    with pytest.raises(ValueError, match='out of range'):
        contingency_table([0, 2], [0, 0], num_gt=2, num_pred=1)


def test_nmi_ari_hand_computed_2x2():
    # rows = GT keypoint ids, cols = predicted parts; n = 6, a = (3, 3), b = (4, 2)
    table = np.array([[3, 0], [1, 2]])
    # ARI: sum_ij C(n_ij,2) = 3 + 0 + 0 + 1 = 4; sum_i C(a_i,2) = 3 + 3 = 6;
    # sum_j C(b_j,2) = 6 + 1 = 7; C(6,2) = 15; E = 6 * 7 / 15 = 2.8; max = (6 + 7) / 2 = 6.5
    # ARI = (4 - 2.8) / (6.5 - 2.8) = 1.2 / 3.7 = 12 / 37
    assert adjusted_rand_index(table) == pytest.approx(12 / 37, abs=1e-12)
    # NMI: p_ij = (1/2, 0; 1/6, 1/3), p_i = (1/2, 1/2), p_j = (2/3, 1/3)
    # MI = 1/2 ln(1/2 / (1/2 * 2/3)) + 1/6 ln(1/6 / (1/2 * 2/3)) + 1/3 ln(1/3 / (1/2 * 1/3))
    #    = 1/2 ln 1.5 + 1/6 ln 0.5 + 1/3 ln 2
    mi = 0.5 * math.log(1.5) + math.log(0.5) / 6 + math.log(2) / 3
    h_u = math.log(2)
    h_v = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert normalized_mutual_info(table) == pytest.approx(mi / ((h_u + h_v) / 2), abs=1e-12)
    assert normalized_mutual_info(table) == pytest.approx(0.478704, abs=1e-6)


def test_empty_rows_and_columns_are_ignored_and_labels_are_permutation_free():
    padded = np.array([[3, 0, 0], [1, 2, 0], [0, 0, 0]])
    assert normalized_mutual_info(padded) == normalized_mutual_info([[3, 0], [1, 2]])
    assert adjusted_rand_index(padded) == adjusted_rand_index([[3, 0], [1, 2]])
    permuted = np.array([[0, 2], [3, 0]])  # perfect agreement up to relabelling
    assert normalized_mutual_info(permuted) == pytest.approx(1.0)
    assert adjusted_rand_index(permuted) == pytest.approx(1.0)


def test_limit_cases_follow_sklearn():
    # one class and one cluster: identical partitions
    assert normalized_mutual_info([[5]]) == 1.0
    assert adjusted_rand_index([[5]]) == 1.0
    # one class split over two clusters: MI = 0 -> NMI 0; ARI: index 2, E = 6 * 2 / 6 = 2 -> 0
    assert normalized_mutual_info([[2, 2]]) == 0.0
    assert adjusted_rand_index([[2, 2]]) == pytest.approx(0.0)
    # a single sample
    assert adjusted_rand_index([[0, 1]]) == 1.0
    with pytest.raises(ValueError, match='empty'):
        normalized_mutual_info(np.zeros((2, 2)))
    with pytest.raises(ValueError, match='negative'):
        adjusted_rand_index([[1, -1]])
