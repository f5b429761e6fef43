"""Naive Bayes classifiers: Bayes' rule with features independent given the class.

:class:`GaussianNB` for continuous features, :class:`MultinomialNB` for counts and
:class:`BernoulliNB` for binary features; all compute posteriors in log space
(log-sum-exp) and learn incrementally with ``partial_fit``.
"""
from skml.naive_bayes._discrete import BernoulliNB, MultinomialNB
from skml.naive_bayes._gaussian import GaussianNB

__all__ = ["BernoulliNB", "GaussianNB", "MultinomialNB"]
