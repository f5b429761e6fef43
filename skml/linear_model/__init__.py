"""Linear models: least squares, ridge, lasso and elastic net (coordinate descent), and
logistic regression with Newton, BFGS and L-BFGS solvers."""
from skml.linear_model._base import LinearRegression, Ridge
from skml.linear_model._coordinate_descent import ElasticNet, Lasso, enet_path, lasso_path
from skml.linear_model._logistic import LogisticRegression

__all__ = [
    "ElasticNet",
    "Lasso",
    "LinearRegression",
    "LogisticRegression",
    "Ridge",
    "enet_path",
    "lasso_path",
]
