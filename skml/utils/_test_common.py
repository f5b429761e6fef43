"""What tests/test_common.py needs to know about individual estimators.

This is the one place where expected failures of scikit-learn's estimator checks are
declared. Only checks that a model cannot pass by its nature belong here, each with its
reason (for example exact sample-weight equivalence for a randomised model); every entry
is a debt and is also listed in the estimator's docstring.
"""
from sklearn.base import clone

__all__ = ["expected_failed_checks", "construct_instances", "grid_params"]

# {class name: {check name: reason}}
_EXPECTED_FAILED_CHECKS = {}

# Constructor arguments the common tests use instead of the defaults (e.g. few epochs so
# sklearn's checks take seconds): {class name: [dict of params, ...]}, one instance each.
_TEST_PARAMS = {}

# Small grids for the Pipeline + GridSearchCV(n_jobs=2) test: {class name: {param: values}}.
_GRID_PARAMS = {}


def expected_failed_checks(estimator):
    """``{check name: reason}`` for ``estimator``, the shape that
    ``sklearn.utils.estimator_checks.parametrize_with_checks(expected_failed_checks=...)``
    takes."""
    return dict(_EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))


def construct_instances(cls):
    """The instances of ``cls`` the common tests run on."""
    for params in _TEST_PARAMS.get(cls.__name__, [{}]):
        yield cls(**params)


def grid_params(estimator):
    """A small parameter grid for ``estimator`` (at least one candidate)."""
    name = type(estimator).__name__
    if name in _GRID_PARAMS:
        return dict(_GRID_PARAMS[name])
    params = estimator.get_params(deep=False)
    if "random_state" in params:
        return {"random_state": [0, 1]}
    first = sorted(params)[0] if params else None
    return {first: [params[first]]} if first else {}


def fresh(estimator):
    """An unfitted copy (``clone``), kept here so tests need one import."""
    return clone(estimator)
