"""MLPClassifier and MLPRegressor: real learning with margins, the architecture options,
labels, class weights, the losses and tuning in a Pipeline under GridSearchCV."""
import numpy as np
import pytest
from scipy.special import xlogy

torch = pytest.importorskip("torch")

from sklearn.datasets import load_diabetes, make_classification  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402

from skml.neural import MLPClassifier, MLPRegressor  # noqa: E402
from skml.neural._modules.mlp import ACTIVATIONS as MODULE_ACTIVATIONS  # noqa: E402
from skml.neural.mlp import ACTIVATIONS  # noqa: E402

from ._util import state_dicts_equal  # noqa: E402

FAST = dict(hidden_layer_sizes=(16,), batch_size=16, learning_rate_init=0.01, random_state=0)

# fixed-length trainings are what these tests want: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_digits_held_out_accuracy_at_least_0_95(digits_split):
    Xtr, Xte, ytr, yte = digits_split
    pipe = make_pipeline(StandardScaler(),
                         MLPClassifier(max_iter=30, batch_size=64, random_state=0))
    acc = pipe.fit(Xtr, ytr).score(Xte, yte)
    assert acc >= 0.95, acc
    proba = pipe.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(pipe.classes_[proba.argmax(1)], pipe.predict(Xte))


def test_diabetes_cross_validated_r2_at_least_0_40():
    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(32,),
                                                        max_iter=30, batch_size=32,
                                                        normalize_y=True, random_state=0))
    cv = KFold(5, shuffle=True, random_state=0)
    r2 = cross_val_score(pipe, X, y, cv=cv).mean()
    linear = cross_val_score(LinearRegression(), X, y, cv=cv).mean()
    assert r2 >= 0.40, r2
    assert r2 > linear - 0.03  # as good as least squares on this nearly linear problem


