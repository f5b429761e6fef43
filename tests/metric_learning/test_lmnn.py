"""LMNN: the gradient is the loss's, and the learned metric helps a kNN classifier."""
import warnings

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from skml.metric_learning import LMNN
from skml.metric_learning._lmnn import _Objective, _target_neighbours
from skml.metrics import mahalanobis_distances, pairwise_distances


def test_lmnn_beats_plain_knn_on_unscaled_wine():
    # wine's features differ in scale by three orders of magnitude (proline ~ 1000),
    # so plain Euclidean 3-NN is poor; LMNN learns a metric that fixes it.
    X, y = load_wine(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    plain = cross_val_score(KNeighborsClassifier(3), X, y, cv=cv).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learned = cross_val_score(make_pipeline(LMNN(n_neighbors=3), KNeighborsClassifier(3)),
                                  X, y, cv=cv).mean()
    assert learned >= plain + 0.05, (learned, plain)


def test_loss_and_gradient_agree_with_finite_differences():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    rows, cols = _target_neighbours(X, y, 3, None)
    obj = _Objective(X, y, rows, cols, 0.5, 3)
    obj.block = 37  # several blocks of rows, one of them ragged
    L = np.random.RandomState(0).randn(3 * 4) * 0.5
    loss, grad = obj(L)
    num = approx_fprime(L, lambda v: obj(v)[0], 1e-7)
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-4 * np.abs(grad).max())
    # the loss from its definition, one triplet at a time
    Z = X @ L.reshape(3, 4).T
    D = pairwise_distances(Z, metric="sqeuclidean")
    pull = sum(D[i, j] for i, j in zip(rows, cols))
    push = sum(max(0.0, 1 + D[i, j] - D[i, l]) for i, j in zip(rows, cols)
               for l in np.flatnonzero(y != y[i]))
    np.testing.assert_allclose(loss, 0.5 * pull + 0.5 * push, rtol=1e-8)


def test_target_neighbours_are_same_class_nearest_points():
    X, y = load_iris(return_X_y=True)
    rows, cols = _target_neighbours(X, y, 3, None)
    assert rows.size == 3 * len(X)
    assert np.all(y[rows] == y[cols]) and np.all(rows != cols)
    # squared distances from the differences (no GEMM rounding), ties to the smaller index
    D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    for i in (0, 70, 140):
        same = np.flatnonzero((y == y[i]) & (np.arange(len(y)) != i))
        nearest = same[np.argsort(D[i, same], kind="stable")[:3]]
        assert set(cols[rows == i]) == set(nearest)


def test_transform_and_mahalanobis_matrix_define_the_same_distance():
    X, y = load_iris(return_X_y=True)
    lmnn = LMNN(n_components=2, max_iter=30).fit(X, y)
    assert lmnn.components_.shape == (2, 4) and lmnn.n_iter_ >= 1
    M = lmnn.get_mahalanobis_matrix()
    np.testing.assert_allclose(M, M.T)
    assert np.linalg.eigvalsh(M).min() > -1e-10
    np.testing.assert_allclose(pairwise_distances(lmnn.transform(X)),
                               mahalanobis_distances(X, VI=M), atol=1e-6)


def test_init_options_and_errors():
    X, y = load_iris(return_X_y=True)
    L0 = np.eye(4)[:2]
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=1"):
        fitted = LMNN(n_components=2, init=L0, max_iter=1).fit(X, y)
    assert fitted.components_.shape == (2, 4)
    with pytest.raises(ValueError, match="init must have shape"):
        LMNN(n_components=3, init=L0).fit(X, y)
    with pytest.raises(ValueError, match="init must be one of"):
        LMNN(init="lda").fit(X, y)
    with pytest.raises(ValueError, match="push_weight must be in"):
        LMNN(push_weight=1.5).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LMNN().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        LMNN().fit(X, X[:, 0] + 0.5)


@pytest.mark.parametrize("exponent", [530, 996, -996])
def test_huge_and_tiny_data_learn_the_same_metric(exponent):
    # issue 11 §1: LMNN on |x| ~ 1e160 raised IndexError (the neighbour search's
    # sentinel index), and at 1e-300 the loss was wrong. The loss depends on the
    # differences only and L scales as 1/scale, an exact property: with a power of two
    # (2**530 ~ 3.5e159, 2**996 ~ 6.7e299, 2**-996) every step rounds the same way.
    X, y = load_iris(return_X_y=True)
    ref = LMNN(random_state=0).fit(X, y)
    ours = LMNN(random_state=0).fit(np.ldexp(X, exponent), y)
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-12)
    np.testing.assert_allclose(np.ldexp(ours.components_, exponent), ref.components_,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.transform(np.ldexp(X, exponent)), ref.transform(X),
                               rtol=1e-12, atol=1e-12)


def test_data_far_from_the_origin_learns_as_good_a_metric():
    # an offset of 1e8 times the spread cancelled in |a|^2 + |b|^2 - 2ab (loss 12101
    # against 161 for the same data at the origin)
    X, y = load_iris(return_X_y=True)
    ref = LMNN(random_state=0).fit(X, y)
    ours = LMNN(random_state=0).fit(X + 1e8, y)
    assert ours.loss_ < 1.01 * ref.loss_
    knn = KNeighborsClassifier(3)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    a = cross_val_score(knn, ours.transform(X + 1e8), y, cv=cv).mean()
    b = cross_val_score(knn, ref.transform(X), y, cv=cv).mean()
    assert a >= b - 0.01


def test_target_neighbours_are_checked_before_use(monkeypatch):
    import skml.metric_learning._lmnn as M

    X, y = load_iris(return_X_y=True)
    monkeypatch.setattr(M, "kneighbors_brute", lambda X, Y, k, **kw: (
        np.ones((len(X), k)), np.full((len(X), k), len(X))))
    with pytest.raises(ValueError, match="LMNN cannot use it"):
        LMNN().fit(X, y)


def test_verbose_reports_stages_and_iterations(capsys):
    X, y = load_iris(return_X_y=True)
    quiet = LMNN(max_iter=20).fit(X, y)
    loud = LMNN(max_iter=20, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "[LMNN] 450 target pairs (3 per point)" in out
    assert f"[LMNN] {loud.n_iter_} iterations, loss" in out
    np.testing.assert_array_equal(loud.components_, quiet.components_)
    LMNN(max_iter=5).fit(X, y)
    assert capsys.readouterr().out == ""
