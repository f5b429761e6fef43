"""The declarative parameter checks (``check_params``) and ``check_sample_weight``."""
import numbers

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression

from skml.utils import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
    check_params,
    check_sample_weight,
)
from skml.utils._param_validation import invalid_values


class _Toy(BaseEstimator):
    _parameter_constraints = {
        "n": [Interval(numbers.Integral, 1, None)],
        "tol": [Interval(numbers.Real, 0, 1, closed="left")],
        "algo": [StrOptions({"a", "b"})],
        "init": [StrOptions({"auto"}), "array-like", callable],
        "est": [HasMethods(["fit"]), None],
        "random_state": ["random_state"],
        "free": "no_validation",
    }

    def __init__(self, n=1, tol=0.5, algo="a", init="auto", est=None, random_state=None,
                 free=None):
        self.n = n
        self.tol = tol
        self.algo = algo
        self.init = init
        self.est = est
        self.random_state = random_state
        self.free = free


def test_valid_parameters_pass():
    toy = _Toy(n=3, tol=0.0, algo="b", init=np.zeros(3), est=LinearRegression(), random_state=7,
               free=object())
    assert check_params(toy)["n"] == 3
    check_params(_Toy(init=len, random_state=np.random.RandomState(0)))


@pytest.mark.parametrize("params, message", [
    (dict(n=0), r"n must be in \[1, inf\], got 0\."),
    (dict(n=2**63), r"n must fit in a 64-bit integer"),
    (dict(n=1.5), r"n must be int in \[1, inf\], got 1.5 of type float\."),
    (dict(n=True), r"n must be int in \[1, inf\], got True of type bool\."),
    (dict(tol=1.0), r"tol must be in \[0, 1\), got 1.0\."),
    (dict(tol=float("nan")), r"tol must not be NaN\."),
    (dict(algo="c"), r"algo must be one of \['a', 'b'\], got 'c'\."),
    (dict(init="x"), r"init must be one of \['auto'\], got 'x'\."),
    (dict(est=_Toy), r"est must be an object with fit or None"),
    (dict(random_state=-1), r"random_state must be an int in \[0, 4294967295\]"),
])
def test_invalid_parameters_raise_naming_the_parameter(params, message):
    with pytest.raises(InvalidParameterError, match=message) as info:
        check_params(_Toy(**params))
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_invalid_values_violate_every_constraint():
    for name, cons in _Toy._parameter_constraints.items():
        if cons == "no_validation":
            continue
        bad = invalid_values(cons)
        assert bad, name
        for value in bad:
            with pytest.raises(InvalidParameterError, match=name):
                check_params(_Toy(**{name: value}))


def test_check_sample_weight():
    np.testing.assert_array_equal(check_sample_weight(None, 3), np.ones(3))
    np.testing.assert_array_equal(check_sample_weight(2, 3), np.full(3, 2.0))
    w = np.array([1, 2, 3])
    out = check_sample_weight(w, 3, dtype=np.float32)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    out[0] = 5
    assert w[0] == 1  # a copy
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(2,\), expected \(3,\)"):
        check_sample_weight([1, 2], 3)
    with pytest.raises(ValueError, match="non-negative"):
        check_sample_weight([1, -2, 3], 3)
    with pytest.raises(ValueError, match="NaN|infinity"):
        check_sample_weight([1, np.nan, 3], 3)
    with pytest.raises(ValueError, match="at least one positive"):
        check_sample_weight([0, 0, 0], 3)
    assert check_sample_weight([0, 0, 0], 3, allow_zero_sum=True).sum() == 0
    with pytest.raises(TypeError, match="numeric"):
        check_sample_weight(["a", "b", "c"], 3)


def test_check_sample_weight_takes_huge_weights_without_overflow_warnings():
    # the all-zero test summed the weights: 1e306 * 5 overflowed with a RuntimeWarning
    import warnings

    from skml.utils import check_sample_weight

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sw = check_sample_weight(np.full(5, 1e306), 5)
    np.testing.assert_array_equal(sw, np.full(5, 1e306))
