"""The one helper every estimator uses to check its hyper-parameters in ``fit``."""
import numbers

import numpy as np

__all__ = ["check_param"]

_KIND_NAMES = {
    numbers.Integral: "int",
    numbers.Real: "float",
    str: "str",
    bool: "bool",
    type(None): "None",
}


def _type_names(types):
    return " or ".join(_KIND_NAMES.get(t, getattr(t, "__name__", str(t))) for t in types)


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
        is_bool = isinstance(value, (bool, np.bool_))
        ok = isinstance(value, tuple(types)) and (not is_bool or bool in types)
        if not ok:
            raise TypeError(
                f"{name} must be {_type_names(types)}, got {value!r} "
                f"of type {type(value).__name__}."
            )
    if options is not None and (isinstance(value, str) or types is None):
        if value not in options:
            raise ValueError(f"{name} must be one of {sorted(options, key=str)}, got {value!r}.")
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        if value != value:  # NaN
            raise ValueError(f"{name} must not be NaN.")
        lo_ok = min_val is None or (
            value >= min_val if closed in ("both", "left") else value > min_val
        )
        hi_ok = max_val is None or (
            value <= max_val if closed in ("both", "right") else value < max_val
        )
        if not (lo_ok and hi_ok):
            left = "[" if closed in ("both", "left") else "("
            right = "]" if closed in ("both", "right") else ")"
            lo = "-inf" if min_val is None else min_val
            hi = "inf" if max_val is None else max_val
            raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}.")
    return value
