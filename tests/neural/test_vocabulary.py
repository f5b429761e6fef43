"""scikit-learn's MLP vocabulary on NeuralEstimator (issue 13): the sklearn-named
parameters train exactly the network a plain torch loop trains, sample weights equal
repeated rows, scikit-learn's stopping rules and schedules, warm starts, L-BFGS, the
fitted attributes, torch's threads, and parity with scikit-learn's own MLPs."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

torch = pytest.importorskip("torch")

from skml.neural import MLPClassifier, MLPRegressor  # noqa: E402
from skml.neural._modules.mlp import MLP, glorot_uniform_  # noqa: E402

from ._util import state_dicts_equal  # noqa: E402

NO_STOP = dict(tol=0.0, n_iter_no_change=np.inf)  # run exactly max_iter epochs


def _quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# ------------------------------------------------------------------ the same network


def _plain_torch_loop(X, y, *, solver, lr, batch_size, epochs, alpha, random_state,
                      momentum=0.9, nesterov=True):
    """What a user writes by hand: scikit-learn's initialisation, equal-size shuffled
    batches, the cross-entropy plus scikit-learn's L2 term, torch's (fused) optimiser."""
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = glorot_uniform_(MLP(X.shape[1], (16,), int(y.max()) + 1))
    if solver == "adam":  # skml takes torch's fused update where there is one
        opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                              nesterov=nesterov and momentum > 0, fused=True)
    n = len(X)
    n_batches = -(-n // batch_size)
    bounds = [round(i * n / n_batches) for i in range(n_batches + 1)]
    gen = torch.Generator().manual_seed(seed)
    weights = [p for p in model.parameters() if p.ndim > 1]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            idx = perm[lo:hi]
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            loss = loss + 0.5 * alpha * sum((w * w).sum() for w in weights) / (hi - lo)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


@pytest.mark.parametrize("solver, params", [
    ("adam", {}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "nesterov": False}),
    ("sgd", {"momentum": 0.0, "nesterov": True}),
])
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_sklearn_names_train_exactly_the_plain_torch_network(solver, params, alpha, blobs):
    X, y = blobs
    ref = _plain_torch_loop(X, y, solver=solver, lr=0.01, batch_size=16, epochs=4,
                            alpha=alpha, random_state=3, **params)
    clf = _quiet_fit(MLPClassifier(
        hidden_layer_sizes=(16,), solver=solver, learning_rate_init=0.01, batch_size=16,
        max_iter=4, alpha=alpha, random_state=3, momentum=params.get("momentum", 0.9),
        nesterovs_momentum=params.get("nesterov", True), **NO_STOP), X, y)
    got = clf.module_.state_dict()
    for name, value in ref.state_dict().items():
        assert torch.equal(got[name], value), name


# ------------------------------------------------------------------ sample weights


@pytest.mark.parametrize("make, solver", [
    (lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=0), "adam"),
    (lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=0), "lbfgs"),
    (lambda: MLPRegressor(hidden_layer_sizes=(8,), max_iter=15, random_state=0), "sgd"),
    (lambda: MLPRegressor(hidden_layer_sizes=(8,), max_iter=15, random_state=0,
                          normalize_y=True), "adam"),
])
def test_integer_sample_weights_equal_repeated_rows(make, solver, blobs):
    X, y = blobs
    X, y = X[:60], y[:60]
    w = np.random.RandomState(0).randint(0, 4, size=len(X))
    weighted = _quiet_fit(make().set_params(solver=solver, **NO_STOP), X, y,
                          sample_weight=w)
    repeated = _quiet_fit(make().set_params(solver=solver, **NO_STOP),
                          np.repeat(X, w, axis=0), np.repeat(y, w))
    # one full batch (batch_size="auto" on 60 rows): the same loss, summed in another
    # order in float32
    method = "predict_proba" if hasattr(weighted, "predict_proba") else "predict"
    np.testing.assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X),
                               rtol=2e-4, atol=1e-6)
    # and the weights matter
    plain = _quiet_fit(make().set_params(solver=solver, **NO_STOP), X, y)
    assert not np.allclose(plain.coefs_[0], weighted.coefs_[0], rtol=1e-3, atol=1e-4)


def test_sample_weight_with_early_stopping_scores_the_weighted_validation_split():
    # scikit-learn's test_mlp_sample_weight_with_early_stopping: unit weights change
    # nothing, also through the validation split and its weighted score
    X, y = make_regression(n_samples=100, n_features=2, random_state=42)
    params = dict(hidden_layer_sizes=10, early_stopping=True, tol=1e-2,
                  learning_rate_init=0.01, batch_size=10, random_state=42)
    a = MLPRegressor(**params).fit(X, y, sample_weight=np.ones_like(y))
    b = MLPRegressor(**params).fit(X, y)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-5)
    assert a.validation_scores_ == pytest.approx(b.validation_scores_, rel=1e-5)


# ------------------------------------------------------------------ stopping and schedules


def _no_improvement_stop(values, tol, patience, better):
    """The epoch (1-based) at which scikit-learn's rule stops, from a recorded curve."""
    best, count = (-np.inf if better == "higher" else np.inf), 0
    for i, v in enumerate(values, 1):
        worse = v < best + tol if better == "higher" else v > best - tol
        count = count + 1 if worse else 0
        best = max(best, v) if better == "higher" else min(best, v)
        if count > patience:
            return i
    return None


