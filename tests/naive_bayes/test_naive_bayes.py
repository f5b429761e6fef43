"""The naive Bayes classifiers against scikit-learn, and their own promises."""
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn import naive_bayes as sk
from sklearn.datasets import load_digits, load_iris, load_wine

from skml.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from tests._sparse_cases import awkward_sparse

LOADERS = {"iris": load_iris, "wine": load_wine, "digits": load_digits}


def split(name):
    X, y = LOADERS[name](return_X_y=True)
    perm = np.random.RandomState(0).permutation(len(X))
    cut = int(0.7 * len(X))
    return X[perm[:cut]], y[perm[:cut]], X[perm[cut:]], y[perm[cut:]]


def weights(n):
    return np.random.RandomState(1).randint(0, 4, n).astype(float)


def assert_same_model(ours, theirs, X):
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-8)
    assert_allclose(ours.predict_log_proba(X), theirs.predict_log_proba(X),
                    rtol=1e-8, atol=1e-8)
    assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("name", list(LOADERS))
@pytest.mark.parametrize("params", [{}, {"var_smoothing": 1e-4}, "priors", "weights"])
def test_gaussian_matches_sklearn(name, params):
    Xtr, ytr, Xte, yte = split(name)
    fit_kw = {}
    if params == "priors":
        n = len(np.unique(ytr))
        params = {"priors": np.arange(1, n + 1) / (n * (n + 1) / 2)}
    elif params == "weights":
        params, fit_kw = {}, {"sample_weight": weights(len(ytr))}
    ours = GaussianNB(**params).fit(Xtr, ytr, **fit_kw)
    theirs = sk.GaussianNB(**params).fit(Xtr, ytr, **fit_kw)
    for attr in ("theta_", "var_", "class_prior_", "class_count_"):
        assert_allclose(getattr(ours, attr), getattr(theirs, attr), rtol=1e-10, atol=1e-12)
    assert ours.epsilon_ == pytest.approx(theirs.epsilon_, rel=1e-12)
    assert_same_model(ours, theirs, Xte)
    assert ours.score(Xte, yte) > 0.7


@pytest.mark.parametrize("cls,sk_cls", [(MultinomialNB, sk.MultinomialNB),
                                        (BernoulliNB, sk.BernoulliNB)])
@pytest.mark.parametrize("params", [
    {}, {"alpha": 0.1}, {"fit_prior": False}, {"alpha": 1e-12, "force_alpha": True},
    {"class_prior": np.arange(1, 11) / 55}, "alpha_array", "weights",
])
def test_discrete_matches_sklearn_on_digits(cls, sk_cls, params):
    Xtr, ytr, Xte, yte = split("digits")
    fit_kw = {}
    if params == "alpha_array":  # (scikit-learn's BernoulliNB fails on an array)
        if cls is BernoulliNB:
            return
        params = {"alpha": np.linspace(0.1, 2, Xtr.shape[1])}
    elif params == "weights":
        params, fit_kw = {}, {"sample_weight": weights(len(ytr))}
    if cls is BernoulliNB:
        params = {**params, "binarize": 7.5}
    ours = cls(**params).fit(Xtr, ytr, **fit_kw)
    theirs = sk_cls(**params).fit(Xtr, ytr, **fit_kw)
    for attr in ("feature_count_", "class_count_", "feature_log_prob_", "class_log_prior_"):
        assert_allclose(getattr(ours, attr), getattr(theirs, attr), rtol=1e-12)
    assert_same_model(ours, theirs, Xte)
    assert ours.score(Xte, yte) > 0.8


@pytest.mark.parametrize("cls,sk_cls", [(GaussianNB, sk.GaussianNB),
                                        (MultinomialNB, sk.MultinomialNB),
                                        (BernoulliNB, sk.BernoulliNB)])
