"""skml._kernels._hist against plain NumPy references: binning, histograms, split
finding, partition, prediction over packed nodes, the loss kernels. Random shapes,
dtypes, layouts (C, Fortran, strided, read-only), magnitudes up to 1e300, ties, NaN and
infinities."""
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.special import expit, softmax

from skml._kernels import _hist
from skml.ensemble._hist_gradient_boosting.binning import BinMapper
from skml.ensemble._hist_gradient_boosting.predictor import NODE_DTYPE, TreeSet
from tests._layouts import as_layout

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def _matrices(draw, max_rows=60, max_cols=5):
    n = draw(st.integers(0, max_rows))
    p = draw(st.integers(1, max_cols))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([1.0, 1e-300, 1e300]))
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p) * scale
    if draw(st.booleans()):  # ties
        X = np.round(X / scale * 2) * scale
    special = rng.rand(n, p)
    X[special < 0.1] = np.nan
    X[(special >= 0.1) & (special < 0.13)] = np.inf
    X[(special >= 0.13) & (special < 0.16)] = -np.inf
    return X


@SETTINGS
@given(X=_matrices(), dtype=st.sampled_from([np.float32, np.float64]),
       layout=st.sampled_from(["C", "F", "strided", "readonly"]),
       max_bins=st.integers(2, 255))
def test_binning_matches_searchsorted(X, dtype, layout, max_bins):
    with np.errstate(over="ignore"):
        X = X.astype(dtype)
    mapper = BinMapper(max_bins, None, 200_000, np.random.RandomState(0), 2).fit(X)
    binned = mapper.transform(as_layout(X, layout))
    assert binned.flags.f_contiguous and binned.dtype == np.uint8
    for f in range(X.shape[1]):
        thr = mapper.thresholds_[f]
        assert thr.size <= max_bins - 1 and np.all(np.diff(thr) > 0)
        col = X[:, f].astype(np.float64)
        expected = np.where(np.isnan(col), max_bins, np.searchsorted(thr, col, side="left"))
        np.testing.assert_array_equal(binned[:, f], expected)
        known = ~np.isnan(col)
        # the smallest and the largest value have bins of their own ends: no threshold
        # below the minimum or at/above the maximum (an inner bin can be empty: the
        # quantile grid of scikit-learn on few distinct values, e.g. 0, 0.5, 1 for
        # values in {..., 0, 1, ...})
        if known.any():
            assert binned[known, f].min() == 0
            assert binned[known, f].max() == thr.size


def test_binning_quantiles_and_midpoints():
    x = np.array([[0.0], [1.0], [1.0], [3.0]])
    mapper = BinMapper(255, None, 10, np.random.RandomState(0), 1).fit(x)
    np.testing.assert_array_equal(mapper.thresholds_[0], [0.5, 2.0])
    x = np.arange(1000.0)[:, None]
    mapper = BinMapper(10, None, 10_000, np.random.RandomState(0), 1).fit(x)
    counts = np.bincount(mapper.transform(x)[:, 0])
    assert counts.size == 10 and counts.min() >= 99 and counts.max() <= 101
    # more distinct values than bins: numpy's averaged-inverted-CDF quantiles (the
    # grid scikit-learn uses), whose inner bin (0, 0.5] is empty here; +inf is a value
    x = np.array([-2, -1, -1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, np.inf])[:, None]
    mapper = BinMapper(4, None, 100, np.random.RandomState(0), 1).fit(x)
    expected = np.percentile(x[:, 0], [25, 50, 75], method="averaged_inverted_cdf")
    np.testing.assert_array_equal(expected, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(mapper.thresholds_[0], expected)
    # adjacent floats: the threshold stays below the larger value
    x = np.array([[1.0], [np.nextafter(1.0, 2.0)]])
    binned = BinMapper(255, None, 10, np.random.RandomState(0), 1).fit(x).transform(x)
    assert binned[0, 0] != binned[1, 0]


def _gh4(g, h):
    return np.column_stack([g, h, np.ones_like(g), np.zeros_like(g)]).astype(np.float32)


@SETTINGS
@given(n=st.integers(1, 300), p=st.integers(1, 4), n_bins=st.integers(2, 256),
       frac=st.floats(0.0, 1.0), root=st.booleans(), threads=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**31 - 1))