@pytest.mark.parametrize("n_iter_no_change", [1, 3])
def test_training_loss_rule_of_tol_and_n_iter_no_change(n_iter_no_change, blobs):
    X, y = blobs
    # tol so large that no epoch counts as an improvement after the first
    clf = MLPClassifier(hidden_layer_sizes=(8,), tol=1e9, max_iter=50,
                        n_iter_no_change=n_iter_no_change, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged: no warning
        clf.fit(X, y)
    assert clf.n_iter_ == n_iter_no_change + 2
    assert clf._no_improvement_count == n_iter_no_change + 1
    # a real run with a small tol stops where the rule, replayed on loss_curve_, says
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.2,
                        tol=1e-3, n_iter_no_change=n_iter_no_change, max_iter=500,
                        random_state=0).fit(X, y)
    stop = _no_improvement_stop(clf.loss_curve_, 1e-3, n_iter_no_change, "lower")
    assert stop == clf.n_iter_ < 500
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_n_iter_no_change_inf_runs_max_iter_and_warns(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(4,), tol=1e9, n_iter_no_change=np.inf,
                        max_iter=7, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"maximum iterations \(7\) reached"):
        clf.fit(X, y)
    assert clf.n_iter_ == 7 and clf._no_improvement_count == 6


def test_validation_score_rule_replayed_on_validation_scores(digits_split):
    Xtr, _, ytr, _ = digits_split
    clf = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, tol=1e-3,
                        learning_rate_init=0.01, n_iter_no_change=4, max_iter=300,
                        random_state=0).fit(Xtr, ytr)
    scores = clf.validation_scores_
    assert _no_improvement_stop(scores, 1e-3, 4, "higher") == clf.n_iter_ == len(scores)
    assert clf.best_validation_score_ == max(scores) > 0.9


def test_adaptive_rate_divides_by_five_then_stops(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", learning_rate="adaptive",
                        learning_rate_init=0.1, tol=1e9, n_iter_no_change=2, max_iter=500,
                        random_state=0).fit(X, y)
    rates = [r["learning_rate"] for r in clf.history_]
    # a division every n_iter_no_change + 1 epochs (after the first epoch), until the
    # rate is at most 1e-6: then scikit-learn stops
    expected, lr = [0.1, 0.1, 0.1, 0.1], 0.1
    while lr > 1e-6:
        lr /= 5
        expected += [lr] * 3
    assert rates == pytest.approx(expected, rel=1e-12)
    assert clf.n_iter_ == len(expected) < 500


def test_invscaling_rate_and_its_warm_start(blobs):
    X, y = blobs[0][:4], blobs[1][:4]
    clf = MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", learning_rate="invscaling",
                        power_t=0.25, max_iter=3, warm_start=True, random_state=0, **NO_STOP)
    _quiet_fit(clf, X, y)
    # after each epoch: learning_rate_init / (t + 1) ** power_t, t = samples seen
    assert [r["learning_rate"] for r in clf.history_] == pytest.approx(
        [1e-3, 1e-3 / 5 ** 0.25, 1e-3 / 9 ** 0.25])
    _quiet_fit(clf, X, y)  # a warm start makes a new optimiser, as scikit-learn
    assert [r["learning_rate"] for r in clf.history_[3:]] == pytest.approx(
        [1e-3, 1e-3 / 17 ** 0.25, 1e-3 / 21 ** 0.25])
    assert clf.t_ == 24 and clf.n_iter_ == 3
    # scikit-learn's schedules act on solver="sgd" only
    adam = _quiet_fit(clf.set_params(solver="adam", warm_start=False), X, y)
    assert {r["learning_rate"] for r in adam.history_} == {1e-3}