def test_partial_fit_in_batches_gives_the_full_model(cls, sk_cls):
    Xtr, ytr, Xte, _ = split("digits")
    w = weights(len(ytr)) + 1
    full = cls().fit(Xtr, ytr, sample_weight=w)
    batched, sk_batched = cls(), sk_cls()
    for part in np.array_split(np.arange(len(ytr)), 5):
        kw = {"classes": np.arange(10)} if part[0] == 0 else {}
        batched.partial_fit(Xtr[part], ytr[part], sample_weight=w[part], **kw)
        sk_batched.partial_fit(Xtr[part], ytr[part], sample_weight=w[part],
                               classes=np.arange(10))
    # the batches give the model of one fit on all the data
    assert_allclose(batched.predict_proba(Xte), full.predict_proba(Xte), rtol=0,
                    atol=1e-8)
    assert_array_equal(batched.predict(Xte), full.predict(Xte))
    if cls is GaussianNB:
        assert batched.epsilon_ == pytest.approx(full.epsilon_, rel=1e-12)
        assert_allclose(batched.theta_, full.theta_, rtol=1e-12, atol=1e-12)
        assert_allclose(batched.var_, full.var_, rtol=1e-9, atol=1e-12)
        # scikit-learn's batches take epsilon_ from the last batch alone, which moves
        # the variance of pixels that are constant within a class: only the means agree
        assert_allclose(batched.theta_, sk_batched.theta_, rtol=1e-12, atol=1e-12)
    else:
        assert_allclose(batched.feature_log_prob_, full.feature_log_prob_, rtol=1e-12)
        assert_same_model(batched, sk_batched, Xte)


def test_partial_fit_with_a_class_missing_from_the_first_batch():
    Xtr, ytr, Xte, _ = split("iris")
    first = ytr != 2
    ours = GaussianNB().partial_fit(Xtr[first], ytr[first], classes=[0, 1, 2])
    theirs = sk.GaussianNB().partial_fit(Xtr[first], ytr[first], classes=[0, 1, 2])
    assert_same_model(ours, theirs, Xte)
    assert np.all(ours.predict(Xte) != 2)  # no sample yet: prior 0
    ours.partial_fit(Xtr[~first], ytr[~first])
    full = GaussianNB().fit(np.r_[Xtr[first], Xtr[~first]], np.r_[ytr[first], ytr[~first]])
    assert_allclose(ours.predict_proba(Xte), full.predict_proba(Xte), atol=1e-10)
    assert_same_model(full, sk.GaussianNB().fit(Xtr, ytr), Xte)


@pytest.mark.parametrize("cls", [MultinomialNB, BernoulliNB])
def test_sparse_input_gives_the_dense_model(cls):
    Xtr, ytr, Xte, _ = split("digits")
    dense = cls().fit(Xtr, ytr)
    for container in (sparse.csr_matrix, sparse.csc_array):
        sp = cls().fit(container(Xtr), ytr)
        assert_allclose(sp.feature_log_prob_, dense.feature_log_prob_, rtol=1e-13)
        assert_allclose(sp.predict_proba(container(Xte)), dense.predict_proba(Xte),
                        rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("density, dtype, fmt, seed",
                         [(0.05, np.float64, "csr", 0), (0.3, np.float32, "csc", 1),
                          (0.7, np.float64, "csc", 2)])
@pytest.mark.parametrize("cls, params", [(MultinomialNB, {}), (BernoulliNB, {}),
                                         (BernoulliNB, {"binarize": 0.8}),
                                         (BernoulliNB, {"binarize": None})])
def test_awkward_sparse_input_gives_the_dense_model(density, dtype, fmt, seed, cls, params):
    """Explicit stored zeros, empty rows, unsorted indices, both dtypes, CSR and CSC:
    the model and the posteriors of the dense copy, in one fit and by partial_fit."""
    X, dense = awkward_sparse(150, 30, density, seed, dtype, fmt)
    X.data = np.abs(X.data)  # counts/frequencies
    dense = np.abs(dense)
    if params.get("binarize", 0.0) is None:
        X.data = (X.data > 1.0).astype(dtype)
        dense = (dense > 1.0).astype(dtype)
    y = np.random.RandomState(seed).randint(0, 3, 150)
    sw = np.random.RandomState(seed).uniform(0.5, 2.0, 150)
    ref = cls(**params).fit(dense, y, sample_weight=sw)
    ours = cls(**params).fit(X, y, sample_weight=sw)
    assert_allclose(ours.feature_count_, ref.feature_count_, rtol=1e-12)
    assert_same_model(ours, ref, dense)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(dense), rtol=1e-12, atol=1e-15)
    batches = cls(**params)
    for rows in np.array_split(np.arange(150), 3):
        batches.partial_fit(X[rows], y[rows], classes=[0, 1, 2], sample_weight=sw[rows])
    assert_allclose(batches.predict_proba(X), ref.predict_proba(dense), rtol=1e-10)
    # and scikit-learn's model on the same sparse matrix
    theirs = getattr(sk, cls.__name__)(**params).fit(X, y, sample_weight=sw)
    assert_same_model(ours, theirs, X)


