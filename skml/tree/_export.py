"""Text rendering of a fitted tree."""
import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skml.tree._tree_model import TREE_LEAF
from skml.utils import check_param

__all__ = ["export_text"]


def export_text(decision_tree, *, feature_names=None, class_names=None, max_depth=10,
                spacing=3, decimals=2, show_weights=False, show_missing=False):
    """The rules of a fitted decision tree as indented text.

    The layout is scikit-learn's ``export_text``: one line per test, the left branch
    (``<=``) first, leaves showing the predicted class (or value).

    Parameters
    ----------
    decision_tree : DecisionTreeClassifier or DecisionTreeRegressor
        A fitted skml tree.
    feature_names : list of str, default=None
        One name per feature; ``feature_names_in_`` when fitted on a DataFrame, else
        ``feature_0``, ``feature_1``, ...
    class_names : list of str, default=None
        Names of the classes in the order of ``classes_``; the labels themselves when None.
    max_depth : int, default=10
        Deeper branches are shown as ``truncated branch of depth d``.
    spacing : int, default=3
        Width of one indentation step.
    decimals : int, default=2
        Decimals shown for thresholds and values.
    show_weights : bool, default=False
        Show the weighted class counts at the leaves of a classifier.
    show_missing : bool, default=False
        Append ``or missing`` to the branch that NaN values follow at each test.

    Returns
    -------
    report : str
        The text, one line per node visited.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.tree import DecisionTreeClassifier, export_text
    >>> iris = load_iris()
    >>> clf = DecisionTreeClassifier(max_depth=2).fit(iris.data, iris.target)
    >>> print(export_text(clf, feature_names=iris.feature_names))
    |--- petal length (cm) <= 2.45
    |   |--- class: 0
    |--- petal length (cm) >  2.45
    |   |--- petal width (cm) <= 1.75
    |   |   |--- class: 1
    |   |--- petal width (cm) >  1.75
    |   |   |--- class: 2
    <BLANKLINE>
    """
    check_is_fitted(decision_tree, "tree_")
    tree = decision_tree.tree_
    check_param(max_depth, "max_depth", types=(numbers.Integral,), min_val=0)
    check_param(spacing, "spacing", types=(numbers.Integral,), min_val=1)
    check_param(decimals, "decimals", types=(numbers.Integral,), min_val=0)
    n_features = tree.n_features
    if feature_names is None:
        names = getattr(decision_tree, "feature_names_in_", None)
        names = ([f"feature_{i}" for i in range(n_features)] if names is None
                 else [str(n) for n in names])
    else:
        names = [str(n) for n in feature_names]
        if len(names) != n_features:
            raise ValueError(f"feature_names must contain {n_features} names, got "
                             f"{len(names)}.")
    is_classifier = hasattr(decision_tree, "classes_")
    if is_classifier:
        labels = decision_tree.classes_ if class_names is None else class_names
        if len(labels) != len(decision_tree.classes_):
            raise ValueError(f"class_names must contain {len(decision_tree.classes_)} "
                             f"names, got {len(labels)}.")
    step = "|" + " " * spacing
    lines = []

    def leaf_text(node):
        value = tree.value[node, 0]
        if is_classifier:
            text = f"class: {labels[int(np.argmax(value))]}"
            if show_weights:
                counts = value * tree.weighted_n_node_samples[node]
                text = ("weights: [" + ", ".join(f"{c:.{decimals}f}" for c in counts)
                        + "] " + text)
            return text
        return f"value: [{value[0]:.{decimals}f}]"

    def subtree_depth(node):
        depth = 0
        stack = [(node, 0)]
        while stack:
            n, d = stack.pop()
            depth = max(depth, d)
            if tree.children_left[n] != TREE_LEAF:
                stack += [(tree.children_left[n], d + 1), (tree.children_right[n], d + 1)]
        return depth

    def walk(node, depth):
        indent = step * depth + "|" + "-" * spacing + " "
        if tree.children_left[node] == TREE_LEAF:
            lines.append(indent + leaf_text(node))
            return
        if depth > max_depth:
            # the branch's depth counts its levels of nodes (a leaf alone would be 1)
            lines.append(indent + f"truncated branch of depth {subtree_depth(node) + 1}")
            return
        name = names[tree.feature[node]]
        thr = f"{tree.threshold[node]:.{decimals}f}"
        to_left = bool(tree.missing_go_to_left[node])
        miss_l = " or missing" if show_missing and to_left else ""
        miss_r = " or missing" if show_missing and not to_left else ""
        lines.append(indent + f"{name} <= {thr}{miss_l}")
        walk(tree.children_left[node], depth + 1)
        lines.append(indent + f"{name} >  {thr}{miss_r}")
        walk(tree.children_right[node], depth + 1)

    walk(0, 0)
    return "\n".join(lines) + "\n"