def test_warm_start_continues_the_fitted_network(regression):
    X, y = regression
    params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=5,
                  normalize_y=True, random_state=0, **NO_STOP)
    warm = _quiet_fit(MLPRegressor(**params, warm_start=True), X, y)
    first = list(warm.loss_curve_)
    _quiet_fit(warm, X, y)
    assert warm.n_iter_ == 5 and len(warm.loss_curve_) == 10 and warm.t_ == 10 * len(X)
    assert warm.loss_curve_[5] < 0.5 * first[0]  # continued from the trained weights
    cold = _quiet_fit(MLPRegressor(**params), X, y)
    _quiet_fit(cold, X, y)
    assert cold.loss_curve_ == first  # without warm_start a refit starts over
    with pytest.raises(ValueError, match="warm_start=True continues the fitted network"):
        warm.set_params(hidden_layer_sizes=(8,)).fit(X, y)


def test_warm_start_needs_the_same_classes(blobs):
    X, y = blobs
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, warm_start=True,
                                   random_state=0), X, y)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the "
                                         "same classes"):
        clf.fit(X[y < 2], y[y < 2])


def test_lbfgs_stops_on_max_fun_and_on_its_gradient(regression):
    X, y = regression
    reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=150, max_fun=10,
                       normalize_y=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_fun=10"):
        reg.fit(X, y)
    assert reg.n_iter_ <= 10
    # a linear least-squares problem converges (gradient below tol) well before max_iter
    lin = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", alpha=0.0, tol=1e-5,
                       max_iter=100, normalize_y=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        lin.fit(X, y)
    assert lin.n_iter_ < 100 and lin.score(X, y) > 0.999


# ------------------------------------------------------------------ fitted attributes


def test_coefs_and_intercepts_are_the_network_as_numpy(blobs):
    X, y = blobs
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=3, random_state=0),
                     X, y)
    assert [c.shape for c in clf.coefs_] == [(5, 7), (7, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (3,)]
    assert (clf.n_layers_, clf.n_outputs_, clf.out_activation_) == (4, 3, "softmax")
    h = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0)
    logits = h @ clf.coefs_[-1] + clf.intercepts_[-1]
    p = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), p / p.sum(1, keepdims=True),
                               rtol=1e-4, atol=1e-6)
    clf32 = _quiet_fit(MLPClassifier(hidden_layer_sizes=(7,), max_iter=2, random_state=0),
                       X.astype(np.float32), y)
    assert {c.dtype for c in clf32.coefs_ + clf32.intercepts_} == {np.dtype(np.float32)}
    binary = _quiet_fit(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2), X, y > 0)
    assert (binary.n_outputs_, binary.out_activation_) == (1, "logistic")
    reg = _quiet_fit(MLPRegressor(loss="poisson", hidden_layer_sizes=(3,), max_iter=2),
                     X, np.abs(y))
    assert reg.out_activation_ == "exp"


def test_multilabel_targets(blobs):
    X, Y = make_multilabel_classification(n_samples=80, n_classes=4, random_state=0)
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01,
                                   max_iter=200, random_state=0), X, Y)
    assert (clf.n_outputs_, clf.out_activation_) == (4, "logistic")
    proba = clf.predict_proba(X)
    assert proba.shape == (80, 4) and not np.allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    assert clf.score(X, Y) > 0.9  # subset accuracy


def test_poisson_loss_without_hidden_units_is_a_poisson_glm():
    # scikit-learn's test_mlp_vs_poisson_glm_equivalent: one identity unit and a log link
    from sklearn.linear_model import PoissonRegressor

    rng = np.random.default_rng(0)
    X = np.linspace(0, 1, 100)[:, None]
    y = rng.poisson(np.exp(X[:, 0] + 1))
    glm = PoissonRegressor(alpha=0, tol=1e-7).fit(X, y)
    mlp = MLPRegressor(loss="poisson", hidden_layer_sizes=(1,), activation="identity",
                       alpha=0, solver="lbfgs", tol=1e-7, random_state=1).fit(X, y)
    np.testing.assert_allclose(mlp.predict(X), glm.predict(X), rtol=1e-4)
    with pytest.raises(ValueError, match="negative which is not allowed for Poisson"):
        MLPRegressor(loss="poisson").fit(X, -y)


