"""The extension points of the training loop (issue 12): ``_build_optimizers`` (several
optimisers; L-BFGS through the step's closure), ``_train_step`` (a dict of losses, all
averaged into ``history_``), ``_batches`` (a model's own collation), callback objects,
and training-only randomness drawn in the step from the loop's generator."""
from skml.neural._base import training_params
import inspect

import numpy as np
import pytest
from sklearn.base import RegressorMixin

torch = pytest.importorskip("torch")

from skml.neural import VAE, AutoEncoder, MLPRegressor, NeuralEstimator  # noqa: E402

# fixed-length trainings are what these tests want: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
from skml.neural._docs import TRAINING_PARAMS  # noqa: E402
from skml.utils import all_estimators  # noqa: E402

from ._util import state_dicts_equal  # noqa: E402

NEURAL = [cls for _, cls in all_estimators() if issubclass(cls, NeuralEstimator)]


# ------------------------------------------------------------------ shared vocabulary

def _training_defaults():
    sig = inspect.signature(NeuralEstimator.__init__)
    return {name: p.default for name, p in sig.parameters.items() if name != "self"}


def test_neural_estimators_are_discovered():
    assert {c.__name__ for c in NEURAL} >= {"MLPClassifier", "MLPRegressor", "AutoEncoder",
                                            "VAE"}


@pytest.mark.parametrize("cls", NEURAL, ids=lambda c: c.__name__)
def test_every_neural_estimator_has_the_training_parameters_with_the_base_defaults(cls):
    params = inspect.signature(cls.__init__).parameters
    for name, default in _training_defaults().items():
        assert name in params, f"{cls.__name__} lacks the training parameter {name}"
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params[name].default == default, (name, params[name].default, default)
    est = cls()
    for name, default in _training_defaults().items():  # stored under the same name
        assert getattr(est, name) == default, name


@pytest.mark.parametrize("cls", NEURAL, ids=lambda c: c.__name__)
def test_every_neural_estimator_documents_them_through_the_shared_template(cls):
    assert TRAINING_PARAMS in cls.__doc__
    assert "%(" not in cls.__doc__  # every placeholder filled


def test_the_template_documents_exactly_the_training_parameters():
    documented = [line.split(" : ")[0].strip() for line in TRAINING_PARAMS.splitlines()
                  if line.startswith("    ") and not line.startswith("     ")
                  and " : " in line]
    assert documented == list(_training_defaults())


# ------------------------------------------------------------------ callbacks