def test_histograms_match_bincount(n, p, n_bins, frac, root, threads, seed):
    rng = np.random.RandomState(seed)
    X = np.asfortranarray(rng.randint(0, n_bins, (n, p)).astype(np.uint8))
    g = rng.randn(n).astype(np.float32)
    h = rng.rand(n).astype(np.float32)
    gh4 = _gh4(g, h)
    idx = np.sort(rng.choice(n, int(frac * n), replace=False)).astype(np.uint32)
    samples = np.arange(n) if root else idx
    prefix = rng.permutation(n).astype(np.uint32)[:3]  # the segment need not start at 0
    idx_full = np.concatenate([prefix, idx])
    start, stop = prefix.size, prefix.size + idx.size
    if root:
        idx_full = np.arange(n, dtype=np.uint32)
    features = np.arange(p, dtype=np.int32)[rng.rand(p) < 0.7]
    hist = np.full((p, 4 * 256), np.nan)
    ordered = np.empty((n, 4), dtype=np.float32)
    _hist.build_histograms(X, idx_full, start, stop, gh4, ordered, features, hist,
                           int(root), threads)
    for f in range(p):
        if f not in features:
            assert np.all(np.isnan(hist[f]))
            continue
        b = X[samples, f]
        np.testing.assert_array_equal(hist[f, 0::4], np.bincount(
            b, weights=g[samples].astype(np.float64), minlength=256))
        np.testing.assert_array_equal(hist[f, 1::4], np.bincount(
            b, weights=h[samples].astype(np.float64), minlength=256))
        np.testing.assert_array_equal(hist[f, 2::4], np.bincount(b, minlength=256))
        np.testing.assert_array_equal(hist[f, 3::4], 0.0)


def test_kernels_reject_bad_segments_and_shapes():
    X = np.zeros((10, 2), dtype=np.uint8, order="F")
    idx = np.arange(10, dtype=np.uint32)
    gh4 = np.zeros((10, 4), np.float32)
    hist = np.zeros((2, 1024))
    feats = np.array([0, 1], np.int32)
    with pytest.raises(ValueError, match="segment"):
        _hist.build_histograms(X, idx, 5, 11, gh4, np.zeros((10, 4), np.float32), feats,
                               hist, 0, 1)
    with pytest.raises(ValueError, match="feature"):
        _hist.build_histograms(X, idx, 0, 10, gh4, np.zeros((10, 4), np.float32),
                               np.array([2], np.int32), hist, 0, 1)
    with pytest.raises(ValueError, match="shapes"):
        _hist.build_histograms(X, idx, 0, 10, gh4, np.zeros((3, 4), np.float32), feats,
                               hist, 0, 1)
    # regression: a histogram narrower than 256 bins (max_bins < 255) must raise
    with pytest.raises(ValueError, match="shapes"):
        _hist.build_histograms(X, idx, 0, 10, gh4, np.zeros((10, 4), np.float32), feats,
                               np.zeros((2, 4 * 21)), 0, 1)
    with pytest.raises(ValueError, match="shapes"):
        _hist.subtract_histograms(hist, np.zeros((2, 4 * 21)), feats)
    with pytest.raises(ValueError, match="feature"):
        _hist.subtract_histograms(hist, hist.copy(), np.array([2], np.int32))
    with pytest.raises(ValueError, match="pack_gradients"):
        _hist.pack_gradients(np.zeros(10, np.float32), np.zeros(5, np.float32), 1.0,
                             gh4, 1)
    with pytest.raises(ValueError, match="pack_gradients"):
        _hist.pack_gradients(np.zeros(11, np.float32), np.zeros(0, np.float32), 1.0,
                             gh4, 1)
    # a split node whose right child points back (a cycle) must raise, not hang
    nodes = np.zeros(3, dtype=_hist.PACKED_NODE_DTYPE)
    nodes["threshold"] = [0.5, 0.5, np.nan]
    nodes["right"] = [2, 0, 2]
    with pytest.raises(ValueError, match="node out of range"):
        _hist.predict_packed(np.zeros((4, 2)), nodes, np.zeros(3),
                             np.array([0], np.int32), 0, 1, np.zeros((1, 8), np.uint32),
                             0, np.zeros((4, 1)), 1)
    with pytest.raises(ValueError, match="partition"):
        _hist.partition(idx.copy(), 0, 12, X, 0, 3, False, 255, False,
                        np.zeros(8, np.uint32), np.empty(10, np.uint32), 1)
    with pytest.raises(ValueError, match="partition"):
        _hist.partition(idx.copy(), 0, 10, X, 5, 3, False, 255, False,
                        np.zeros(8, np.uint32), np.empty(10, np.uint32), 1)
    with pytest.raises(ValueError, match="segment"):
        _hist.add_leaf_values(np.zeros(10), idx, np.array([0], np.int64),
                              np.array([11], np.int64), np.zeros(1), 1)
    with pytest.raises(ValueError, match="find_split"):
        _hist.find_split(hist, np.array([3], np.int32), np.array([4, 4], np.uint32),
                         np.zeros(2, np.uint8), np.zeros(2, np.int8), 255, 0.0, 1.0, 10.0,
                         -np.inf, np.inf, 0.0, 1e-3, 1.0, 0.0, 10.0, 10.0,
                         np.zeros(8, np.uint32), 1)


