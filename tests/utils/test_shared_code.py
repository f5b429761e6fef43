"""The helpers that let estimators share code: ``store_init_params`` and ``fill_doc``."""
import inspect

import pytest
from sklearn.base import BaseEstimator, clone

from skml.utils import fill_doc, store_init_params


class _Base(BaseEstimator):
    def __init__(self, a=1, *, b=None):
        store_init_params(self, locals())


class _Child(_Base):
    def __init__(self, a=1, *, b=None, c="x"):
        # super() puts the __class__ cell into locals(): it must not be stored
        super().__init__(a=a, b=b)
        store_init_params(self, locals())


def test_store_init_params_stores_exactly_the_arguments():
    est = _Child(3, b=[1], c="y")
    assert vars(est) == {"a": 3, "b": [1], "c": "y"}
    assert est.get_params() == {"a": 3, "b": [1], "c": "y"}
    # unchanged objects (sklearn's clone checks identity of the stored values)
    b = [2]
    assert _Base(b=b).b is b
    assert clone(_Child(c="z")).get_params() == {"a": 1, "b": None, "c": "z"}


def test_fill_doc_indents_the_fragment_as_its_placeholder():
    @fill_doc(params="x : int\n    The value.\n\ny : float")
    def f(x, y):
        """Summary.

        Parameters
        ----------
        {params}

        Returns
        -------
        None
        """

    assert inspect.cleandoc(f.__doc__) == inspect.cleandoc(
        """Summary.

        Parameters
        ----------
        x : int
            The value.

        y : float

        Returns
        -------
        None
        """)


def test_fill_doc_on_a_class_and_a_misspelt_placeholder():
    @fill_doc(note="Shared.")
    class A:
        """A.

        {note}
        """

    assert "    Shared.\n" in A.__doc__ and "{note}" not in A.__doc__
    with pytest.raises(ValueError, match="has no line {nope} to fill"):
        @fill_doc(nope="text")
        def g():
            """No placeholder here."""


def test_fill_doc_without_docstring_keeps_none():
    # python -OO strips docstrings: the decorator must leave None alone
    def h():
        pass

    assert fill_doc(anything="x")(h).__doc__ is None
