"""Text and matplotlib renderings of a fitted tree."""
import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skml.tree._tree_model import TREE_LEAF
from skml.utils import check_param

__all__ = ["export_text", "plot_tree"]


def _feature_names(decision_tree, feature_names, default):
    """The names shown for the features: ``feature_names`` (one per feature), else the
    names seen in ``fit``, else ``default.format(i)``."""
    n_features = decision_tree.tree_.n_features
    if feature_names is None:
        names = getattr(decision_tree, "feature_names_in_", None)
        return ([default.format(i) for i in range(n_features)] if names is None
                else [str(n) for n in names])
    names = [str(n) for n in feature_names]
    if len(names) != n_features:
        raise ValueError(f"feature_names must contain {n_features} names, got "
                         f"{len(names)}.")
    return names


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
    names = _feature_names(decision_tree, feature_names, "feature_{}")
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


def _node_text(tree, node, names, class_names, criterion, is_classifier, impurity,
               proportion, node_ids, precision, labels):
    lines = []
    if node_ids:
        lines.append(f"node #{node}" if labels else f"#{node}")
    if tree.children_left[node] != TREE_LEAF:
        lines.append(f"{names[tree.feature[node]]} <= "
                     f"{round(float(tree.threshold[node]), precision)}")
    if impurity:
        value = round(float(tree.impurity[node]), precision)
        lines.append(f"{criterion} = {value}" if labels else f"{value}")
    if proportion:
        samples = f"{round(100.0 * tree.n_node_samples[node] / tree.n_node_samples[0], 1)}%"
    else:
        samples = str(tree.n_node_samples[node])
    lines.append(f"samples = {samples}" if labels else samples)
    value = tree.value[node]
    if is_classifier and not proportion:
        value = value * tree.weighted_n_node_samples[node]   # weighted class counts
    if is_classifier:
        rows = [v[:k] for v, k in zip(value, tree.n_classes)]
        integral = all(np.all(np.mod(r, 1) == 0) for r in rows) and not proportion

        def fmt(x):
            return str(int(x)) if integral else str(round(float(x), precision))
        text = "; ".join("[" + ", ".join(fmt(x) for x in r) + "]" for r in rows)
    else:
        text = ", ".join(str(round(float(v), precision)) for v in value[:, 0])
        if tree.n_outputs > 1:
            text = "[" + text + "]"
    lines.append(f"value = {text}" if labels else text)
    if is_classifier and tree.n_outputs == 1 and class_names is not None:
        label = class_names[int(np.argmax(tree.value[node, 0]))]
        lines.append(f"class = {label}" if labels else str(label))
    return "\n".join(lines)


