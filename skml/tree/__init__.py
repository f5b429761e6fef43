"""Decision trees: ID3 / C4.5 (information gain, gain ratio, missing values, pruning) and
CART (Gini, squared and absolute error), grown by the Cython splitter in
``skml._kernels._tree``."""
from skml.tree._classes import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)
from skml.tree._export import export_text, plot_tree

__all__ = [
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "export_text",
    "plot_tree",
]
