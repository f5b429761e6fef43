"""Classification scores that scikit-learn lacks: specificity, negative and positive
predictive value (H. Dai, "Note on Machine Learning" (preprint), Remarks 3.39-3.40).

They follow ``sklearn.metrics.precision_score`` exactly in their arguments
(``labels``, ``pos_label``, ``average``, ``sample_weight``, ``zero_division``) and read
the per-class counts from ``sklearn.metrics.multilabel_confusion_matrix``.
"""
import numbers
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import multilabel_confusion_matrix, precision_score
from sklearn.utils import check_consistent_length
from sklearn.utils.multiclass import type_of_target, unique_labels

__all__ = [
    "negative_predictive_value",
    "positive_predictive_value",
    "specificity_score",
]

_AVERAGES = (None, "binary", "micro", "macro", "weighted", "samples")


def _check_zero_division(zero_division):
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return zero_division
    elif (isinstance(zero_division, numbers.Real) and not isinstance(zero_division, bool)
          and (zero_division in (0, 1) or np.isnan(zero_division))):
        return zero_division
    raise ValueError(
        f"zero_division must be 'warn', 0.0, 1.0 or np.nan, got {zero_division!r}."
    )


def _check_average(average):
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {list(_AVERAGES)}, got {average!r}.")
    return average


def _divide(numerator, denominator, zero_division, what, empty_text):
    """``numerator / denominator`` where the denominator is > 0; elsewhere the
    ``zero_division`` value (0.0 with an UndefinedMetricWarning for ``"warn"``)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    zero = denominator == 0
    fill = 0.0 if zero_division == "warn" else float(zero_division)
    out = np.divide(numerator, np.where(zero, 1.0, denominator))
    out = np.where(zero, fill, out)
    if zero_division == "warn" and np.any(zero):
        warnings.warn(
            f"{what} is ill-defined and being set to 0.0 in labels with no {empty_text}. "
            "Use `zero_division` parameter to control this behavior.",
            UndefinedMetricWarning, stacklevel=4)
    return out


def _average(values, average, weights, zero_division):
    """Reduce per-class values as scikit-learn does: NaN entries (``zero_division=nan``)
    are left out of the mean; zero total weight gives the zero_division value."""
    if average is None:
        return values
    if average == "weighted" and weights.sum() == 0:
        return 0.0 if zero_division == "warn" else float(zero_division)
    keep = ~np.isnan(values)
    if not keep.any():
        return float("nan")
    w = None if weights is None else weights[keep]
    if w is not None and w.sum() == 0:
        return float("nan")
    return float(np.average(values[keep], weights=w))


def _check_targets(y_true, y_pred):
    check_consistent_length(y_true, y_pred)
    kind_true = type_of_target(y_true, input_name="y_true")
    kind_pred = type_of_target(y_pred, input_name="y_pred")
    kinds = {kind_true, kind_pred}
    if kinds == {"binary", "multiclass"}:
        kinds = {"multiclass"}
    if len(kinds) > 1:
        raise ValueError(f"Classification metrics can't handle a mix of {kind_true} and "
                         f"{kind_pred} targets")
    kind = kinds.pop()
    if kind not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(f"{kind} is not supported")
    return kind


def _negative_counts(y_true, y_pred, labels, pos_label, average, sample_weight,
                     zero_division):
    """Per-class (or pooled, for micro) confusion counts tn, fp, fn, tp and the class
    supports, with scikit-learn's handling of ``average="binary"`` and ``labels``."""
    _check_average(average)
    _check_zero_division(zero_division)
    kind = _check_targets(y_true, y_pred)
    if average == "binary":
        if kind == "binary":
            present = unique_labels(y_true, y_pred)
            if len(present) >= 2 and pos_label not in present:
                raise ValueError(f"pos_label={pos_label!r} is not a valid label. It should "
                                 f"be one of {list(present)}")
            labels = [pos_label]
        else:
            raise ValueError(
                f"Target is {kind} but average='binary'. Please choose another average "
                "setting, one of [None, 'micro', 'macro', 'weighted'"
                + (", 'samples']." if kind == "multilabel-indicator" else "].")
            )
    elif average == "samples" and kind != "multilabel-indicator":
        raise ValueError("Samplewise metrics are not available outside of multilabel "
                         "classification.")
    mcm = multilabel_confusion_matrix(y_true, y_pred, sample_weight=sample_weight,
                                      labels=labels, samplewise=average == "samples")
    tn, fp, fn, tp = mcm[:, 0, 0], mcm[:, 0, 1], mcm[:, 1, 0], mcm[:, 1, 1]
    if average == "micro":
        tn, fp, fn, tp = (np.array([c.sum()]) for c in (tn, fp, fn, tp))
    return tn, fp, fn, tp


def _score(kind, y_true, y_pred, labels, pos_label, average, sample_weight,
           zero_division):
    tn, fp, fn, tp = _negative_counts(y_true, y_pred, labels, pos_label, average,
                                      sample_weight, zero_division)
    if kind == "specificity":
        values = _divide(tn, tn + fp, zero_division, "Specificity", "negative samples")
    else:
        values = _divide(tn, tn + fn, zero_division, "Negative predictive value",
                         "negative predictions")
    if average in ("binary", "micro"):
        return float(values[0])
    if average == "weighted":
        weights = (tp + fn).astype(np.float64)
    elif average == "samples":
        weights = (None if sample_weight is None
                   else np.asarray(sample_weight, dtype=np.float64))
    else:
        weights = None
    return _average(values, average, weights, zero_division)


