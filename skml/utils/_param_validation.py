"""Hyper-parameter checks: ``check_param`` for one value, and the declarative form every
estimator uses, ``_parameter_constraints`` checked by ``check_params``.

An estimator declares, per parameter, a list of constraints; a value is valid when it
satisfies at least one of them::

    _parameter_constraints = {
        "n_clusters": [Interval(numbers.Integral, 1, None)],
        "init": [StrOptions({"k-means++", "random"}), "array-like", callable],
        "tol": [Interval(numbers.Real, 0, None)],
        "random_state": ["random_state"],
    }

and calls ``check_params(self)`` at the start of ``fit``. Checks that relate several
parameters (or a parameter and the data) stay in ``fit``. The constraints are also read by
the common test, which generates a value violating every constraint of each parameter and
expects a ``ValueError``/``TypeError`` that names the parameter.

scikit-learn has the same idea in a private module (``sklearn.utils._param_validation``);
skml keeps its own small version because private modules change between releases.
"""
import numbers

import numpy as np
import scipy.sparse as sp

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "check_param",
    "check_params",
]

# The largest integer a native kernel can take: integer hyper-parameters above it (such as
# max_depth=2**63) are rejected up front rather than overflowing in C.
_INT64_MAX = int(np.iinfo(np.int64).max)
_SEED_MAX = 2**32 - 1  # numpy's RandomState seeds

_KIND_NAMES = {
    numbers.Integral: "int",
    numbers.Real: "float",
    str: "str",
    bool: "bool",
    type(None): "None",
}


class InvalidParameterError(ValueError, TypeError):
    """A hyper-parameter has a value outside its declared constraints.

    A subclass of both ``ValueError`` and ``TypeError`` (as scikit-learn's own), so code
    that catches either keeps working whether the value had the wrong type or the wrong
    range.
    """


def _type_names(types):
    return " or ".join(_KIND_NAMES.get(t, getattr(t, "__name__", str(t))) for t in types)


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _bounds_text(min_val, max_val, closed):
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    lo = "-inf" if min_val is None else min_val
    hi = "inf" if max_val is None else max_val
    return f"{left}{lo}, {hi}{right}"


def _in_bounds(value, min_val, max_val, closed):
    lo_ok = min_val is None or (
        value >= min_val if closed in ("both", "left") else value > min_val
    )
    hi_ok = max_val is None or (
        value <= max_val if closed in ("both", "right") else value < max_val
    )
    return lo_ok and hi_ok


def check_param(value, name, *, types=None, options=None, min_val=None, max_val=None,
                closed="both"):
    """Check one hyper-parameter and return it unchanged.

    Parameters
    ----------
    value : object
        The value given by the user.
    name : str
        The parameter's name, used in the error message.
    types : tuple of types, default=None
        Allowed types (``numbers.Integral``, ``numbers.Real``, ``str``, ``type(None)``, ...).
        ``bool`` is never accepted as a number unless ``bool`` is listed.
    options : collection, default=None
        Allowed values (for strings: the accepted names).
    min_val, max_val : float, default=None
        Bounds for numeric values.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds are inclusive.

    Returns
    -------
    value : object
        ``value`` itself.

    Raises
    ------
    TypeError
        If ``value`` has none of ``types``.
    ValueError
        If ``value`` is not among ``options`` or is out of bounds.

    Examples
    --------
    >>> import numbers
    >>> from skml.utils import check_param
    >>> check_param(3, "n_clusters", types=(numbers.Integral,), min_val=1)
    3
    >>> check_param("fast", "algorithm", options=("lloyd",))
    Traceback (most recent call last):
        ...
    ValueError: algorithm must be one of ['lloyd'], got 'fast'.
    """
    if types is not None:
        ok = isinstance(value, tuple(types)) and (not _is_bool(value) or bool in types)
        if not ok:
            raise TypeError(
                f"{name} must be {_type_names(types)}, got {value!r} "
                f"of type {type(value).__name__}."
            )
    if options is not None and (isinstance(value, str) or types is None):
        if value not in options:
            raise ValueError(f"{name} must be one of {sorted(options, key=str)}, got {value!r}.")
    if isinstance(value, numbers.Real) and not _is_bool(value):
        if value != value:  # NaN
            raise ValueError(f"{name} must not be NaN.")
        if not _in_bounds(value, min_val, max_val, closed):
            raise ValueError(
                f"{name} must be in {_bounds_text(min_val, max_val, closed)}, got {value!r}."
            )
        if isinstance(value, numbers.Integral) and abs(int(value)) > _INT64_MAX:
            raise ValueError(
                f"{name} must fit in a 64-bit integer (|{name}| <= {_INT64_MAX}), "
                f"got {value!r}."
            )
    return value