def _best_split_reference(hist_f, nb, mb, G, H, C, l2, msl, min_hess):
    """Every numeric split of one feature, by brute force: (gain, bin, missing_left)."""
    g, h, c = hist_f[0::4], hist_f[1::4], hist_f[2::4]
    best = (0.0, None, None)
    parent = G * G / (H + l2)
    for b in range(nb):
        for ml in ((False, True) if c[mb] > 0 else (False,)):
            left = np.zeros(256, dtype=bool)
            left[:b + 1] = True
            left[mb] = ml
            gl, hl, cl = g[left].sum(), h[left].sum(), c[left].sum()
            gr, hr, cr = G - gl, H - hl, C - cl
            if min(cl, cr) < msl or min(hl, hr) < min_hess:
                continue
            gain = gl * gl / (hl + l2) + gr * gr / (hr + l2) - parent
            if gain > best[0] + 1e-9 * abs(parent):
                best = (gain, b, ml)
    return best


@SETTINGS
@given(n=st.integers(2, 200), nb=st.integers(2, 40), seed=st.integers(0, 2**31 - 1),
       l2=st.sampled_from([0.0, 1.0]), msl=st.sampled_from([1, 5]),
       with_missing=st.booleans())
@example(n=4, nb=2, seed=1, l2=0.0, msl=1, with_missing=True)  # mirrored tie, float32 totals
def test_find_split_matches_brute_force(n, nb, seed, l2, msl, with_missing):
    rng = np.random.RandomState(seed)
    mb = 255
    bins = rng.randint(0, nb, n).astype(np.uint8)
    if with_missing:
        bins[rng.rand(n) < 0.2] = mb
    g = rng.randn(n).astype(np.float32) + 0.5 * (bins.astype(np.float32) > nb / 2)
    h = (0.5 + rng.rand(n)).astype(np.float32)
    X = np.asfortranarray(bins[:, None])
    hist = np.zeros((1, 4 * 256))
    _hist.build_histograms(X, np.arange(n, dtype=np.uint32), 0, n, _gh4(g, h),
                           np.empty((n, 4), np.float32), np.zeros(1, np.int32), hist, 1, 1)
    # the node's totals as the histogram holds them (its bins accumulate the float32
    # gradients in their own order): a float64 sum of g differs in the 7th digit, and
    # mirrored partitions (missing left vs the rest right) then score 1e-7 apart
    G, H, C = (float(hist[0][k::4].sum()) for k in range(3))
    res = _hist.find_split(hist, np.zeros(1, np.int32), np.array([nb], np.uint32),
                           np.zeros(1, np.uint8), np.zeros(1, np.int8), mb, G, H, C,
                           -np.inf, np.inf, l2, 1e-3, float(msl), 0.0, 10.0, 10.0,
                           np.zeros(8, np.uint32), 1)
    gain, b, ml = _best_split_reference(hist[0], nb, mb, G, H, C, l2, msl, 1e-3)
    if b is None:
        assert res is None or res[0] <= 1e-9 * G * G / (H + l2)
        return
    assert res is not None
    assert res[0] == pytest.approx(gain, rel=1e-9, abs=1e-9)
    # the same partition (a tie may pick another bin that splits the samples alike)
    left_ref = (bins <= b) & (bins != mb) | ((bins == mb) & ml)
    left = (bins <= res[2]) & (bins != mb) | ((bins == mb) & res[3])
    assert res[6] == left.sum()
    if not np.array_equal(left, left_ref):
        assert res[0] == pytest.approx(gain, rel=1e-12)


