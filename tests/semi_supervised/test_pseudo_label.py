"""PseudoLabelClassifier: it helps with few labels, agrees with scikit-learn's
SelfTrainingClassifier, and keeps its contract (attributes, stopping, errors)."""
import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.svm import SVC

from skml.semi_supervised import PseudoLabelClassifier


@pytest.fixture(scope="module")
def digits_10_percent():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.3,
                                                        stratify=y, random_state=0)
    rng = np.random.RandomState(0)
    labelled = np.zeros(len(y_train), dtype=bool)
    for c in range(10):  # 10% of each class keeps a label
        rows = np.flatnonzero(y_train == c)
        labelled[rng.choice(rows, round(0.1 * rows.size), replace=False)] = True
    y_partial = np.where(labelled, y_train, -1)
    return X_train, y_partial, labelled, X_test, y_test


def test_beats_the_base_model_on_10_percent_of_digits_and_matches_sklearn(
        digits_10_percent):
    X, y_partial, labelled, X_test, y_test = digits_10_percent
    base = KNeighborsClassifier(n_neighbors=5)
    alone = base.fit(X[labelled], y_partial[labelled]).score(X_test, y_test)
    ours = PseudoLabelClassifier(base).fit(X, y_partial)
    theirs = SelfTrainingClassifier(base).fit(X, y_partial)
    acc = ours.score(X_test, y_test)
    assert acc >= alone + 0.03, (acc, alone)
    assert abs(acc - theirs.score(X_test, y_test)) <= 0.01
    # the same rounds, pseudo-labels and stopping reason
    np.testing.assert_array_equal(ours.transduction_, theirs.transduction_)
    np.testing.assert_array_equal(ours.labeled_iter_, theirs.labeled_iter_)
    assert ours.termination_condition_ == theirs.termination_condition_
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("criterion", ["threshold", "k_best"])
def test_attributes_and_stopping(criterion):
    X, y = make_blobs(n_samples=120, centers=[[-4, 0], [4, 0], [0, 5]], cluster_std=1.0,
                      random_state=0)
    y_partial = y.copy()
    y_partial[np.random.RandomState(0).rand(len(y)) < 0.8] = -1
    clf = PseudoLabelClassifier(LinearDiscriminantAnalysis(), criterion=criterion,
                                k_best=15, max_iter=None).fit(X, y_partial)
    assert clf.termination_condition_ in ("all_labeled", "no_change")
    given = y_partial != -1
    assert np.all(clf.labeled_iter_[given] == 0)
    assert np.all(clf.transduction_[given] == y[given])
    added = clf.labeled_iter_ > 0
    assert (clf.labeled_iter_.max() == clf.n_iter_
            or clf.termination_condition_ == "no_change")
    if criterion == "k_best":  # exactly k per round, the last round takes the rest
        counts = np.bincount(clf.labeled_iter_[added])[1:]
        assert np.all(counts[:-1] == 15) and 0 < counts[-1] <= 15
    # pseudo-labels of these well-separated blobs are right
    assert np.mean(clf.transduction_[added] == y[added]) > 0.95
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (120, 3)
    assert clf.decision_function(X).shape == (120, 3)
    # max_iter=0: no round, the base model on the labelled samples only
    zero = PseudoLabelClassifier(LinearDiscriminantAnalysis(), max_iter=0).fit(
        X, y_partial)
    assert zero.termination_condition_ == "max_iter" and zero.n_iter_ == 0
    np.testing.assert_allclose(
        zero.predict_proba(X),
        LinearDiscriminantAnalysis().fit(X[given], y[given]).predict_proba(X))


def test_string_labels_in_an_object_array_and_methods_of_the_base():
    X, y = make_blobs(n_samples=60, centers=2, random_state=1)
    names = np.array(["cat", "dog"], dtype=object)[y]
    names[::3] = -1
    clf = PseudoLabelClassifier(SVC(probability=True, random_state=0)).fit(X, names)
    assert set(clf.predict(X)) == {"cat", "dog"}
    # no predict_log_proba on an estimator without it
    knn = PseudoLabelClassifier(KNeighborsClassifier(3)).fit(X, y)
    assert not hasattr(knn, "decision_function")


def test_errors_and_warnings():
    X, y = make_blobs(n_samples=30, centers=2, random_state=0)
    with pytest.raises(ValueError, match="string dtype"):
        PseudoLabelClassifier(LogisticRegression()).fit(X, np.array(["a", "b"] * 15))
    with pytest.raises(ValueError, match="no labelled sample"):
        PseudoLabelClassifier(LogisticRegression()).fit(X, np.full(30, -1))
    with pytest.warns(UserWarning, match="no unlabeled samples"):
        PseudoLabelClassifier(LogisticRegression()).fit(X, y)
    y_partial = y.copy()
    y_partial[:25] = -1
    with pytest.warns(UserWarning, match="k_best is larger"):
        PseudoLabelClassifier(LogisticRegression(), criterion="k_best",
                              k_best=40).fit(X, y_partial)
    with pytest.raises(ValueError, match="estimator must be an object with fit"):
        PseudoLabelClassifier(LogisticRegression).fit(X, y)
    with pytest.raises(ValueError, match=r"threshold must be in \[0.0, 1.0\)"):
        PseudoLabelClassifier(LogisticRegression(), threshold=1.0).fit(X, y)
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        PseudoLabelClassifier(LogisticRegression()).predict(X)