# --------------------------------------------------------------------------- constraints


class _Constraint:
    """One allowed form of a parameter's value."""

    def is_satisfied_by(self, value):
        raise NotImplementedError

    def type_matches(self, value):
        """Whether ``value`` has the right type, so a failure is about its range/options
        (a ``ValueError``) rather than its type (a ``TypeError``)."""
        return self.is_satisfied_by(value)

    def invalid_values(self):
        """Values of the right type that this constraint rejects (for the common test)."""
        return []


class Interval(_Constraint):
    """Numbers of ``type_`` (``numbers.Integral`` or ``numbers.Real``) within bounds.

    ``left``/``right`` of ``None`` leave that side unbounded; ``closed`` says which bounds
    are inclusive (``"both"``, ``"left"``, ``"right"``, ``"neither"``). bool is never a
    number here, NaN never passes, and integers must fit in int64.
    """

    def __init__(self, type_, left, right, *, closed="both"):
        if type_ not in (numbers.Integral, numbers.Real):
            raise ValueError(f"Interval type must be Integral or Real, got {type_!r}.")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither', got {closed!r}.")
        self.type = type_
        self.left = left
        self.right = right
        self.closed = closed

    def type_matches(self, value):
        return isinstance(value, self.type) and not _is_bool(value)

    def is_satisfied_by(self, value):
        if not self.type_matches(value):
            return False
        if value != value:  # NaN
            return False
        if self.type is numbers.Integral and abs(int(value)) > _INT64_MAX:
            return False
        return _in_bounds(value, self.left, self.right, self.closed)

    def invalid_values(self):
        out = []
        step = 1 if self.type is numbers.Integral else 1e-3
        if self.left is not None:
            out.append(self.left - step if self.closed in ("both", "left") else self.left)
        if self.right is not None:
            out.append(self.right + step if self.closed in ("both", "right") else self.right)
        if self.type is numbers.Real:
            out.append(float("nan"))
        else:
            out.append(2**63)
        return out

    def __str__(self):
        kind = "int" if self.type is numbers.Integral else "float"
        if self.left is None and self.right is None:
            return kind
        return f"{kind} in {_bounds_text(self.left, self.right, self.closed)}"


class Options(_Constraint):
    """Values of ``type_`` that are among ``options``."""

    def __init__(self, type_, options):
        self.type = type_
        self.options = set(options)

    def type_matches(self, value):
        return isinstance(value, self.type)

    def is_satisfied_by(self, value):
        return isinstance(value, self.type) and value in self.options

    def invalid_values(self):
        if self.type is str:
            return ["__not_an_option__"]
        return []

    def __str__(self):
        return f"one of {sorted(self.options, key=repr)}"


class StrOptions(Options):
    """Strings among ``options``."""

    def __init__(self, options):
        super().__init__(str, options)


class HasMethods(_Constraint):
    """Objects (not classes) that have every one of ``methods``."""

    def __init__(self, methods):
        self.methods = [methods] if isinstance(methods, str) else list(methods)

    def is_satisfied_by(self, value):
        return not isinstance(value, type) and all(
            callable(getattr(value, m, None)) for m in self.methods)

    def __str__(self):
        return f"an object with {', '.join(self.methods)}"


class _Type(_Constraint):
    def __init__(self, type_):
        self.type = type_

    def is_satisfied_by(self, value):
        if _is_bool(value) and self.type is not bool and self.type is not object:
            return False
        return isinstance(value, self.type)

    def __str__(self):
        return _type_names((self.type,))


class _Predicate(_Constraint):
    def __init__(self, text, test):
        self.text = text
        self.test = test

    def is_satisfied_by(self, value):
        return bool(self.test(value))

    def __str__(self):
        return self.text


def _is_array_like(value):
    return (hasattr(value, "__len__") or hasattr(value, "shape")
            or hasattr(value, "__array__")) and not isinstance(value, str)


def _is_random_state(value):
    if value is None or isinstance(value, np.random.RandomState):
        return True
    return (isinstance(value, numbers.Integral) and not _is_bool(value)
            and 0 <= value <= _SEED_MAX)


_NAMED = {
    "array-like": _Predicate("an array-like", _is_array_like),
    "sparse matrix": _Predicate("a sparse matrix", sp.issparse),
    "boolean": _Predicate("a bool", _is_bool),
    "random_state": _Predicate(
        f"an int in [0, {_SEED_MAX}], a RandomState instance or None", _is_random_state),
    "verbose": _Predicate(
        "a bool or an int >= 0",
        lambda v: _is_bool(v) or (isinstance(v, numbers.Integral) and 0 <= v <= _INT64_MAX)),
    "n_jobs": _Predicate(
        "None or a non-zero int",
        lambda v: v is None or (isinstance(v, numbers.Integral) and not _is_bool(v)
                                and v != 0 and abs(int(v)) <= _INT64_MAX)),
    "nan": _Predicate("NaN", lambda v: isinstance(v, numbers.Real) and v != v),
}


