"""mean_average_precision on hostile labels (a defect found by the hostile-input pass)."""
import re

import numpy as np
import pytest

from skml.metrics import mean_average_precision


@pytest.mark.parametrize("which", ["y_true", "y_pred"])
def test_uint64_labels_beyond_int64_are_rejected(which):
    # 2**64 - 1 wrapped to -1 in int64: without n_classes it silently became class -1
    # (the same class as a real -1), with n_classes the error said "got -1..-1"
    boxes = np.array([[0.0, 0.0, 10.0, 10.0]])
    big = np.array([2**64 - 1], dtype=np.uint64)
    y_true = [{"boxes": boxes, "labels": big if which == "y_true" else np.array([0])}]
    y_pred = [{"boxes": boxes, "labels": big if which == "y_pred" else np.array([0]),
               "scores": np.array([1.0])}]
    with pytest.raises(ValueError, match=re.escape(
            f"{which}[0]['labels'] must fit in int64, got {2**64 - 1}.")):
        mean_average_precision(y_true, y_pred)
    # uint64 labels within range are fine: a perfect detection
    ok = np.array([3], dtype=np.uint64)
    assert mean_average_precision([{"boxes": boxes, "labels": ok}],
                                  [{"boxes": boxes, "labels": ok,
                                    "scores": np.array([1.0])}]) == 1.0