def test_categorical_split_finds_the_best_subset():
    rng = np.random.RandomState(0)
    n, n_cats = 3000, 12
    cats = rng.randint(0, n_cats, n).astype(np.uint8)
    effect = rng.randn(n_cats)
    g = (-(effect[cats]) + 0.1 * rng.randn(n)).astype(np.float32)
    h = np.ones(n, dtype=np.float32)
    hist = np.zeros((1, 4 * 256))
    _hist.build_histograms(np.asfortranarray(cats[:, None]), np.arange(n, dtype=np.uint32),
                           0, n, _gh4(g, h), np.empty((n, 4), np.float32),
                           np.zeros(1, np.int32), hist, 1, 1)
    bits = np.zeros(8, np.uint32)
    G, H = float(g.astype(np.float64).sum()), float(n)
    res = _hist.find_split(hist, np.zeros(1, np.int32), np.array([n_cats], np.uint32),
                           np.ones(1, np.uint8), np.zeros(1, np.int8), 255, G, H, float(n),
                           -np.inf, np.inf, 0.0, 1e-3, 1.0, 0.0, 10.0, 10.0, bits, 1)
    left = np.array([(bits[c >> 5] >> (c & 31)) & 1 for c in range(n_cats)], dtype=bool)
    # brute force over all 2^12 subsets
    gs = np.bincount(cats, weights=g.astype(np.float64), minlength=n_cats)
    cs = np.bincount(cats, minlength=n_cats).astype(float)
    best = 0.0
    for mask in range(1, 2**n_cats - 1):
        sel = np.array([(mask >> c) & 1 for c in range(n_cats)], dtype=bool)
        gl, cl = gs[sel].sum(), cs[sel].sum()
        best = max(best, gl**2 / cl + (G - gl) ** 2 / (n - cl) - G**2 / n)
    assert res[2] == -1 and 0 < left.sum() < n_cats
    assert res[0] == pytest.approx(best, rel=1e-9)


@SETTINGS
@given(n=st.integers(1, 400), seed=st.integers(0, 2**31 - 1), cat=st.booleans(),
       ml=st.booleans(), big=st.booleans())
def test_partition_is_a_stable_partition(n, seed, cat, ml, big):
    rng = np.random.RandomState(seed)
    if big:
        n = 70_000  # the two-pass parallel path (2 threads)
    col = rng.randint(0, 256, n).astype(np.uint8)
    X = np.asfortranarray(col[:, None])
    idx = rng.permutation(n).astype(np.uint32)
    start, stop = n // 4, n - n // 5
    bits = rng.randint(0, 2**32, 8, dtype=np.uint64).astype(np.uint32)
    thr = int(rng.randint(0, 255))
    seg = idx[start:stop].copy()
    b = col[seg]
    if cat:
        go = ((bits[b >> 5] >> (b & 31)) & 1).astype(bool)
    else:
        go = b <= thr
    go = np.where(b == 255, ml, go)
    out = idx.copy()
    nl = _hist.partition(out, start, stop, X, 0, thr, ml, 255, cat, bits,
                         np.empty(n, np.uint32), 2)
    assert nl == go.sum()
    np.testing.assert_array_equal(out[start:stop], np.concatenate([seg[go], seg[~go]]))
    np.testing.assert_array_equal(out[:start], idx[:start])
    np.testing.assert_array_equal(out[stop:], idx[stop:])


def _random_tree(rng, p, depth, n_cat_features):
    """A random tree as NODE_DTYPE records (creation order, not pre-order)."""
    nodes, bitsets = [], []

    def new(d):
        i = len(nodes)
        nodes.append(np.zeros(1, NODE_DTYPE)[0])
        if d == depth or rng.rand() < 0.2:
            nodes[i]["is_leaf"] = 1
            nodes[i]["value"] = rng.randn()
            return i
        f = rng.randint(p)
        nodes[i]["feature"] = f
        nodes[i]["missing_left"] = rng.rand() < 0.5
        if f < n_cat_features:
            nodes[i]["is_categorical"] = 1
            nodes[i]["bitset"] = len(bitsets)
            bitsets.append(rng.randint(0, 2**32, 8, dtype=np.uint64).astype(np.uint32))
        else:
            nodes[i]["bin_threshold"] = rng.randint(0, 20)
            nodes[i]["threshold"] = rng.randn()
        right = new(d + 1)  # children in arbitrary order
        left = new(d + 1)
        nodes[i]["left"], nodes[i]["right"] = left, right
        return i

    new(0)
    bits = (np.array(bitsets, dtype=np.uint32).reshape(-1, 8) if bitsets
            else np.zeros((0, 8), np.uint32))
    return np.array(nodes, dtype=NODE_DTYPE), bits