def test_sparse_input_with_a_negative_binarize_threshold_is_an_error():
    X = sparse.random(20, 4, density=0.5, format="csr", random_state=0)
    y = np.arange(20) % 2
    dense = BernoulliNB(binarize=-0.5).fit(X.toarray(), y)  # dense: every zero is present
    assert_allclose(dense.feature_count_, [[10] * 4, [10] * 4])
    with pytest.raises(ValueError, match="cannot binarize a sparse matrix with a negative"):
        BernoulliNB(binarize=-0.5).fit(X, y)
    with pytest.raises(ValueError, match="cannot binarize a sparse matrix with a negative"):
        dense.predict(X)


@pytest.mark.parametrize("cls", [GaussianNB, MultinomialNB, BernoulliNB])
def test_string_labels(cls):
    Xtr, ytr, Xte, _ = split("iris")
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = cls().fit(Xtr, names[ytr])
    assert_array_equal(clf.classes_, names)
    assert_array_equal(clf.predict(Xte), names[cls().fit(Xtr, ytr).predict(Xte)])
    loaded = pickle.loads(pickle.dumps(clf))
    assert_array_equal(loaded.predict_proba(Xte), clf.predict_proba(Xte))


def test_log_sum_exp_keeps_tiny_likelihoods_finite():
    # joint log-likelihoods around -1e5: exp underflows to 0 for every class, so the
    # naive posterior would be 0/0; log-sum-exp normalises them exactly
    X = np.array([[1000.0, 0.0], [0.0, 1000.0]]) * 100
    y = np.array([0, 1])
    clf = MultinomialNB().fit(X, y)
    Q = np.array([[30000.0, 29000.0]])
    jll = clf.predict_joint_log_proba(Q)
    assert np.all(np.exp(jll) == 0)
    proba = clf.predict_proba(Q)
    assert np.all(np.isfinite(proba)) and proba.sum() == pytest.approx(1.0)
    assert_allclose(proba, sk.MultinomialNB().fit(X, y).predict_proba(Q), atol=1e-12)


def test_gaussian_posterior_by_hand():
    # two classes, one feature: Bayes' rule with the normal density of Definition 2.14
    X = np.array([[0.0], [2.0], [4.0], [10.0], [12.0]])
    y = np.array([0, 0, 0, 1, 1])
    clf = GaussianNB(var_smoothing=0.0).fit(X, y)
    x = 5.0
    dens = [np.exp(-(x - m) ** 2 / (2 * v)) / np.sqrt(2 * np.pi * v)
            for m, v in [(2.0, 8 / 3), (11.0, 1.0)]]
    post = np.array([0.6 * dens[0], 0.4 * dens[1]])
    assert_allclose(clf.predict_proba([[x]])[0], post / post.sum(), rtol=1e-12)


