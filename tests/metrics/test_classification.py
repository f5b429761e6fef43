"""Specificity, NPV and PPV against scikit-learn: each is a recall or a precision of a
one-vs-rest relabelling, which sklearn computes independently."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import precision_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from skml.metrics import (
    dice_score,
    get_scorer,
    get_scorer_names,
    iou_score,
    negative_predictive_value,
    positive_predictive_value,
    specificity_score,
)

RNG = np.random.RandomState(0)
Y_TRUE = RNG.randint(0, 4, 200)
Y_PRED = np.where(RNG.rand(200) < 0.6, Y_TRUE, RNG.randint(0, 4, 200))
WEIGHTS = RNG.rand(200)


def _per_class_reference(kind, y_true, y_pred, labels, sample_weight=None):
    """Specificity of class k = recall of "not k"; NPV of k = precision of "not k"."""
    out = []
    for k in labels:
        t, p = (y_true != k).astype(int), (y_pred != k).astype(int)
        fn = recall_score if kind == "specificity" else precision_score
        out.append(fn(t, p, sample_weight=sample_weight, zero_division=0))
    return np.array(out)


@pytest.mark.parametrize("kind, func", [("specificity", specificity_score),
                                        ("npv", negative_predictive_value)])
@pytest.mark.parametrize("weighted", [False, True])
def test_per_class_and_averages_match_sklearn_on_one_vs_rest(kind, func, weighted):
    sw = WEIGHTS if weighted else None
    labels = np.arange(4)
    ref = _per_class_reference(kind, Y_TRUE, Y_PRED, labels, sw)
    np.testing.assert_allclose(func(Y_TRUE, Y_PRED, average=None, sample_weight=sw), ref,
                               rtol=1e-12)
    assert func(Y_TRUE, Y_PRED, average="macro", sample_weight=sw) == pytest.approx(
        ref.mean(), rel=1e-12)
    support = np.array([(sw if weighted else np.ones(200))[Y_TRUE == k].sum()
                        for k in labels])
    assert func(Y_TRUE, Y_PRED, average="weighted", sample_weight=sw) == pytest.approx(
        np.average(ref, weights=support), rel=1e-12)
    # micro: pool the one-vs-rest problems, i.e. stack them and score the stack once
    t = np.concatenate([(Y_TRUE != k).astype(int) for k in labels])
    p = np.concatenate([(Y_PRED != k).astype(int) for k in labels])
    w = None if sw is None else np.tile(sw, 4)
    pooled = (recall_score if kind == "specificity" else precision_score)(
        t, p, sample_weight=w)
    assert func(Y_TRUE, Y_PRED, average="micro", sample_weight=sw) == pytest.approx(
        pooled, rel=1e-12)


def test_binary_is_the_negative_class_recall_and_precision():
    y_true = RNG.randint(0, 2, 100)
    y_pred = np.where(RNG.rand(100) < 0.7, y_true, 1 - y_true)
    assert specificity_score(y_true, y_pred) == pytest.approx(
        recall_score(y_true, y_pred, pos_label=0))
    assert negative_predictive_value(y_true, y_pred) == pytest.approx(
        precision_score(y_true, y_pred, pos_label=0))
    # string labels and pos_label
    names = np.array(["ham", "spam"])
    assert specificity_score(names[y_true], names[y_pred], pos_label="spam") == \
        pytest.approx(recall_score(y_true, y_pred, pos_label=0))
    # the notes' table: TN=3, FP=1, FN=1, TP=1
    assert specificity_score([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0]) == 0.75
    assert negative_predictive_value([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0]) == 0.75


def test_ppv_is_sklearn_precision_for_every_average():
    for average in (None, "micro", "macro", "weighted"):
        np.testing.assert_array_equal(
            positive_predictive_value(Y_TRUE, Y_PRED, average=average),
            precision_score(Y_TRUE, Y_PRED, average=average))


def test_multilabel_samples_average():
    y_true = RNG.randint(0, 2, (50, 3))
    y_pred = RNG.randint(0, 2, (50, 3))
    per_sample = []
    for t, p in zip(y_true, y_pred):
        tn = np.sum((t == 0) & (p == 0))
        fp = np.sum((t == 0) & (p == 1))
        per_sample.append(tn / (tn + fp) if tn + fp else 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        got = specificity_score(y_true, y_pred, average="samples")
    assert got == pytest.approx(np.mean(per_sample))


def test_zero_division_follows_sklearn():
    # class 2 is never true: tn + fn == 0 cannot happen, but for NPV a class that is
    # always predicted leaves no negative prediction
    y_true, y_pred = [0, 1, 1], [1, 1, 1]
    with pytest.warns(UndefinedMetricWarning, match="Negative predictive value"):
        assert negative_predictive_value(y_true, y_pred) == 0.0
    assert negative_predictive_value(y_true, y_pred, zero_division=1.0) == 1.0
    assert np.isnan(negative_predictive_value(y_true, y_pred, zero_division=np.nan))
    # NaN classes are left out of the macro average
    values = negative_predictive_value([0, 1, 2], [0, 1, 1], average=None,
                                       zero_division=np.nan)
    assert negative_predictive_value([0, 1, 2], [0, 1, 1], average="macro",
                                     zero_division=np.nan) == pytest.approx(
        np.nanmean(values))


def test_bad_input_raises_naming_the_problem():
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        specificity_score(Y_TRUE, Y_PRED)
    with pytest.raises(ValueError, match="pos_label=2 is not a valid label"):
        specificity_score([0, 1], [1, 0], pos_label=2)
    with pytest.raises(ValueError, match="average must be one of"):
        specificity_score([0, 1], [1, 0], average="mean")
    with pytest.raises(ValueError, match="zero_division must be"):
        specificity_score([0, 1], [1, 0], zero_division=2)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        negative_predictive_value([0, 1, 1], [1, 0])
    with pytest.raises(ValueError, match="mix of"):
        specificity_score([0, 1], [[0, 1], [1, 0]], average="macro")
    with pytest.raises(ValueError, match="Samplewise"):
        specificity_score(Y_TRUE, Y_PRED, average="samples")
    with pytest.raises(ValueError, match="continuous is not supported"):
        specificity_score([0.5, 1.5], [0.5, 1.5])


def test_scorers_work_in_grid_search_and_cross_val_score():
    X, y = make_classification(n_samples=150, n_classes=3, n_informative=4,
                               random_state=0)
    clf = LinearDiscriminantAnalysis()
    scorer = get_scorer("specificity_macro")
    scores = cross_val_score(clf, X, y, cv=3, scoring=scorer)
    # reference: the same (stratified) folds scored by hand
    folds = StratifiedKFold(3).split(X, y)
    expected = [specificity_score(y[te], clf.fit(X[tr], y[tr]).predict(X[te]),
                                  average="macro") for tr, te in folds]
    np.testing.assert_allclose(scores, expected)
    search = GridSearchCV(clf, {"solver": ["svd", "lsqr"]}, cv=3, refit="npv",
                          scoring={"npv": get_scorer("negative_predictive_value_weighted"),
                                   "acc": "accuracy"}).fit(X, y)
    assert set(search.cv_results_) >= {"mean_test_npv", "mean_test_acc"}
    assert 0.5 < search.best_score_ <= 1.0
    # the segmentation scorers score a classifier's labels too
    fitted = clf.fit(X, y)
    assert get_scorer("mean_iou")(fitted, X, y) == pytest.approx(
        iou_score(y, fitted.predict(X)))
    assert get_scorer("dice_weighted")(fitted, X, y) == pytest.approx(
        dice_score(y, fitted.predict(X), average="weighted"))


def test_get_scorer_names_and_fallback():
    names = get_scorer_names()
    for name in ("specificity", "specificity_macro", "negative_predictive_value_micro",
                 "positive_predictive_value_weighted", "mean_iou", "mean_dice",
                 "accuracy", "roc_auc"):
        assert name in names
    assert get_scorer("accuracy")._score_func.__name__ == "accuracy_score"
    assert get_scorer("specificity") is not get_scorer("specificity")  # fresh copies
    with pytest.raises(ValueError, match="skml.metrics.get_scorer_names"):
        get_scorer("specifity")