class Recorder:
    """A callback object with both hooks (picklable: module level)."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.batches, self.epochs = [], []

    def on_batch_end(self, est, logs):
        self.batches.append(dict(logs))

    def on_epoch_end(self, est, row):
        self.epochs.append(dict(row))
        return self.stop_after is not None and len(self.epochs) >= self.stop_after


class EpochOnly:
    def __init__(self):
        self.n = 0

    def on_epoch_end(self, est, row):
        self.n += 1


def test_callback_objects_get_batch_and_epoch_events(regression):
    X, y = regression  # 120 rows, batch_size 50 -> batches of 40
    rec, ep = Recorder(stop_after=3), EpochOnly()
    reg = MLPRegressor(hidden_layer_sizes=(8,), batch_size=50, max_iter=10, random_state=0,
                       callbacks=[("rec", rec), ("ep", ep)]).fit(X, y)
    assert reg.n_iter_ == 3 and len(rec.epochs) == 3 and ep.n == 3  # stopped by rec
    assert len(rec.batches) == 3 * 3
    assert [b["n_samples"] for b in rec.batches[:3]] == [40, 40, 40]
    assert [(b["epoch"], b["batch"]) for b in rec.batches[:4]] == [(1, 1), (1, 2), (1, 3),
                                                                  (2, 1)]
    # the epoch's training loss is the size-weighted mean of its batches' losses
    for e, row in enumerate(reg.history_):
        per_batch = rec.batches[3 * e:3 * e + 3]
        expected = sum(b["loss"] * b["n_samples"] for b in per_batch) / len(X)
        assert row["loss"] == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------ training randomness


def test_networks_draw_no_random_numbers_in_forward(digits_split):
    Xtr = digits_split[0][:100]
    x = torch.as_tensor(Xtr, dtype=torch.float32)
    ae = AutoEncoder(hidden_layer_sizes=(16,), denoising=0.5, max_iter=1,
                     random_state=0).fit(Xtr)
    vae = VAE(hidden_layer_sizes=(16,), max_iter=1, random_state=0).fit(Xtr)
    for module in (ae.module_, vae.module_):
        module.train()
        state = torch.get_rng_state()
        a, b = module(x), module(x)
        assert torch.equal(torch.get_rng_state(), state)
        assert all(torch.equal(p, q) for p, q in zip(a, b))
    eps = torch.randn(len(x), 2, generator=torch.Generator().manual_seed(0))
    out, mu, log_var = vae.module_(x, eps)  # z = mu + sigma * eps, given eps
    torch.testing.assert_close(out, vae.module_.decode(mu + torch.exp(0.5 * log_var) * eps))


@pytest.mark.parametrize("make", [
    lambda seed: AutoEncoder(hidden_layer_sizes=(16,), denoising=0.3, max_iter=3,
                             random_state=seed),
    lambda seed: VAE(hidden_layer_sizes=(16,), max_iter=3, random_state=seed),
], ids=["denoising", "vae"])
def test_training_noise_is_seeded_by_random_state(make, digits_split):
    Xtr = digits_split[0][:200]
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    a = make(0).fit(Xtr)
    assert torch.equal(torch.rand(2), expected)  # the caller's RNG is untouched
    assert state_dicts_equal(a, make(0).fit(Xtr))
    assert not state_dicts_equal(a, make(1).fit(Xtr))


# ------------------------------------------------------------------ several optimisers


class TwoHeads(RegressorMixin, NeuralEstimator):
    """Two linear heads, each with its own optimiser (the second at twice the rate), and
    a step returning three losses: the shape of a GAN's step."""

    def __init__(self, *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        X = np.asarray(X, dtype=np.float32)
        self.n_features_in_ = X.shape[1]
        return X, np.asarray(y, dtype=np.float32)

    def _build_module(self):
        return torch.nn.ModuleDict({"a": torch.nn.Linear(self.n_features_in_, 1),
                                    "b": torch.nn.Linear(self.n_features_in_, 1)})

    def _build_loss(self, device):
        return torch.nn.functional.mse_loss

    def _build_optimizers(self, module):
        lr = float(self.learning_rate_init)
        return {"a": torch.optim.SGD(module["a"].parameters(), lr=lr),
                "b": torch.optim.SGD(module["b"].parameters(), lr=2 * lr)}

    def _train_step(self, batch, optimizers):
        x, t = batch
        m = self.module_
        n = len(x)
        la = self._optimizer_step(optimizers["a"], lambda: self._loss_fn(m["a"](x)[:, 0], t), n)
        lb = self._optimizer_step(optimizers["b"], lambda: self._loss_fn(m["b"](x)[:, 0], t), n)
        return {"loss": la + lb, "loss_a": la, "loss_b": lb}

    def predict(self, X):
        return self.module_["a"](torch.as_tensor(X, dtype=torch.float32)).detach().numpy()


def test_two_optimisers_their_rates_and_every_loss_in_the_history(regression):
    X, y = regression
    X, y = X / X.std(0), (y - y.mean()) / y.std()
    rec = Recorder()
    est = TwoHeads(solver="sgd", learning_rate_init=0.05, batch_size=40, max_iter=9,
                   learning_rate="step", n_iter_no_change=np.inf, random_state=0,
                   callbacks=[("rec", rec)]).fit(X, y)
    opts = est._train_state["optimizers"]
    assert set(opts) == {"a", "b"}
    # the schedule scales both, keeping the ratio the optimisers were built with
    assert opts["a"].param_groups[0]["lr"] == pytest.approx(0.05 * 0.01)
    assert opts["b"].param_groups[0]["lr"] == pytest.approx(0.1 * 0.01)
    for e, row in enumerate(est.history_):
        batches = rec.batches[3 * e:3 * e + 3]
        for key in ("loss_a", "loss_b"):
            expected = sum(b[key] * b["n_samples"] for b in batches) / len(X)
            assert row[key] == pytest.approx(expected, rel=1e-6)
        assert row["loss"] == pytest.approx(row["loss_a"] + row["loss_b"], rel=1e-6)
    # both heads learn (the target is nearly linear)
    first, last = est.history_[0], est.history_[-1]
    assert last["loss_a"] < 0.25 * first["loss_a"] and last["loss_b"] < 0.25 * first["loss_b"]


# ------------------------------------------------------------------ L-BFGS via the closure


def test_lbfgs_runs_through_the_steps_closure():
    # solver="lbfgs" is torch's LBFGS, stepped through the default step's closure (its
    # line search re-evaluates the loss): an exact linear fit matches least squares
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4)
    coef = np.array([1.5, -2.0, 0.5, 3.0])
    y = X @ coef + 0.7
    reg = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", alpha=0.0, max_iter=50,
                       random_state=0).fit(X, y)
    assert reg.n_iter_ < 50  # converged (tol on the gradient), no warning
    np.testing.assert_allclose(reg.coefs_[0][:, 0], coef, atol=1e-4)
    np.testing.assert_allclose(reg.intercepts_[0], [0.7], atol=1e-4)


# ------------------------------------------------------------------ a model's own batching


