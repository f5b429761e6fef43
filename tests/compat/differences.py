"""Failures of scikit-learn's own tests that are deliberate, argued differences of skml.

``{test file name: {test name (with or without its [params]): reason}}``. The owners of
each family add entries here with the reason (and the same difference is documented in
the estimator's docstring / user guide).
"""
DIFFERENCES = {
    "test_neighbors.py": {
        "test_predict_sparse_ball_kd_tree": (
            "scikit-learn raises when a model fitted with algorithm='kd_tree' or "
            "'ball_tree' gets sparse queries; skml answers them by its sparse brute "
            "force, which ranks neighbours by the same exact distances as its trees (the "
            "same neighbours, no error). Documented in doc/user_guide/neighbors.rst."),
    },
}