def plot_tree(decision_tree, *, max_depth=None, feature_names=None, class_names=None,
              label="all", filled=False, impurity=True, node_ids=False, proportion=False,
              rounded=False, precision=3, ax=None, fontsize=None):
    """Draw a fitted tree with matplotlib, one box per node (scikit-learn's
    ``plot_tree``, which accepts only scikit-learn's own trees).

    Nodes are laid out top-down: the leaves evenly spaced from left to right in the order
    of the tree (left branch first), each inner node centred above its children, with an
    arrow from each node to its children (the left child is ``x[feature] <= threshold``).

    Parameters
    ----------
    decision_tree : DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier or \
ExtraTreeRegressor
        A fitted skml tree (any estimator with a ``tree_`` of skml's ``Tree``).
    max_depth : int, default=None
        Deeper nodes are not drawn; a truncated branch shows as ``(...)``.
    feature_names : list of str, default=None
        Names of the features; ``feature_names_in_`` or ``x[i]`` when None.
    class_names : list of str or bool, default=None
        Names of the classes (single-output classifiers): shown as ``class = ...``;
        ``True``: the labels of ``classes_``.
    label : {"all", "root", "none"}, default="all"
        Which nodes show the names of their fields.
    filled : bool, default=False
        Colour the boxes: by majority class (the stronger the purer) for classifiers, by
        value for regressors.
    impurity : bool, default=True
        Show each node's impurity.
    node_ids : bool, default=False
        Show each node's id.
    proportion : bool, default=False
        Samples as a percentage of the root's, values as fractions.
    rounded : bool, default=False
        Boxes with rounded corners.
    precision : int, default=3
        Digits of thresholds, impurities and values.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; the current axes when None.
    fontsize : int, default=None
        Font size of the texts.

    Returns
    -------
    annotations : list of matplotlib.text.Annotation
        One per node drawn (and one per truncated branch).

    Raises
    ------
    ValueError
        If the tree is not fitted, or ``feature_names`` / ``class_names`` have the wrong
        length.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skml.tree import DecisionTreeClassifier, plot_tree
    >>> iris = load_iris()
    >>> clf = DecisionTreeClassifier(max_depth=2).fit(iris.data, iris.target)
    >>> len(plot_tree(clf, feature_names=iris.feature_names, filled=True))
    5
    """
    import matplotlib.pyplot as plt

    if not hasattr(decision_tree, "tree_"):
        raise ValueError("plot_tree needs a fitted tree (it has no tree_).")
    check_param(label, "label", options=("all", "root", "none"))
    check_param(precision, "precision", types=(numbers.Integral,), min_val=0)
    if max_depth is not None:
        check_param(max_depth, "max_depth", types=(numbers.Integral,), min_val=0)
    tree = decision_tree.tree_
    names = _feature_names(decision_tree, feature_names, "x[{}]")
    is_classifier = hasattr(decision_tree, "classes_")
    if is_classifier and class_names is True:
        class_names = [str(c) for c in np.atleast_1d(decision_tree.classes_)]
    if is_classifier and class_names is not None and tree.n_outputs == 1:
        if len(class_names) != tree.n_classes[0]:
            raise ValueError(f"class_names must contain {tree.n_classes[0]} names, got "
                             f"{len(class_names)}.")
    criterion = getattr(decision_tree, "criterion", "impurity")
    ax = plt.gca() if ax is None else ax

    # layout: x of the leaves in order, inner nodes centred over their children
    pos = {}
    next_x = [0.0]

    def place(node, depth):
        left = tree.children_left[node]
        if left == TREE_LEAF or (max_depth is not None and depth >= max_depth):
            x = next_x[0]
            next_x[0] += 1.0
        else:
            x = 0.5 * (place(left, depth + 1) + place(tree.children_right[node], depth + 1))
        pos[node] = (x, depth)
        return x

    place(0, 0)
    width = max(next_x[0] - 1.0, 1.0)
    height = max(d for _, d in pos.values()) + 1
    ax.clear()
    ax.set_axis_off()

    def xy(node):
        x, d = pos[node]
        return ((x + 0.5) / (width + 1.0), 1.0 - (d + 0.5) / (height + 0.5))

    if filled:
        cmap = plt.get_cmap("tab10" if is_classifier else "viridis")
        if not is_classifier:
            vals = tree.value[:, 0, 0]
            lo, hi = float(vals.min()), float(vals.max())

    def box_color(node):
        if not filled:
            return "white"
        if is_classifier:
            frac = tree.value[node, 0, :tree.n_classes[0]]
            k = int(np.argmax(frac))
            second = np.sort(frac)[-2] if frac.size > 1 else 0.0
            alpha = (frac[k] - second) / (1.0 - second) if second < 1.0 else 0.0
            rgb = np.array(cmap(k % 10)[:3])
        else:
            alpha = 0.0 if hi == lo else (tree.value[node, 0, 0] - lo) / (hi - lo)
            rgb = np.array(cmap(0.7)[:3])
        return tuple(alpha * rgb + (1.0 - alpha) * np.ones(3))

    bbox = dict(boxstyle="round" if rounded else "square", ec="black")
    kwargs = dict(ha="center", va="center", xycoords="axes fraction",
                  textcoords="axes fraction", fontsize=fontsize)
    annotations = []
    stack = [(0, None, 0)]
    while stack:
        node, parent, depth = stack.pop()
        labels = label == "all" or (label == "root" and node == 0)
        text = _node_text(tree, node, names, class_names if is_classifier else None,
                          criterion, is_classifier, impurity, proportion, node_ids,
                          precision, labels)
        arrow = {} if parent is None else {"arrowprops": dict(arrowstyle="<-")}
        annotations.append(ax.annotate(text, xy(parent if parent is not None else node),
                                       xy(node), bbox=dict(bbox, fc=box_color(node)),
                                       **kwargs, **arrow))
        if tree.children_left[node] == TREE_LEAF:
            continue
        if max_depth is not None and depth >= max_depth:
            continue
        for child in (tree.children_right[node], tree.children_left[node]):
            if max_depth is not None and depth + 1 > max_depth:
                continue
            stack.append((child, node, depth + 1))
    # truncated branches
    if max_depth is not None:
        for node, (x, d) in pos.items():
            if d == max_depth and tree.children_left[node] != TREE_LEAF:
                annotations.append(ax.annotate(
                    "(...)", xy(node), (xy(node)[0], xy(node)[1] - 0.5 / (height + 0.5)),
                    arrowprops=dict(arrowstyle="<-"), **kwargs))
    return annotations