def make_constraint(constraint):
    """The ``_Constraint`` object for one entry of a ``_parameter_constraints`` list:
    a constraint object, ``None``, a type, ``callable`` or one of the names
    ``"array-like"``, ``"sparse matrix"``, ``"boolean"``, ``"random_state"``,
    ``"verbose"``, ``"n_jobs"``, ``"nan"``."""
    if isinstance(constraint, _Constraint):
        return constraint
    if constraint is None:
        return _Predicate("None", lambda v: v is None)
    if constraint is callable:
        return _Predicate("a callable", callable)
    if isinstance(constraint, str):
        try:
            return _NAMED[constraint]
        except KeyError:
            raise ValueError(f"Unknown constraint name {constraint!r}.") from None
    if isinstance(constraint, type):
        return _Type(constraint)
    raise ValueError(f"Unknown constraint {constraint!r}.")


def _describe(constraints):
    texts = [str(c) for c in constraints]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " or " + texts[-1]


def validate_parameter(name, value, constraints):
    """Check one value against a list of constraints; raise ``InvalidParameterError``."""
    cons = [make_constraint(c) for c in constraints]
    if any(c.is_satisfied_by(value) for c in cons):
        return value
    typed = [c for c in cons if c.type_matches(value)]
    if isinstance(value, float) and value != value:
        raise InvalidParameterError(f"{name} must not be NaN.")
    if len(typed) == 1 and isinstance(typed[0], Interval):
        iv = typed[0]
        if iv.type is numbers.Integral and abs(int(value)) > _INT64_MAX:
            raise InvalidParameterError(
                f"{name} must fit in a 64-bit integer (|{name}| <= {_INT64_MAX}), "
                f"got {value!r}.")
        raise InvalidParameterError(
            f"{name} must be in {_bounds_text(iv.left, iv.right, iv.closed)}, got {value!r}.")
    if len(typed) == 1 and isinstance(typed[0], Options):
        opts = sorted(typed[0].options, key=str)
        raise InvalidParameterError(f"{name} must be one of {opts}, got {value!r}.")
    if typed:
        raise InvalidParameterError(
            f"{name} must be {_describe(cons)}, got {value!r}.")
    raise InvalidParameterError(
        f"{name} must be {_describe(cons)}, got {value!r} of type {type(value).__name__}.")


def parameter_constraints(estimator):
    """The merged ``_parameter_constraints`` of ``estimator``'s class and its bases
    (a subclass's entry overrides its base's)."""
    merged = {}
    for klass in reversed(type(estimator).__mro__):
        merged.update(vars(klass).get("_parameter_constraints", {}))
    return merged


def check_params(estimator, params=None):
    """Check ``estimator``'s hyper-parameters against its ``_parameter_constraints``.

    Parameters
    ----------
    estimator : estimator instance
        An estimator whose class (or a base) declares ``_parameter_constraints``:
        ``{name: [constraint, ...]}``. Each value must satisfy one of its constraints
        (see the module docstring for the forms). A parameter declared ``"no_validation"``
        is not checked.
    params : dict, default=None
        The values to check; ``estimator.get_params(deep=False)`` when None.

    Returns
    -------
    params : dict
        The checked values.

    Raises
    ------
    InvalidParameterError
        (a ``ValueError`` and a ``TypeError``) naming the parameter, the value and what
        is allowed.
    """
    constraints = parameter_constraints(estimator)
    if params is None:
        params = estimator.get_params(deep=False)
    for name, value in params.items():
        cons = constraints.get(name)
        if cons is None or cons == "no_validation":
            continue
        validate_parameter(name, value, cons)
    return params


class _NotAnything:
    """A value no ordinary constraint accepts (for the common test)."""

    def __repr__(self):
        return "<invalid>"


def invalid_values(constraints):
    """Values that satisfy none of ``constraints`` (used by the common test).

    Tries, for each constraint, the values just outside it and a few values of other
    types, keeping those that every constraint rejects.
    """
    cons = [make_constraint(c) for c in constraints]
    candidates = []
    for c in cons:
        candidates.extend(c.invalid_values())
    candidates += ["__not_an_option__", -1, 0.5, float("nan"), _NotAnything()]
    out = []
    for value in candidates:
        if not any(c.is_satisfied_by(value) for c in cons):
            if not any(v is value or (type(v) is type(value) and v == value) for v in out):
                out.append(value)
    return out