_PARAMS_DOC = """
    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_labels)
        True labels (a label indicator matrix for multilabel data).
    y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        Predicted labels, as returned by a classifier's ``predict``.
    labels : array-like, default=None
        The labels to include when ``average != "binary"`` (and their order for
        ``average=None``); ``None`` uses every label in ``y_true`` and ``y_pred``.
    pos_label : int, float, bool or str, default=1
        The class reported when ``average="binary"``: every other class is "negative".
    average : {"binary", "micro", "macro", "weighted", "samples"} or None
        Default ``"binary"``.
        ``"binary"``: the score of ``pos_label`` (binary targets only). Otherwise each
        class in turn is the positive one (one-vs-rest) and: ``None`` returns the
        per-class scores; ``"micro"`` pools the counts of all classes; ``"macro"`` is the
        unweighted mean; ``"weighted"`` the mean weighted by each class's support (its
        number of true samples, as in scikit-learn); ``"samples"`` (multilabel) the mean
        over samples.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        The value when the denominator is zero; ``"warn"`` gives 0.0 with an
        ``UndefinedMetricWarning``. NaN values are left out of the averages.
"""


def specificity_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                      sample_weight=None, zero_division="warn"):
    """Specificity (true negative rate): ``TN / (TN + FP)``.

    The recall of the negative side: the fraction of truly negative samples that the
    classifier calls negative. For a binary problem it equals the recall of the
    negative class, and ``1 - specificity`` is the false positive rate of the ROC curve.
    Arguments and averaging are those of ``sklearn.metrics.precision_score``.

    {params}
    Returns
    -------
    specificity : float or ndarray of shape (n_labels,)
        In ``[0, 1]``; an array when ``average=None``.

    Raises
    ------
    ValueError
        If the targets are of a mixed or unsupported type, if ``average="binary"`` with
        more than two classes or a ``pos_label`` that is not a label, or if ``average``
        or ``zero_division`` is not one of the allowed values.

    See Also
    --------
    negative_predictive_value : the precision of the negative side.
    sklearn.metrics.recall_score : the sensitivity, ``TP / (TP + FN)``.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Remark 3.40.
    .. [2] J. Yerushalmy, "Statistical problems in assessing methods of medical diagnosis,
       with special reference to X-ray techniques", Public Health Reports 62(40), 1947.

    Examples
    --------
    >>> from skml.metrics import specificity_score
    >>> y_true = [0, 0, 0, 0, 1, 1]
    >>> y_pred = [0, 0, 0, 1, 1, 0]
    >>> specificity_score(y_true, y_pred)
    0.75
    >>> specificity_score([0, 1, 2, 2], [0, 2, 2, 1], average=None)
    array([1.        , 0.66666667, 0.5       ])
    """
    return _score("specificity", y_true, y_pred, labels, pos_label, average,
                  sample_weight, zero_division)


def negative_predictive_value(y_true, y_pred, *, labels=None, pos_label=1,
                              average="binary", sample_weight=None, zero_division="warn"):
    """Negative predictive value: ``TN / (TN + FN)``.

    The precision of the negative side: the fraction of samples called negative that
    truly are. Arguments and averaging are those of ``sklearn.metrics.precision_score``.

    {params}
    Returns
    -------
    npv : float or ndarray of shape (n_labels,)
        In ``[0, 1]``; an array when ``average=None``.

    Raises
    ------
    ValueError
        As :func:`specificity_score`.

    See Also
    --------
    positive_predictive_value : the precision of the positive side.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Remark 3.39.
    .. [2] D. G. Altman, J. M. Bland, "Diagnostic tests 2: Predictive values", BMJ 309,
       1994.

    Examples
    --------
    >>> from skml.metrics import negative_predictive_value
    >>> y_true = [0, 0, 0, 0, 1, 1]
    >>> y_pred = [0, 0, 0, 1, 1, 0]
    >>> negative_predictive_value(y_true, y_pred)
    0.75
    """
    return _score("npv", y_true, y_pred, labels, pos_label, average, sample_weight,
                  zero_division)


def positive_predictive_value(y_true, y_pred, *, labels=None, pos_label=1,
                              average="binary", sample_weight=None, zero_division="warn"):
    """Positive predictive value: ``TP / (TP + FP)``, the precision.

    The notes' name for ``sklearn.metrics.precision_score``, which computes it (this
    function calls it with the same arguments).

    {params}
    Returns
    -------
    ppv : float or ndarray of shape (n_labels,)
        In ``[0, 1]``; an array when ``average=None``.

    Raises
    ------
    ValueError
        As ``sklearn.metrics.precision_score``.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.55, Remark 3.39.

    Examples
    --------
    >>> from skml.metrics import positive_predictive_value
    >>> positive_predictive_value([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0])
    0.5
    """
    return precision_score(y_true, y_pred, labels=labels, pos_label=pos_label,
                           average=average, sample_weight=sample_weight,
                           zero_division=zero_division)


for _f in (specificity_score, negative_predictive_value, positive_predictive_value):
    _f.__doc__ = _f.__doc__.replace("{params}", _PARAMS_DOC.strip() + "\n")
del _f
