"""Find skml's public estimators, as ``sklearn.utils.all_estimators`` does for sklearn."""
import importlib
import inspect
import pkgutil
from operator import itemgetter

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClusterMixin,
    RegressorMixin,
    TransformerMixin,
)

__all__ = ["all_estimators"]

# Subpackages whose modules need an optional dependency: skipped when it is missing.
_OPTIONAL = {"neural": "torch"}
_TYPE_MIXINS = {
    "classifier": ClassifierMixin,
    "regressor": RegressorMixin,
    "transformer": TransformerMixin,
    "cluster": ClusterMixin,
}


def _optional_missing(subpackage):
    dep = _OPTIONAL.get(subpackage)
    if dep is None:
        return False
    return importlib.util.find_spec(dep) is None


def all_estimators(type_filter=None):
    """Every public skml estimator class.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer", "cluster"} or list of them, \
            default=None
        Keep only estimators of these kinds; ``None`` keeps all.

    Returns
    -------
    estimators : list of (name, class)
        Sorted by name. Classes defined in private modules count when a public subpackage
        exports them; estimators needing a missing optional dependency (torch for
        ``skml.neural``) are left out.

    Examples
    --------
    >>> from skml.utils import all_estimators
    >>> isinstance(all_estimators(), list)
    True
    """
    import skml

    found = {}
    for info in pkgutil.walk_packages(skml.__path__, prefix="skml."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or "tests" in parts:
            continue
        if _optional_missing(parts[1]):
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                not name.startswith("_")
                and issubclass(cls, BaseEstimator)
                and cls.__module__.startswith("skml.")
                and not inspect.isabstract(cls)
                and not getattr(cls, "_skml_abstract", False)
            ):
                found[name] = cls
    estimators = sorted(found.items(), key=itemgetter(0))
    if type_filter is None:
        return estimators
    kinds = [type_filter] if isinstance(type_filter, str) else list(type_filter)
    unknown = [k for k in kinds if k not in _TYPE_MIXINS]
    if unknown:
        raise ValueError(
            f"type_filter must be among {sorted(_TYPE_MIXINS)} or None, got {unknown!r}."
        )
    mixins = tuple(_TYPE_MIXINS[k] for k in kinds)
    return [(n, c) for n, c in estimators if issubclass(c, mixins)]
