"""Checks every public skml estimator must pass: scikit-learn's estimator checks plus
skml's own (pickle, clone/set_params, Pipeline + GridSearchCV(n_jobs=2), float32).

Written over ``skml.utils.all_estimators()`` so each new estimator is picked up with no
edit here. Expected failures of sklearn's checks come only from
``skml.utils._test_common.expected_failed_checks``.
"""
import inspect
import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skml.utils import all_estimators
from skml.utils._param_validation import invalid_values, parameter_constraints
from skml.utils._test_common import (
    _EXPECTED_FAILED_CHECKS,
    _GRID_PARAMS,
    _TEST_PARAMS,
    construct_instances,
    data_for,
    expected_failed_checks,
    grid_params,
)

ESTIMATORS = [est for _, cls in all_estimators() for est in construct_instances(cls)]
OUTPUT_METHODS = ("predict", "predict_proba", "decision_function", "transform",
                  "score_samples", "kneighbors")


def _id(est):
    return type(est).__name__


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _data(est, dtype=np.float64):
    """Small data of the kind the estimator expects."""
    own = data_for(est)  # images and target lists, ... (not a 2-D table)
    if own is not None:
        return own
    tags = get_tags(est)
    y = None
    if is_classifier(est):
        X, y = make_classification(n_samples=90, n_features=4, n_informative=3,
                                   n_redundant=0, n_classes=3, random_state=0)
    elif is_regressor(est):
        X, y = make_regression(n_samples=90, n_features=4, noise=1.0, random_state=0)
    else:
        X, y = make_blobs(n_samples=90, n_features=4, centers=3, random_state=0)
        y = y if tags.target_tags.required else None
    if tags.input_tags.positive_only:
        X = X - X.min()
    return X.astype(dtype), y


def _outputs(est, X):
    # sparse outputs (neighbour graphs) compared as arrays: numpy cannot compare matrices
    return {m: _dense(getattr(est, m)(X)) for m in OUTPUT_METHODS if hasattr(est, m)}


def _dense(out):
    return out.toarray() if sp.issparse(out) else out


def _assert_same(a, b, err_msg):
    """Equal outputs: arrays, or lists of dicts of arrays (a detector's predict)."""
    if isinstance(a, list) and a and isinstance(a[0], dict):
        assert len(a) == len(b), err_msg
        for da, db in zip(a, b):
            assert da.keys() == db.keys(), err_msg
            for k in da:
                np.testing.assert_array_equal(da[k], db[k], err_msg=f"{err_msg}[{k}]")
    else:
        np.testing.assert_array_equal(a, b, err_msg=err_msg)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_pickle_round_trip_gives_identical_outputs(estimator):
    X, y = _data(estimator)
    est = clone(estimator).fit(X, y)
    before = _outputs(est, X)
    assert before, f"{_id(est)} has none of {OUTPUT_METHODS}"
    loaded = pickle.loads(pickle.dumps(est))
    after = _outputs(loaded, X)
    for method, value in before.items():
        _assert_same(after[method], value, err_msg=method)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_clone_and_set_params(estimator):
    params = estimator.get_params(deep=False)
    copy = clone(estimator)
    assert copy is not estimator
    assert copy.get_params(deep=False).keys() == params.keys()
    grid = grid_params(estimator)
    for name, values in grid.items():
        copy.set_params(**{name: values[-1]})
        assert copy.get_params()[name] is values[-1]
    with pytest.raises(ValueError, match="Invalid parameter"):
        copy.set_params(no_such_parameter_anywhere=1)
    X, y = _data(estimator)
    fitted = clone(estimator).fit(X, y)
    refreshed = clone(fitted)
    assert not [k for k in vars(refreshed) if k.endswith("_") and not k.startswith("_")]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_fits_in_a_pipeline_under_grid_search_n_jobs_2(estimator):
    X, y = _data(estimator)
    tags = get_tags(estimator)
    scaler = MinMaxScaler() if tags.input_tags.positive_only else StandardScaler()
    # a scaler takes tables only: other inputs go straight to the estimator
    pipe = make_pipeline(*([scaler] if tags.input_tags.two_d_array else []),
                         clone(estimator))
    step = pipe.steps[-1][0]
    grid = {f"{step}__{k}": v for k, v in grid_params(estimator).items()}
    if hasattr(estimator, "score"):
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
        assert set(search.best_params_) == set(grid)
        assert np.isfinite(search.best_score_)
        assert _outputs(search.best_estimator_, X)
    else:
        # no score to tune on: fit the pipeline in two worker processes instead, and the
        # two fits must agree
        fits = Parallel(n_jobs=2)(delayed(clone(pipe).fit)(X, y) for _ in range(2))
        a, b = (_outputs(f, X) for f in fits)
        for method in a:
            _assert_same(a[method], b[method], err_msg=method)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_parameter_constraints_are_declared_and_enforced(estimator):
    """Every parameter is declared in ``_parameter_constraints``, and ``fit`` rejects each
    value that violates all of a parameter's constraints with an error naming it."""
    constraints = parameter_constraints(estimator)
    params = estimator.get_params(deep=False)
    assert not set(params) - set(constraints), (
        f"undeclared parameters: {sorted(set(params) - set(constraints))}")
    assert not set(constraints) - set(params), (
        f"constraints for unknown parameters: {sorted(set(constraints) - set(params))}")
    X, y = _data(estimator)
    for name, cons in constraints.items():
        if cons == "no_validation":
            continue
        for bad in invalid_values(cons):
            est = clone(estimator).set_params(**{name: bad})
            with pytest.raises((ValueError, TypeError), match=name):
                est.fit(X, y)


def _declares_float32(est):
    tags = get_tags(est).transformer_tags
    return tags is not None and "float32" in tags.preserves_dtype


@pytest.mark.parametrize("estimator", [e for e in ESTIMATORS if _declares_float32(e)], ids=_id)
def test_float32_is_preserved_where_declared(estimator):
    X, y = _data(estimator, np.float32)
    est = clone(estimator).fit(X, y)
    assert est.transform(X).dtype == np.float32


def test_all_estimators_lists_estimator_classes():
    from sklearn.base import BaseEstimator

    found = all_estimators()
    assert [n for n, _ in found] == sorted(n for n, _ in found)
    for name, cls in found:
        assert issubclass(cls, BaseEstimator) and not name.startswith("_")
        assert cls.__module__.startswith("skml.")


def test_declarations_name_real_estimators_and_give_reasons():
    names = {n for n, _ in all_estimators()}
    for table in (_EXPECTED_FAILED_CHECKS, _TEST_PARAMS, _GRID_PARAMS):
        assert set(table) <= names, f"stale entries: {set(table) - names}"
    for checks in _EXPECTED_FAILED_CHECKS.values():
        for check, reason in checks.items():
            assert isinstance(reason, str) and len(reason) > 20, check


@pytest.mark.parametrize("name, cls", all_estimators(), ids=[n for n, _ in all_estimators()])
def test_docstring_has_parameters_raises_and_references(name, cls):
    # the drop-in issue's documentation contract: the errors a user can hit, and the
    # sources (the original papers and the notes' definition) of every estimator
    doc = inspect.getdoc(cls) or ""
    for section in ("Parameters", "Raises", "References"):
        body = re.search(rf"^{section}\n-{{{len(section)}}}\n(.+?)(?:\n\n[A-Z][\w ]+\n-+\n|\Z)",
                         doc, re.S | re.M)
        assert body and body.group(1).strip(), f"{name}'s docstring has no {section} section"
