"""The training loop of skml.neural._base.NeuralEstimator, exercised through the MLPs:
solvers, schedules, early stopping, partial_fit, seeding, devices, callbacks, the
progress bar, pickling and bad input. (scikit-learn's stopping rules, sample weights and
threads: test_vocabulary.py.)"""
import pickle

import numpy as np
import pytest
from sklearn.base import clone

torch = pytest.importorskip("torch")

from skml.neural import MLPClassifier, MLPRegressor, NeuralEstimator  # noqa: E402
from skml.neural._base import SOLVERS  # noqa: E402

from ._util import state_dicts_equal  # noqa: E402

# fixed-length trainings are what these tests want: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(hidden_layer_sizes=(16,), batch_size=16, learning_rate_init=0.01, random_state=0)


class EpochRecorder:
    """A picklable callback keeping what it was called with."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.rows = []

    def __call__(self, est, row):
        self.rows.append(dict(row))
        row["seen"] = True
        return self.stop_at is not None and row["epoch"] >= self.stop_at


class WeightKeeper:
    """Stores a copy of the weights after every epoch."""

    def __init__(self):
        self.states = []

    def __call__(self, est, row):
        self.states.append({k: v.clone() for k, v in est.module_.state_dict().items()})


def test_base_class_is_abstract():
    with pytest.raises(TypeError):
        NeuralEstimator()


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_trains(solver, blobs):
    X, y = blobs
    lr = {"sgd": 0.1, "adagrad": 0.1}.get(solver, 0.01)
    clf = MLPClassifier(**{**FAST, "learning_rate_init": lr}, solver=solver,
                        max_iter=15).fit(X, y)
    losses = clf.loss_curve_
    assert losses == [r["loss"] for r in clf.history_]
    assert losses[-1] < 0.5 * losses[0]
    assert clf.score(X, y) > 0.9


def test_solver_mapping_onto_torch_optim():
    params = list(torch.nn.Linear(2, 2).parameters())
    est = MLPClassifier(solver="sgd", learning_rate_init=0.05, momentum=0.8)
    group = est._make_optimizer(params).param_groups[0]
    assert (group["momentum"], group["nesterov"], group["lr"]) == (0.8, True, 0.05)
    assert group["fused"] is True  # torch's one-kernel update on the CPU
    est.set_params(momentum=0.0)  # Nesterov needs momentum, as in scikit-learn
    assert est._make_optimizer(params).param_groups[0]["nesterov"] is False
    est.set_params(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    opt = est._make_optimizer(params)
    assert isinstance(opt, torch.optim.Adam)
    assert (opt.param_groups[0]["betas"], opt.param_groups[0]["eps"]) == ((0.8, 0.99), 1e-6)
    est.set_params(solver="adamw", alpha=0.3)
    opt = est._make_optimizer(params)  # decoupled decay of the weight matrix only
    assert isinstance(opt, torch.optim.AdamW)
    assert [(len(g["params"]), g["weight_decay"]) for g in opt.param_groups] == [
        (1, 0.3), (1, 0.0)]
    est.set_params(solver="lbfgs", max_fun=77, tol=1e-5)
    opt = est._make_optimizer(params)
    assert isinstance(opt, torch.optim.LBFGS)
    g = opt.param_groups[0]
    assert (g["max_iter"], g["max_eval"], g["tolerance_grad"], g["line_search_fn"]) == (
        1, 77, 1e-5, "strong_wolfe")


@pytest.mark.parametrize("params, error, match", [
    ({"solver": "nadam"}, ValueError, r"solver must be one of \['adagrad', 'adam'"),
    ({"batch_size": 0}, ValueError, r"batch_size must be"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be"),
    ({"batch_size": "full"}, ValueError, r"batch_size must be one of \['auto'\]"),
    ({"learning_rate_init": 0.0}, ValueError, r"learning_rate_init must be in \(0, inf\)"),
    ({"max_iter": 0}, ValueError, "max_iter must be in"),
    ({"learning_rate": "exp"}, ValueError, "learning_rate must be one of"),
    ({"validation_fraction": 1.0}, ValueError, r"validation_fraction must be in \[0, 1\)"),
    ({"momentum": 1.5}, ValueError, r"momentum must be in \[0, 1\]"),
    ({"beta_2": 1.0}, ValueError, r"beta_2 must be in \[0, 1\)"),
    ({"epsilon": 0.0}, ValueError, r"epsilon must be in \(0, inf\)"),
    ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be"),
    ({"max_fun": 0}, ValueError, "max_fun must be in"),
    ({"n_jobs": 0}, ValueError, "n_jobs must be None or a non-zero int"),
    ({"device": "tpu"}, ValueError, "device must be 'auto', 'cpu', 'cuda'"),
    ({"callbacks": [lambda est, row: None]}, TypeError, r"\(name, callable\) pairs"),
    ({"callbacks": [("a", print), ("a", print)]}, ValueError, "name 'a' more than once"),
    ({"activation": "swish"}, ValueError, "activation must be one of"),
    ({"norm": "group"}, ValueError, "norm must be one of"),
    ({"dropout": 1.0}, ValueError, r"dropout must be in \[0, 1\)"),
    ({"hidden_layer_sizes": (10, 0)}, ValueError, "hidden_layer_sizes must be in"),
    ({"class_weight": "auto"}, ValueError, "class_weight must be None, 'balanced' or a dict"),
])
def test_bad_parameters_fail_at_fit_with_clear_errors(params, error, match, blobs):
    X, y = blobs
    clf = MLPClassifier(**params)  # __init__ never checks
    with pytest.raises(error, match=match):
        clf.fit(X, y)


def test_bad_input_is_refused(blobs):
    X, y = blobs
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPClassifier(**FAST, max_iter=1).fit(X_nan, y)
    clf = MLPClassifier(**FAST, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but MLPClassifier is expecting 5"):
        clf.predict(X[:, :4])
    with pytest.raises(ValueError, match="X has 4 features"):
        clf.partial_fit(X[:, :4], y)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        clf.predict(np.full((2, 5), np.inf))
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(**FAST, max_iter=1).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        MLPClassifier(**FAST, max_iter=1).fit(X, y, sample_weight=-np.ones(len(X)))


def test_a_single_class_is_always_predicted(blobs):
    # scikit-learn's MLPClassifier accepts one class (e.g. a degenerate CV fold)
    X, _ = blobs
    clf = MLPClassifier(**FAST, max_iter=2).fit(X, np.full(len(X), "only"))
    assert list(clf.classes_) == ["only"]
    assert np.all(clf.predict(X) == "only")
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((len(X), 1)))


def test_device_choice():
    est = MLPClassifier(device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert est._resolve_device().type == expected
    assert MLPClassifier(device="cpu")._resolve_device().type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            MLPClassifier(device="cuda")._resolve_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_fails_clearly(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match=r"device='cuda' but CUDA is not available"):
        MLPClassifier(device="cuda").fit(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_predict_and_pickle_to_cpu(blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST, max_iter=10, device="cuda").fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    loaded = pickle.loads(pickle.dumps(clf))
    assert not next(loaded.module_.parameters()).is_cuda
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-5)


def test_same_random_state_gives_identical_weights_and_predictions(blobs):
    X, y = blobs
    params = dict(FAST, max_iter=5, dropout=0.2, norm="batch")
    a = MLPClassifier(**params).fit(X, y)
    b = MLPClassifier(**params).fit(X, y)
    assert state_dicts_equal(a, b)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = MLPClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert not state_dicts_equal(a, c)


def test_fitting_leaves_torch_global_rng_alone(blobs):
    X, y = blobs
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPClassifier(**FAST, max_iter=2, dropout=0.5).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_history_rows_and_fitted_attributes(blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST, max_iter=4).fit(X, y)
    assert clf.n_iter_ == 4 and len(clf.history_) == 4 and clf.t_ == 4 * len(X)
    row = clf.history_[-1]
    assert set(row) == {"epoch", "loss", "validation_score", "learning_rate", "dur"}
    assert [r["epoch"] for r in clf.history_] == [1, 2, 3, 4]
    assert row["validation_score"] is None and clf.validation_scores_ is None
    assert clf.loss_ == row["loss"] == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    clf.fit(X, y)  # refitting starts a new history
    assert clf.n_iter_ == 4 and len(clf.history_) == 4 and len(clf.loss_curve_) == 4


@pytest.mark.parametrize("schedule, expected", [
    ("step", [0.01] * 3 + [0.001] * 3 + [0.0001] * 3),
    ("cosine", [0.005 * (1 + np.cos(np.pi * e / 9)) for e in range(9)]),
])
def test_skml_schedules(schedule, expected, blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST, max_iter=9, learning_rate=schedule,
                        n_iter_no_change=np.inf).fit(X, y)
    np.testing.assert_allclose([r["learning_rate"] for r in clf.history_], expected,
                               rtol=1e-6, atol=1e-12)


def test_early_stopping_stops_and_restores_the_best_weights(digits_split):
    Xtr, _, ytr, _ = digits_split
    keeper = WeightKeeper()
    clf = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.05, batch_size=32,
                        max_iter=60, early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=3, tol=0.0, random_state=0,
                        callbacks=[("keep", keeper)]).fit(Xtr, ytr)
    scores = clf.validation_scores_
    assert clf.n_iter_ < 60 and scores == [r["validation_score"] for r in clf.history_]
    assert all(0.5 < s <= 1.0 for s in scores)  # validation accuracy
    best = int(np.argmax(scores))  # the first epoch reaching the best score
    assert clf.best_validation_score_ == scores[best] and clf.best_loss_ is None
    # scikit-learn's rule with tol=0: a score below the best counts, an equal one resets
    last_at_best = max(i for i, s in enumerate(scores) if s >= scores[best])
    assert clf.n_iter_ - 1 - last_at_best == 3 + 1
    final = clf.module_.state_dict()
    for name, value in keeper.states[best].items():
        assert torch.equal(final[name], value), name


def test_early_stopping_needs_enough_samples():
    X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor(early_stopping=True, max_iter=1).fit(X, y)


def test_l1_and_alpha_shrink_the_weights(blobs):
    X, y = blobs

    def weight_mass(est):
        return sum(float(p.detach().abs().sum())
                   for p in est.module_.parameters() if p.ndim > 1)

    base = MLPClassifier(**FAST, max_iter=20, alpha=0.0).fit(X, y)
    l1 = MLPClassifier(**FAST, max_iter=20, alpha=0.0, l1=0.01).fit(X, y)
    l2 = MLPClassifier(**FAST, max_iter=20, alpha=5.0).fit(X, y)
    decay = MLPClassifier(**FAST, max_iter=20, alpha=1.0, solver="adamw").fit(X, y)
    assert weight_mass(l1) < 0.5 * weight_mass(base)
    assert weight_mass(l2) < 0.8 * weight_mass(base)
    assert weight_mass(decay) < 0.9 * weight_mass(base)
    assert l1.score(X, y) > 0.9


def test_partial_fit_initialises_then_continues(blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST)
    clf.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and list(clf.classes_) == [0, 1, 2]
    before = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    for _ in range(10):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and [r["epoch"] for r in clf.history_] == list(range(1, 12))
    assert clf.t_ == 60 + 10 * len(X) and len(clf.loss_curve_) == 11
    assert any(not torch.equal(before[k], v) for k, v in clf.module_.state_dict().items())
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:3], np.array([0, 1, 7]))
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1])


def test_partial_fit_fine_tunes_a_fitted_model_from_its_weights(regression):
    X, y = regression
    reg = MLPRegressor(**FAST, max_iter=30, normalize_y=True).fit(X, y)
    fitted_score = reg.score(X, y)
    # a fresh model after one epoch is far worse than the fitted one after one more epoch
    fresh = MLPRegressor(**FAST, normalize_y=True).partial_fit(X, y)
    reg.set_params(learning_rate_init=1e-3).partial_fit(X, y)
    assert len(reg.history_) == 31 and reg.history_[-1]["learning_rate"] == 1e-3
    assert reg.score(X, y) > fitted_score - 0.02 > fresh.score(X, y)


def test_partial_fit_is_reproducible(blobs):
    X, y = blobs
    a, b = MLPClassifier(**FAST, dropout=0.3), MLPClassifier(**FAST, dropout=0.3)
    for _ in range(3):
        a.partial_fit(X, y)
        b.partial_fit(X, y)
    assert state_dicts_equal(a, b)


def test_partial_fit_is_not_offered_by_lbfgs_nor_with_early_stopping(blobs):
    X, y = blobs
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPClassifier(solver="sgd"), "partial_fit")
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y)


def test_callbacks_see_every_epoch_and_can_stop_training(blobs):
    X, y = blobs
    rec = EpochRecorder(stop_at=3)
    clf = MLPClassifier(**FAST, max_iter=10, callbacks=[("rec", rec)]).fit(X, y)
    assert clf.n_iter_ == 3 and [r["epoch"] for r in rec.rows] == [1, 2, 3]
    assert all(r.get("seen") for r in clf.history_)  # a callback may annotate its row
    # callbacks are parameters: cloned (deep-copied) and pickled with the estimator
    copy = clone(clf)
    assert copy.callbacks[0][1] is not rec and not hasattr(copy, "history_")
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.callbacks[0][1].rows == rec.rows


def test_callback_may_score_during_training_without_disturbing_it(blobs):
    X, y = blobs
    scores = []

    def score_cb(est, row):
        assert est.module_.training
        scores.append(est.score(X, y))
        assert est.module_.training  # inference restored the train mode

    a = MLPClassifier(**FAST, max_iter=5, dropout=0.3, callbacks=[("s", score_cb)]).fit(X, y)
    b = MLPClassifier(**FAST, max_iter=5, dropout=0.3).fit(X, y)
    assert len(scores) == 5 and state_dicts_equal(a, b)


def test_verbose_shows_a_progress_bar_with_the_loss(blobs, capsys):
    X, y = blobs
    MLPClassifier(**FAST, max_iter=3, verbose=1, early_stopping=True).fit(X, y)
    captured = capsys.readouterr()
    err = captured.err
    assert "MLPClassifier" in err and "loss=" in err and "valid=" in err and "3/3" in err
    assert "Iteration" not in captured.out
    MLPClassifier(**FAST, max_iter=2, verbose=2).fit(X, y)  # + scikit-learn's lines
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out
    MLPClassifier(**FAST, max_iter=3).fit(X, y)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_divergence_is_reported(regression):
    X, y = regression
    with pytest.raises(ValueError, match="diverged in epoch"):
        MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e6,
                     max_iter=20, random_state=0).fit(X * 1e3, y * 1e3)


def test_eval_mode_for_prediction(blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST, max_iter=5, dropout=0.5, norm="batch").fit(X, y)
    assert not clf.module_.training
    # dropout is off and batch norm uses running statistics: rows do not interact
    full = clf.predict_proba(X)
    np.testing.assert_array_equal(full, clf.predict_proba(X))
    np.testing.assert_allclose(clf.predict_proba(X[:1]), full[:1], rtol=1e-5)


def test_pickle_round_trip_stores_cpu_weights_and_no_optimizer(blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST, max_iter=5, norm="batch").fit(X, y)
    assert clf._train_state is not None  # kept in memory for partial_fit
    state = clf.__getstate__()
    assert "module_" not in state and "_train_state" not in state
    assert isinstance(state["_module_state"], bytes)
    blob = pickle.dumps(clf)
    assert b"torch.optim" not in blob
    loaded = pickle.loads(blob)
    assert state_dicts_equal(loaded, clf)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.history_ == clf.history_ and loaded.loss_curve_ == clf.loss_curve_
    loaded.partial_fit(X, y)  # a new optimiser is made on demand
    assert len(loaded.history_) == 6


def test_clone_gives_an_unfitted_copy(blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST, max_iter=2).fit(X, y)
    copy = clone(clf)
    assert not hasattr(copy, "module_") and copy.get_params() == clf.get_params()
