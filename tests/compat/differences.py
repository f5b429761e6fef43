"""Failures of scikit-learn's own tests that are deliberate, argued differences of skml.

``{test file name: {test name (with or without its [params]): reason}}``. The owners of
each family add entries here with the reason (and the same difference is documented in
the estimator's docstring / user guide).
"""
DIFFERENCES = {}
