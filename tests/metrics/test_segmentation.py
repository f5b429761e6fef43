"""IoU and Dice against scikit-learn's jaccard_score / f1_score; the Hausdorff distance
against scipy's directed_hausdorff and a NumPy brute-force reference, on awkward
inputs (ties, duplicates, offsets, magnitudes) and through the pruning path."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist, directed_hausdorff
from sklearn.metrics import f1_score, jaccard_score

import skml.metrics._segmentation as seg
from skml.metrics import dice_score, hausdorff_distance, iou_score

RNG = np.random.RandomState(0)


# ----------------------------------------------------------------------------- IoU / Dice

@pytest.mark.parametrize("average", [None, "macro", "micro", "weighted"])
def test_iou_and_dice_match_sklearn_on_label_vectors(average):
    y_true = RNG.randint(0, 5, 300)
    y_pred = np.where(RNG.rand(300) < 0.5, y_true, RNG.randint(0, 6, 300))
    labels = np.union1d(y_true, y_pred)
    np.testing.assert_allclose(
        iou_score(y_true, y_pred, average=average),
        jaccard_score(y_true, y_pred, labels=labels, average=average), rtol=1e-12)
    np.testing.assert_allclose(
        dice_score(y_true, y_pred, average=average),
        f1_score(y_true, y_pred, labels=labels, average=average), rtol=1e-12)


def test_masks_of_any_shape_ignore_index_and_binary_masks():
    true = RNG.randint(0, 3, (4, 16, 16))
    pred = np.where(RNG.rand(4, 16, 16) < 0.7, true, RNG.randint(0, 3, (4, 16, 16)))
    assert iou_score(true, pred) == pytest.approx(
        jaccard_score(true.ravel(), pred.ravel(), average="macro"))
    # ignore_index drops the elements whose true label is void, in both masks
    void = true.copy()
    void[:, :4] = 255
    keep = void.ravel() != 255
    np.testing.assert_allclose(
        iou_score(void, pred, ignore_index=255, average=None),
        jaccard_score(true.ravel()[keep], pred.ravel()[keep], average=None))
    # boolean masks: the foreground only; set form 2|A&B|/(|A|+|B|) for Dice
    a, b = true > 0, pred > 0
    inter, union = np.sum(a & b), np.sum(a | b)
    assert iou_score(a, b) == pytest.approx(inter / union)
    assert dice_score(a, b) == pytest.approx(2 * inter / (a.sum() + b.sum()))
    assert iou_score(a, a) == 1.0 and dice_score(a, a) == 1.0
    # string labels
    names = np.array(["bg", "cat", "dog"])
    assert iou_score(names[true], names[pred]) == pytest.approx(iou_score(true, pred))


def test_explicit_labels_absent_classes_and_zero_division():
    y_true, y_pred = np.array([0, 0, 1]), np.array([0, 1, 1])
    with pytest.warns(Warning, match="IoU is ill-defined"):
        per = iou_score(y_true, y_pred, labels=[0, 1, 7], average=None)
    np.testing.assert_allclose(per, [0.5, 0.5, 0.0])
    per = iou_score(y_true, y_pred, labels=[0, 1, 7], average=None, zero_division=np.nan)
    assert np.isnan(per[2])
    assert iou_score(y_true, y_pred, labels=[0, 1, 7], zero_division=np.nan) == 0.5
    empty = np.zeros((3, 3), dtype=bool)
    assert iou_score(empty, empty, zero_division=1.0) == 1.0


def test_mask_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        iou_score(np.zeros((2, 2), int), np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="empty"):
        dice_score([], [])
    with pytest.raises(ValueError, match="NaN"):
        iou_score([0.0, np.nan], [0.0, 1.0])
    with pytest.raises(ValueError, match="ignore_index"):
        iou_score([255, 255], [0, 1], ignore_index=255)
    with pytest.raises(ValueError, match="average must be one of"):
        iou_score([0, 1], [0, 1], average="binary")


# ----------------------------------------------------------------------------- Hausdorff

def _reference(A, B, metric="euclidean", p=2.0, directed=False, q=100):
    """Brute force with scipy's cdist on inputs scaled to ~1 (squares of 1e-300 or
    1e300 would under/overflow in cdist itself)."""
    kw = {"p": p} if metric == "minkowski" else {}
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    # centre first (exact for points near each other: Sterbenz), then scale
    lo = np.minimum(A.min(axis=0), B.min(axis=0))
    hi = np.maximum(A.max(axis=0), B.max(axis=0))
    c = lo / 2 + hi / 2
    A, B = A - c, B - c
    s = max(np.abs(A).max(), np.abs(B).max()) or 1.0
    D = s * cdist(A / s, B / s, metric={"manhattan": "cityblock"}.get(metric, metric),
                  **kw)
    d_ab, d_ba = D.min(axis=1), D.min(axis=0)
    if directed:
        return np.percentile(d_ab, q)
    return max(np.percentile(d_ab, q), np.percentile(d_ba, q))


@pytest.fixture
def small_clusters(monkeypatch):
    """Tiny leaves, so that small inputs go through the pruning path."""
    monkeypatch.setattr(seg, "_LEAF_SIZE", 4)
    monkeypatch.setattr(seg, "_N_TOP", 2)


def test_matches_scipy_directed_hausdorff_on_clouds():
    A = RNG.rand(3000, 3)
    B = RNG.rand(2500, 3) + 0.02
    ref_ab = directed_hausdorff(A, B)[0]
    ref_ba = directed_hausdorff(B, A)[0]
    assert hausdorff_distance(A, B, directed=True) == pytest.approx(ref_ab, rel=1e-12)
    assert hausdorff_distance(B, A, directed=True) == pytest.approx(ref_ba, rel=1e-12)
    assert hausdorff_distance(A, B) == pytest.approx(max(ref_ab, ref_ba), rel=1e-12)


@pytest.mark.parametrize("metric, p", [("euclidean", 2), ("manhattan", 2),
                                       ("chebyshev", 2), ("minkowski", 3.0)])
@pytest.mark.parametrize("q", [100, 95])
def test_pruning_path_is_exact_for_every_metric(small_clusters, metric, p, q):
    for _ in range(5):
        A = RNG.randn(RNG.randint(20, 120), 3) * RNG.choice([1e-3, 1.0, 1e3])
        B = RNG.randn(RNG.randint(20, 120), 3) + RNG.choice([0.0, 2.0])
        B = np.concatenate([B, A[:3]])  # exact duplicates: distances 0
        for directed in (False, True):
            got = hausdorff_distance(A, B, metric=metric, p=p, directed=directed,
                                     percentile=q)
            ref = _reference(A, B, metric, p, directed, q)
            assert got == pytest.approx(ref, rel=1e-9, abs=1e-12), (metric, directed)


clouds = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.integers(1, 40), st.integers(1, 4),
    st.sampled_from([1e-300, 1e-3, 1.0, 1e150, 1e300]),
    st.sampled_from([0.0, 1e6]), st.integers(0, 2**32 - 1), st.just(n),
    st.sampled_from(["C", "F", "strided"]), st.booleans()))


@settings(max_examples=50, deadline=None)
@given(clouds)
def test_hypothesis_against_numpy(params):
    m, d, scale, offset, seed, n, layout, ties = params
    rng = np.random.RandomState(seed)
    A = rng.randn(n, d) * scale + offset
    B = rng.randn(m, d) * scale + offset
    if ties:  # lattice points: many equal distances
        A, B = np.round(A / scale) * scale, np.round(B / scale) * scale
    if layout == "F":
        A, B = np.asfortranarray(A), np.asfortranarray(B)
    elif layout == "strided":
        A, B = np.repeat(A, 2, axis=0)[::2], np.repeat(B, 2, axis=0)[::2]
    A.flags.writeable = False
    ref = _reference(A, B)
    old = seg._LEAF_SIZE
    try:
        for size in (old, 3):  # direct and pruned
            seg._LEAF_SIZE = size
            got = hausdorff_distance(A, B)
            assert got == pytest.approx(ref, rel=1e-7, abs=1e-9 * scale), size
            got95 = hausdorff_distance(A, B, percentile=95)
            assert got95 == pytest.approx(_reference(A, B, q=95), rel=1e-7,
                                          abs=1e-9 * scale), size
    finally:
        seg._LEAF_SIZE = old


def test_huge_magnitudes_and_float32():
    A = np.array([[1e300, 0.0], [-1e300, 0.0]])
    B = np.array([[1e300, 1e299]])
    assert hausdorff_distance(A, B) == pytest.approx(np.hypot(2e300, 1e299), rel=1e-12)
    A32 = RNG.rand(200, 2).astype(np.float32)
    B32 = RNG.rand(150, 2).astype(np.float32)
    assert hausdorff_distance(A32, B32) == pytest.approx(
        _reference(A32.astype(float), B32.astype(float)), rel=1e-12)


def test_binary_masks_with_spacing():
    a = np.zeros((20, 30), dtype=bool)
    b = np.zeros((20, 30), dtype=bool)
    a[2:8, 3:9] = True
    b[5:12, 4:20] = True
    pa, pb = np.argwhere(a) * [2.0, 0.5], np.argwhere(b) * [2.0, 0.5]
    assert hausdorff_distance(a, b, spacing=(2.0, 0.5)) == pytest.approx(
        _reference(pa, pb))
    assert hausdorff_distance(a, b, percentile=95) == pytest.approx(
        _reference(np.argwhere(a), np.argwhere(b), q=95))
    assert hausdorff_distance(a, a) == 0.0


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev"])
def test_random_masks_against_all_their_points(metric):
    # the search only looks at points outside the other mask and at its boundary; the
    # reference uses every point of both masks
    for shape in [(12, 15), (6, 7, 8), (40,)]:
        for density in (0.05, 0.5, 0.95):
            a = RNG.rand(*shape) < density
            b = RNG.rand(*shape) < density
            a.flat[0] = b.flat[-1] = True
            sp = RNG.uniform(0.5, 2.0, len(shape))
            pa, pb = np.argwhere(a) * sp, np.argwhere(b) * sp
            for q in (100, 90):
                for directed in (False, True):
                    got = hausdorff_distance(a, b, spacing=sp, metric=metric,
                                             percentile=q, directed=directed)
                    ref = _reference(pa, pb, metric, directed=directed, q=q)
                    assert got == pytest.approx(ref, rel=1e-12, abs=1e-12), (
                        shape, density, q, directed)


def test_hausdorff_bad_input():
    empty = np.zeros((4, 4), dtype=bool)
    full = np.ones((4, 4), dtype=bool)
    with pytest.raises(ValueError, match="A is an empty mask"):
        hausdorff_distance(empty, full)
    with pytest.raises(ValueError, match="B is an empty point set"):
        hausdorff_distance(np.zeros((3, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="same shape"):
        hausdorff_distance(full, np.ones((4, 5), dtype=bool))
    with pytest.raises(ValueError, match="same number of features"):
        hausdorff_distance(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="both be point sets or both be boolean masks"):
        hausdorff_distance(full, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        hausdorff_distance([[0.0, np.nan]], [[0.0, 0.0]])
    with pytest.raises(ValueError, match="infinity"):
        hausdorff_distance([[0.0, 1.0]], [[np.inf, 0.0]])
    with pytest.raises(ValueError, match="percentile must be in"):
        hausdorff_distance([[0.0]], [[1.0]], percentile=0)
    with pytest.raises(ValueError, match="metric must be one of"):
        hausdorff_distance([[0.0]], [[1.0]], metric="cosine")
    with pytest.raises(ValueError, match="spacing"):
        hausdorff_distance(full, full, spacing=(1.0, -1.0))
