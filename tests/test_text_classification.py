"""Text classification end to end (issue 14): a corpus generated here (words drawn from
class-specific distributions) -> scikit-learn's TfidfVectorizer -> an skml classifier in a
Pipeline tuned by GridSearchCV, against scikit-learn's same pipeline on the same folds.

The TF-IDF matrices are CSR and reach every skml estimator as they are; the models are
the same (convex optima, closed forms, exact neighbour sets), so on the held-out documents
the predictions agree document for document except where a decision is a near tie, and
the accuracies agree within that noise."""
import numpy as np
import pytest
from sklearn import naive_bayes as sk_nb
from sklearn import neighbors as sk_neighbors
from sklearn import svm as sk_svm
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from skml.linear_model import LogisticRegression
from skml.naive_bayes import MultinomialNB
from skml.neighbors import KNeighborsClassifier
from skml.svm import LinearSVC

N_CLASSES = 3


def make_corpus(n_docs, seed, vocab_size=400, topic_share=0.1):
    """Documents whose words come from overlapping class distributions: a mixture of a
    sparse class topic (Dirichlet(0.05) over the vocabulary) and a shared background."""
    rng = np.random.RandomState(seed)
    vocab = np.array([f"w{i}" for i in range(vocab_size)])
    topics = rng.dirichlet(np.full(vocab_size, 0.05), size=N_CLASSES)
    common = rng.dirichlet(np.full(vocab_size, 1.0))
    docs, labels = [], []
    for i in range(n_docs):
        c = i % N_CLASSES
        p = topic_share * topics[c] + (1.0 - topic_share) * common
        docs.append(" ".join(rng.choice(vocab, size=rng.randint(15, 60), p=p)))
        labels.append(c)
    return docs, np.array(labels)


@pytest.fixture(scope="module")
def corpus():
    docs, y = make_corpus(900, 0)
    return train_test_split(docs, y, test_size=0.3, random_state=0, stratify=y)


# (skml classifier, scikit-learn's, grid over the classifier's parameters, the accuracy
# the pipeline must reach: far above the 1/3 of chance; the topics overlap enough that
# no model is perfect (0.71-0.82 on this corpus), so a wrong model could not hide)
CASES = {
    "LinearSVC": (LinearSVC, sk_svm.LinearSVC, {"C": [0.3, 3.0]}, 0.75),
    "LogisticRegression": (LogisticRegression, SkLogistic, {"C": [1.0, 10.0]}, 0.75),
    "MultinomialNB": (MultinomialNB, sk_nb.MultinomialNB, {"alpha": [0.1, 1.0]}, 0.75),
    "KNeighborsClassifier": (KNeighborsClassifier, sk_neighbors.KNeighborsClassifier,
                             {"n_neighbors": [5, 15], "weights": ["uniform", "distance"]},
                             0.65),
}


def _search(clf, grid):
    pipe = Pipeline([("tfidf", TfidfVectorizer(sublinear_tf=True)), ("clf", clf)])
    grid = {f"clf__{k}": v for k, v in grid.items()}
    return GridSearchCV(pipe, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0))


@pytest.mark.parametrize("name", sorted(CASES))
def test_pipeline_with_grid_search_matches_sklearns(corpus, name):
    d_train, d_test, y_train, y_test = corpus
    ours_cls, sk_cls, grid, floor = CASES[name]
    ours = _search(ours_cls(), grid).fit(d_train, y_train)
    ref = _search(sk_cls(), grid).fit(d_train, y_train)

    # the same grid point wins, by (nearly) the same cross-validated score
    assert ours.best_params_ == ref.best_params_
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               ref.cv_results_["mean_test_score"], atol=2 / len(d_train))

    pred, pred_ref = ours.predict(d_test), ref.predict(d_test)
    acc, acc_ref = np.mean(pred == y_test), np.mean(pred_ref == y_test)
    # within noise: at most 1% of the held-out documents (near-tie decisions) differ
    assert np.mean(pred != pred_ref) <= 0.01, name
    assert abs(acc - acc_ref) <= 0.01, (name, acc, acc_ref)
    chance = DummyClassifier().fit(d_train, y_train).score(d_test, y_test)
    assert acc >= floor > chance + 0.25, (name, acc)