def test_pipeline_tunes_hidden_layer_sizes_and_lr_under_grid_search(digits_split):
    Xtr, _, ytr, _ = digits_split
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(max_iter=8, batch_size=64, random_state=0))])
    grid = {"mlp__hidden_layer_sizes": [(4,), (64,)], "mlp__learning_rate_init": [1e-5, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=3).fit(Xtr[:600], ytr[:600])
    assert search.best_params_ == {"mlp__hidden_layer_sizes": (64,), "mlp__learning_rate_init": 1e-2}
    assert search.best_score_ > 0.9
    scores = search.cv_results_["mean_test_score"]
    assert scores.max() - scores.min() > 0.3  # the grid really changes the model


def test_activation_names_match_the_modules():
    assert set(ACTIVATIONS) == set(MODULE_ACTIVATIONS)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_trains(activation, blobs):
    X, y = blobs
    clf = MLPClassifier(**FAST, activation=activation, max_iter=20).fit(X, y)
    layer = MODULE_ACTIVATIONS[activation]
    assert any(type(m) is layer for m in clf.module_.modules())
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("norm, layer", [("batch", torch.nn.BatchNorm1d),
                                         ("layer", torch.nn.LayerNorm)])
def test_norm_and_dropout_layers(norm, layer, blobs):
    X, y = blobs
    clf = MLPClassifier(**{**FAST, "hidden_layer_sizes": (16, 8)}, norm=norm, dropout=0.2,
                        max_iter=15).fit(X, y)
    kinds = [type(m) for m in clf.module_]
    assert kinds == [torch.nn.Linear, layer, torch.nn.ReLU, torch.nn.Dropout,
                     torch.nn.Linear, layer, torch.nn.ReLU, torch.nn.Dropout, torch.nn.Linear]
    assert clf.score(X, y) > 0.9


def test_batch_norm_needs_two_samples_per_batch(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="norm='batch' needs batches of at least 2"):
        MLPClassifier(norm="batch", batch_size=1).fit(X, y)


def test_string_labels_multiclass_and_binary(blobs):
    X, y = blobs
    names = np.array(["cat", "dog", "emu"])[y]
    clf = MLPClassifier(**FAST, max_iter=15).fit(X, names)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert clf.module_[-1].out_features == 3
    assert clf.predict(X).dtype == names.dtype and clf.score(X, names) > 0.9
    mask = y < 2
    binary = MLPClassifier(**FAST, max_iter=15).fit(X[mask], names[mask])
    assert binary.module_[-1].out_features == 1  # one logit, BCE-with-logits
    proba = binary.predict_proba(X[mask])
    assert proba.shape == (mask.sum(), 2) and binary.score(X[mask], names[mask]) > 0.9
    np.testing.assert_allclose(binary.predict_log_proba(X[mask]), np.log(proba))
    np.testing.assert_array_equal(binary.classes_[proba.argmax(1)], binary.predict(X[mask]))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_class_weight_moves_predictions_towards_the_heavy_class(n_classes):
    X, y = make_classification(n_samples=300, n_features=5, n_informative=2,
                               n_redundant=0, n_classes=n_classes, n_clusters_per_class=1,
                               class_sep=0.3, random_state=0)
    plain = MLPClassifier(**FAST, max_iter=10).fit(X, y)
    weights = {c: (20.0 if c == 1 else 1.0) for c in range(n_classes)}
    heavy = MLPClassifier(**FAST, max_iter=10, class_weight=weights).fit(X, y)
    assert np.mean(heavy.predict(X) == 1) > np.mean(plain.predict(X) == 1) + 0.15
    # class weights multiply the sample weights: "balanced" is the fit with those weights
    balanced = MLPClassifier(**FAST, max_iter=2, class_weight="balanced").fit(X, y)
    w = compute_class_weight("balanced", classes=np.unique(y), y=y)[y]
    reweighted = MLPClassifier(**FAST, max_iter=2).fit(X, y, sample_weight=w)
    assert state_dicts_equal(balanced, reweighted)


def test_float32_and_float64_outputs_follow_the_input(blobs, regression):
    X, y = blobs
    clf = MLPClassifier(**FAST, max_iter=3).fit(X, y)
    assert clf.predict_proba(X).dtype == np.float64
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    Xr, yr = regression
    reg = MLPRegressor(**FAST, max_iter=3).fit(Xr.astype(np.float32), yr)
    assert reg.predict(Xr).dtype == np.float64 and reg.predict(Xr).shape == (len(Xr),)


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_regression_losses(loss, regression):
    X, y = regression
    reg = MLPRegressor(**FAST, loss=loss, max_iter=30, normalize_y=True).fit(X, y)
    assert reg.score(X, y) > 0.9


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "poisson"])
def test_per_sample_losses_match_their_formulas(loss):
    rng = np.random.RandomState(0)
    out = rng.randn(7, 2)
    t = rng.poisson(3.0, size=(7, 2)).astype(float) if loss == "poisson" else rng.randn(7, 2)
    fn = MLPRegressor(loss=loss)._build_loss(torch.device("cpu"))
    got = fn(torch.as_tensor(out), torch.as_tensor(t)).numpy()
    r = out - t
    expected = {  # scikit-learn's halves; skml's two averaged over the outputs
        "squared_error": 0.5 * np.mean(r ** 2, axis=1),
        "absolute_error": np.mean(np.abs(r), axis=1),
        "huber": np.mean(np.where(np.abs(r) <= 1, 0.5 * r ** 2, np.abs(r) - 0.5), axis=1),
        "poisson": np.sum(xlogy(t, t / np.exp(out)) - t + np.exp(out), axis=1),
    }[loss]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_multi_output_regression_and_target_scaling(regression):
    X, y = regression
    Y = np.column_stack([y, -3.0 * y + 1000.0])
    reg = MLPRegressor(**FAST, max_iter=30, normalize_y=True).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (len(X), 2)
    assert reg.score(X, Y) > 0.9
    # the losses are on the standardised scale, so the huge second target does not
    # dominate; without scaling the same budget learns far less
    raw = MLPRegressor(**FAST, max_iter=30).fit(X, Y)  # scikit-learn's default
    assert raw.score(X, Y) < reg.score(X, Y) - 0.1
    with pytest.raises(ValueError, match="y has 1 outputs, but MLPRegressor was fitted with 2"):
        reg.partial_fit(X, y)


def test_empty_hidden_layers_give_a_linear_model(regression):
    X, y = regression
    reg = MLPRegressor(hidden_layer_sizes=(), learning_rate_init=0.05, max_iter=60,
                       batch_size=16, normalize_y=True, random_state=0).fit(X, y)
    assert [type(m) for m in reg.module_] == [torch.nn.Linear]
    lin = LinearRegression().fit(X, y)
    assert reg.score(X, y) > lin.score(X, y) - 0.01
