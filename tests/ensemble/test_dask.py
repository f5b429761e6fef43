"""Forest fits go through joblib, so under ``joblib.parallel_config(backend="dask")`` they
run on a dask.distributed cluster: here a LocalCluster of 2 worker processes. A forest and
a GridSearchCV over a forest give the same predictions there as with the local backend."""
import sys

import dask.distributed as distributed
import numpy as np
import pytest
from joblib import parallel_config
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skml.ensemble import BaggingClassifier, RandomForestClassifier



def _worker_has_built_trees():
    return "skml._kernels._tree" in sys.modules


@pytest.fixture(scope="module")
def dask_client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=300, n_features=8, n_informative=4, random_state=0)


def test_forest_fit_on_a_dask_cluster_matches_the_local_fit(dask_client, data):
    X, y = data
    local = RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=0).fit(X, y)
    with parallel_config(backend="dask"):
        remote = RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=0).fit(X, y)
    # the trees were built in the worker processes: they loaded the Cython builder
    assert any(dask_client.run(_worker_has_built_trees).values())
    for a, b in zip(local.estimators_, remote.estimators_):
        np.testing.assert_array_equal(a.tree_.threshold, b.tree_.threshold)
    np.testing.assert_array_equal(local.predict_proba(X), remote.predict_proba(X))

    bag_local = BaggingClassifier(n_estimators=10, random_state=0).fit(X, y)
    with parallel_config(backend="dask"):
        bag_remote = BaggingClassifier(n_estimators=10, n_jobs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(bag_local.predict_proba(X), bag_remote.predict_proba(X))


def test_grid_search_over_a_forest_on_a_dask_cluster_matches_the_local_search(dask_client,
                                                                              data):
    X, y = data
    grid = {"max_depth": [3, None], "max_features": [2, "sqrt"]}
    forest = RandomForestClassifier(n_estimators=20, random_state=0)
    local = GridSearchCV(forest, grid, cv=3).fit(X, y)
    with parallel_config(backend="dask"):
        remote = GridSearchCV(forest, grid, cv=3, n_jobs=-1).fit(X, y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