def test_bad_input_gives_clear_errors():
    X = np.abs(np.random.RandomState(0).randn(8, 3))
    y = np.array([0, 1] * 4)
    with pytest.raises(ValueError, match="Negative values in data passed to MultinomialNB"):
        MultinomialNB().fit(-X, y)
    with pytest.raises(ValueError, match="Negative values in data passed to MultinomialNB"):
        MultinomialNB().fit(sparse.csr_matrix(-X), y)
    for cls in (GaussianNB, MultinomialNB, BernoulliNB):
        with pytest.raises(ValueError, match=r"at least 2 classes, but there is only one "
                                             r"class: 'a'"):
            cls().fit(X, ["a"] * 8)
        X_nan = X.copy()
        X_nan[0, 0] = np.nan
        with pytest.raises(ValueError, match="Input X contains NaN"):
            cls().fit(X_nan, y)
        with pytest.raises(ValueError, match="classes must be passed on the first call"):
            cls().partial_fit(X, y)
        clf = cls().partial_fit(X, y, classes=[0, 1])
        with pytest.raises(ValueError, match=r"target label\(s\) \[2\] in y are not among"):
            clf.partial_fit(X, np.full(8, 2))
        with pytest.raises(ValueError, match="not the same as on the first call"):
            clf.partial_fit(X, y, classes=[0, 1, 2])
        with pytest.raises(ValueError, match="X has 2 features"):
            clf.predict(X[:, :2])
        with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(8,\)"):
            cls().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="The sum of the priors must be 1"):
        GaussianNB(priors=[0.5, 0.6]).fit(X, y)
    with pytest.raises(ValueError, match=r"priors must have one entry per class \(2\)"):
        GaussianNB(priors=[1.0]).fit(X, y)
    with pytest.raises(ValueError, match=r"class_prior must have one entry per class"):
        MultinomialNB(class_prior=[1.0]).fit(X, y)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, inf\]"):
        MultinomialNB(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="var_smoothing must be in"):
        GaussianNB(var_smoothing=-1.0).fit(X, y)
    with pytest.warns(UserWarning, match="alpha too small"):
        MultinomialNB(alpha=0.0, force_alpha=False).fit(X, y)


# ---------------------------------------------------------------------------------------
# Degenerate variances and extreme magnitudes (issue 11 §6)
# ---------------------------------------------------------------------------------------

def test_gaussian_nb_all_constant_features_give_the_prior():
    # scikit-learn returns NaN here (0 / 0 in the standardised distances)
    X = np.ones((6, 2))
    y = [0, 0, 0, 1, 1, 1]
    for priors in (None, [0.3, 0.7]):
        clf = GaussianNB(priors=priors).fit(X, y)
        expected = [0.5, 0.5] if priors is None else priors
        for x in ([1.0, 1.0], [5.0, -3.0]):
            assert_allclose(clf.predict_proba([x]), [expected], rtol=1e-12)
        assert np.all(np.isfinite(clf.predict_joint_log_proba([[5.0, -3.0]])))


def test_gaussian_nb_zero_smoothing_with_features_constant_within_a_class():
    # var_smoothing=0 and feature 0 constant within each class: the class whose value x
    # has wins outright; where x says nothing (halfway, or far away), feature 1 decides
    # exactly as the same model without feature 0 does
    X = np.array([[0.0, 1], [0, 2], [0, 3], [1, 1], [1, 5], [1, 3]])
    y = [0, 0, 0, 1, 1, 1]
    clf = GaussianNB(var_smoothing=0).fit(X, y)
    assert_allclose(clf.predict_proba([[0.0, 2.0], [1.0, 2.0], [0.4, 2.0]]),
                    [[1, 0], [0, 1], [1, 0]], atol=1e-12)
    feature_1 = sk.GaussianNB(var_smoothing=0).fit(X[:, 1:], y)
    for x0 in (0.5, 1e200):
        assert_allclose(clf.predict_proba([[x0, 2.0]]),
                        feature_1.predict_proba([[2.0]]), rtol=1e-9)


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-300])
def test_gaussian_nb_huge_and_tiny_data_give_the_posteriors_of_the_plain_data(scale):
    # the variances overflowed or underflowed: NaN probabilities
    X, y, X_test, _ = split("iris")
    ref = sk.GaussianNB().fit(X, y)
    ours = GaussianNB().fit(X * scale, y)
    assert_allclose(ours.predict_proba(X_test * scale), ref.predict_proba(X_test),
                    rtol=1e-9, atol=1e-12)
    assert_allclose(ours.theta_ / scale, ref.theta_, rtol=1e-12)
    with np.errstate(over="ignore", under="ignore"):
        expected = ref.var_ * scale * scale
    assert_allclose(ours.var_, expected, rtol=1e-9)
    # the joint log-likelihood shifts by -n_features log(scale) per sample
    assert_allclose(ours.predict_joint_log_proba(X_test * scale),
                    ref.predict_joint_log_proba(X_test) - 4 * np.log(scale), rtol=1e-9)