def _walk(nodes, bits, x, binned, missing_bin):
    i = 0
    while not nodes["is_leaf"][i]:
        v = x[nodes["feature"][i]]
        missing = (v == missing_bin) if binned else np.isnan(v)
        if nodes["is_categorical"][i]:
            if missing or not (0 <= v <= 255):
                left = nodes["missing_left"][i]
            else:
                c = int(v)
                left = (bits[nodes["bitset"][i], c >> 5] >> (c & 31)) & 1
        elif missing:
            left = nodes["missing_left"][i]
        else:
            thr = nodes["bin_threshold"][i] if binned else nodes["threshold"][i]
            left = v <= thr
        i = nodes["left"][i] if left else nodes["right"][i]
    return nodes["value"][i]


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.sampled_from([0, 1, 7, 255, 256, 257, 600]),
       K=st.sampled_from([1, 3]), dtype=st.sampled_from([np.float32, np.float64, np.uint8]))
def test_packed_prediction_matches_a_tree_walk(seed, n, K, dtype):
    rng = np.random.RandomState(seed)
    p = 4
    trees = TreeSet(K)
    raw_trees = []
    for _ in range(2 * K):
        nodes, bits = _random_tree(rng, p, depth=5, n_cat_features=2)
        trees.append(nodes, bits)
        raw_trees.append((nodes, bits))
    if dtype == np.uint8:
        X = rng.randint(0, 30, (n, p)).astype(np.uint8)
        X[rng.rand(n, p) < 0.2] = 255
    else:
        X = rng.randn(n, p).astype(dtype)
        X[:, :2] = rng.randint(-2, 40, (n, 2))
        X[rng.rand(n, p) < 0.2] = np.nan
    out = np.zeros((n, K))
    if dtype == np.uint8:
        trees.predict_binned(X, out, 255, 2)
    else:
        trees.predict_raw(X, out, 2)
    expected = np.zeros((n, K))
    for t, (nodes, bits) in enumerate(raw_trees):
        for i in range(n):
            expected[i, t % K] += _walk(nodes, bits, X[i].astype(np.float64),
                                        dtype == np.uint8, 255)
    np.testing.assert_array_equal(out, expected)


def test_loss_kernels_match_numpy():
    rng = np.random.RandomState(0)
    n, K = 500, 4
    raw = rng.randn(n) * 30
    y = (rng.rand(n) < 0.5).astype(np.float64)
    w = rng.rand(n)
    g = np.empty(n, np.float32)
    h = np.empty(n, np.float32)
    _hist.logistic_gradient_hessian(y, raw, w, g, h, 2)
    p = expit(raw)
    np.testing.assert_allclose(g, w * (p - y), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(h, w * p * (1 - p), rtol=1e-6, atol=1e-30)
    expected = np.average(np.logaddexp(0, raw) - y * raw, weights=w)
    assert _hist.logistic_loss(y, raw, w) == pytest.approx(expected, rel=1e-12)
    raw_k = np.asfortranarray(rng.randn(n, K) * 10)
    yk = rng.randint(0, K, n).astype(np.float64)
    gk = np.empty((n, K), np.float32, order="F")
    hk = np.empty((n, K), np.float32, order="F")
    _hist.softmax_gradient_hessian(yk, raw_k, np.zeros(0), gk, hk, 1)
    pk = softmax(raw_k, axis=1)
    onehot = np.eye(K)[yk.astype(int)]
    np.testing.assert_allclose(gk, pk - onehot, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(hk, pk * (1 - pk), rtol=1e-6, atol=1e-7)
    expected = np.mean(-np.log(pk[np.arange(n), yk.astype(int)]))
    assert _hist.softmax_loss(yk, raw_k, np.zeros(0)) == pytest.approx(expected, rel=1e-10)
