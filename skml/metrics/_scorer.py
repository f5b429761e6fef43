"""Scorers for the classification and segmentation scores scikit-learn lacks.

scikit-learn resolves ``scoring="name"`` only against its own private registry, with no
public way to add names; worse, its searches and ``cross_val_score`` validate the string
against a set of names copied from that registry when ``sklearn.model_selection`` is
imported, so even a name added to the registry later is refused. skml's scorers are
therefore objects made by the public
``sklearn.metrics.make_scorer``, found by name through :func:`get_scorer`, which also
returns every scikit-learn scorer, so one call serves both::

    GridSearchCV(clf, grid, scoring=get_scorer("specificity_macro"))
    GridSearchCV(clf, grid, refit="npv",
                 scoring={"npv": get_scorer("negative_predictive_value"),
                          "acc": "accuracy"})
"""
import copy

from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import get_scorer_names as _sklearn_get_scorer_names
from sklearn.metrics import make_scorer

from skml.metrics._classification import (
    negative_predictive_value,
    positive_predictive_value,
    specificity_score,
)
from skml.metrics._segmentation import dice_score, iou_score

__all__ = ["get_scorer", "get_scorer_names"]


def _build_registry():
    registry = {}
    for name, func in (("specificity", specificity_score),
                       ("negative_predictive_value", negative_predictive_value),
                       ("positive_predictive_value", positive_predictive_value)):
        # scikit-learn's pattern for precision/recall: binary under the bare name,
        # the averages under suffixed names
        registry[name] = make_scorer(func, average="binary")
        for average in ("micro", "macro", "weighted", "samples"):
            registry[f"{name}_{average}"] = make_scorer(func, average=average)
    for name, func in (("iou", iou_score), ("dice", dice_score)):
        # segmentation's mean IoU / mean Dice: the macro average over labels
        registry[f"mean_{name}"] = make_scorer(func, average="macro")
        for average in ("micro", "weighted"):
            registry[f"{name}_{average}"] = make_scorer(func, average=average)
    return registry


_SCORERS = _build_registry()


def get_scorer_names():
    """Names :func:`get_scorer` accepts: skml's and scikit-learn's.

    Returns
    -------
    names : list of str
        Sorted.

    Examples
    --------
    >>> from skml.metrics import get_scorer_names
    >>> "specificity_macro" in get_scorer_names() and "accuracy" in get_scorer_names()
    True
    """
    return sorted(set(_SCORERS) | set(_sklearn_get_scorer_names()))


def get_scorer(scoring):
    """A scorer object by name, for ``GridSearchCV(scoring=...)`` and
    ``cross_val_score``.

    skml's names (``"specificity"``, ``"specificity_macro"``,
    ``"negative_predictive_value_weighted"``, ``"mean_iou"``, ``"dice_micro"``, ...:
    see :func:`get_scorer_names`) give scorers made by ``sklearn.metrics.make_scorer``;
    any other name is looked up by ``sklearn.metrics.get_scorer``. Pass the returned
    object (not the name) to scikit-learn, alone or in a dict of several metrics.

    Parameters
    ----------
    scoring : str or callable
        A scorer name, or a scorer (returned unchanged, as scikit-learn does).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, greater is better.

    Raises
    ------
    ValueError
        If the name is neither skml's nor scikit-learn's.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skml.metrics import get_scorer
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]},
    ...                       scoring=get_scorer("specificity"), cv=3).fit(X, y)
    >>> bool(search.best_score_ > 0.8)
    True
    """
    if callable(scoring):
        return scoring
    if isinstance(scoring, str) and scoring in _SCORERS:
        return copy.deepcopy(_SCORERS[scoring])
    try:
        return _sklearn_get_scorer(scoring)
    except ValueError:
        raise ValueError(
            f"{scoring!r} is not a valid scoring value. Use skml.metrics."
            "get_scorer_names() to get the names of all available scorers (skml's and "
            "scikit-learn's)."
        ) from None