# ------------------------------------------------------------------ torch threads


class ThreadProbe:
    def __init__(self):
        self.seen = []

    def on_batch_end(self, est, logs):
        self.seen.append(torch.get_num_threads())


def test_threads_are_set_for_the_fit_and_restored(blobs):
    X, y = blobs
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        probe = ThreadProbe()
        small = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=2,
                                         callbacks=[("p", probe)]), X, y)
        assert set(probe.seen) == {1}  # n_jobs=None: a small network runs on one thread
        assert torch.get_num_threads() == 2
        small.predict(X)
        assert torch.get_num_threads() == 2
        probe = ThreadProbe()
        _quiet_fit(small.set_params(n_jobs=3, callbacks=[("p", probe)]), X, y)
        assert set(probe.seen) == {3} and torch.get_num_threads() == 2
        with pytest.raises(ValueError, match="diverged"):  # restored on errors too
            MLPRegressor(solver="sgd", learning_rate_init=1e6, n_jobs=3,
                         max_iter=20).fit(X * 1e3, y * 1e3)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_auto_threads_grow_with_the_work_per_batch_up_to_the_idle_cores(monkeypatch):
    from skml.neural import _base

    clf = MLPClassifier(hidden_layer_sizes=(1024, 1024))
    clf.module_ = MLP(64, (1024, 1024), 10)
    n_params = sum(p.numel() for p in clf.module_.parameters())
    by_work = n_params * 200 // _base._WORK_PER_THREAD
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(64)
        monkeypatch.setattr(_base, "_idle_cores", lambda: 64)
        assert clf._n_threads(200) == min(64, by_work) > 1
        assert clf._n_threads(1) == 1  # one row at a time: no work to share
        monkeypatch.setattr(_base, "_idle_cores", lambda: 3)  # a busy machine
        assert clf._n_threads(200) == 3
        torch.set_num_threads(1)  # never more than torch's current setting
        assert clf._n_threads(200) == 1
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------ parity with sklearn


def test_drop_in_parity_with_scikit_learn_on_digits(digits_split):
    from sklearn.neural_network import MLPClassifier as SkMLP

    Xtr, Xte, ytr, yte = digits_split
    params = dict(hidden_layer_sizes=(64,), max_iter=40, random_state=0)
    ours = _quiet_fit(MLPClassifier(**params), Xtr, ytr).score(Xte, yte)
    theirs = _quiet_fit(SkMLP(**params), Xtr, ytr).score(Xte, yte)
    assert ours > theirs - 0.02 and ours > 0.93, (ours, theirs)


def test_same_seed_same_network_whatever_the_thread_count(blobs):
    X, y = blobs
    a = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                                 n_jobs=1), X, y)
    b = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                                 n_jobs=2), X, y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-5)
    assert state_dicts_equal(a, _quiet_fit(MLPClassifier(
        hidden_layer_sizes=(8,), max_iter=3, random_state=0, n_jobs=1), X, y))


def test_warm_start_may_switch_early_stopping(blobs):
    X, y = blobs
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, warm_start=True,
                                   random_state=0), X, y)
    assert clf.validation_scores_ is None and clf.best_loss_ is not None
    _quiet_fit(clf.set_params(early_stopping=True), X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ and clf.best_loss_ is None
    _quiet_fit(clf.set_params(early_stopping=False), X, y)
    assert clf.best_loss_ == min(clf.loss_curve_)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_reported_loss_includes_scikit_learns_l2_term(solver, blobs):
    # a step too small to move the weights: the recorded loss is the log-loss of the
    # fitted network plus alpha / (2 n) * sum ||W||^2, computed here with NumPy
    X, y = blobs
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(6,), solver=solver, alpha=3.0,
                                   learning_rate_init=1e-12, momentum=0.0, max_iter=1,
                                   random_state=0), X, y)
    proba = clf.predict_proba(X)
    log_loss = -np.mean(np.log(proba[np.arange(len(y)), y]))
    l2 = 3.0 / (2 * len(X)) * sum(np.sum(W ** 2) for W in clf.coefs_)
    assert clf.loss_curve_[0] == pytest.approx(log_loss + l2, rel=1e-5)