class SetSumRegressor(RegressorMixin, NeuralEstimator):
    """Learns y = sum of a variable-size set of numbers: samples are ragged, so batches
    are collated by concatenation with a segment index (as a GNN batches graphs)."""

    def __init__(self, *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        self.n_features_in_ = 1
        return [np.asarray(s, dtype=np.float32) for s in X], np.asarray(y, np.float32)

    def _build_module(self):
        return torch.nn.Linear(1, 1)

    def _build_loss(self, device):
        return torch.nn.functional.mse_loss

    def _batches(self, data, generator):
        sets, y = data
        order = torch.randperm(len(sets), generator=generator)
        size = int(self.batch_size)
        for lo in range(0, len(sets), size):
            idx = order[lo:lo + size]
            members = [torch.from_numpy(sets[int(i)]) for i in idx]
            seg = torch.cat([torch.full((len(m),), j) for j, m in enumerate(members)])
            yield torch.cat(members)[:, None], seg, y[idx]

    def _n_samples(self, data):
        return len(data[-1])

    def _train_step(self, batch, optimizers):
        values, seg, t = batch
        (opt,) = optimizers.values()

        def loss():
            per_value = self.module_(values)[:, 0]
            pred = torch.zeros(len(t)).index_add_(0, seg, per_value)
            return self._loss_fn(pred, t)

        return {"loss": self._optimizer_step(opt, loss, len(t))}


def test_a_model_supplies_its_own_collation():
    rng = np.random.RandomState(0)
    sets = [rng.randn(rng.randint(1, 6)) for _ in range(120)]
    y = np.array([s.sum() for s in sets])
    rec = Recorder()
    est = SetSumRegressor(learning_rate_init=0.05, batch_size=32, max_iter=60,
                          n_iter_no_change=np.inf, random_state=0,
                          callbacks=[("rec", rec)]).fit(sets, y)
    assert [b["n_samples"] for b in rec.batches[:4]] == [32, 32, 32, 24]
    lin = est.module_
    assert lin.weight.item() == pytest.approx(1.0, abs=0.02)
    assert lin.bias.item() == pytest.approx(0.0, abs=0.02)
    assert est.history_[-1]["loss"] < 1e-3


def test_a_model_without_weights_refuses_sample_weight(regression):
    X, y = regression
    with pytest.raises(ValueError, match="TwoHeads does not support sample_weight"):
        TwoHeads(max_iter=1).fit(X, y, sample_weight=np.ones(len(X)))


class SometimesReports(TwoHeads):
    """Reports head b's loss every other batch only (a GAN stepping its generator every
    n_critic batches)."""

    def _train_step(self, batch, optimizers):
        out = super()._train_step(batch, optimizers)
        self._count = getattr(self, "_count", 0) + 1
        if self._count % 2:
            del out["loss_b"]
        return out


def test_a_loss_reported_by_some_batches_is_averaged_over_those(regression):
    X, y = regression
    rec = Recorder()
    est = SometimesReports(solver="sgd", learning_rate_init=0.01, batch_size=40, max_iter=2,
                           random_state=0, callbacks=[("rec", rec)]).fit(X, y)
    for e, row in enumerate(est.history_):
        batches = [b for b in rec.batches if b["epoch"] == e + 1 and "loss_b" in b]
        expected = (sum(b["loss_b"] * b["n_samples"] for b in batches)
                    / sum(b["n_samples"] for b in batches))
        assert row["loss_b"] == pytest.approx(expected, rel=1e-6)


def test_module_computing_its_own_losses_is_trained_on_their_sum_and_records_each():
    """A module whose ``_build_loss`` is None (a detector's contract) returns a dict of
    losses from ``module(inputs, target)``: the default step minimises their sum and
    ``history_`` records every part, whose sum equals the recorded total."""
    torch = pytest.importorskip("torch")
    from skml.neural.mlp import MLPRegressor

    class TwoLosses(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x, target=None):
            out = self.inner(x)
            if not self.training:
                return out
            return {"mse": ((out - target.reshape(out.shape)) ** 2).mean(),
                    "l1": out.abs().mean() * 0.1}

    class SelfLossRegressor(MLPRegressor):
        def _build_module(self):
            return TwoLosses(super()._build_module())

        def _build_loss(self, device):
            return None

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5], dtype=np.float32)
    est = SelfLossRegressor(hidden_layer_sizes=(8,), max_iter=30, alpha=0.0,
                            learning_rate_init=0.05,
                            random_state=0, batch_size=64, shuffle=False).fit(X, y)
    first, last = est.history_[0], est.history_[-1]
    assert {"loss", "mse", "l1"} <= set(last)
    assert last["loss"] == pytest.approx(last["mse"] + last["l1"], rel=1e-5)
    assert last["mse"] < 0.5 * first["mse"]


def test_module_losses_must_be_a_dict():
    torch = pytest.importorskip("torch")
    from skml.neural.mlp import MLPRegressor

    class TensorOut(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x, target=None):
            return self.inner(x)

    class NoLoss(MLPRegressor):
        def _build_module(self):
            return TensorOut(super()._build_module())

        def _build_loss(self, device):
            return None

    X = np.zeros((8, 2), dtype=np.float32)
    with pytest.raises(TypeError, match="must return a non-empty dict of scalar losses"):
        NoLoss(hidden_layer_sizes=(4,), max_iter=1).fit(X, np.zeros(8))
