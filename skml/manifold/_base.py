"""What the embedding estimators share: output feature names and the tags."""
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

__all__ = []


class _EmbeddingBase(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A transformer whose output is ``embedding_``'s columns (named ``<class>0``, ...)
    and whose input is pairwise with ``metric="precomputed"``. ``_takes_sparse``: the
    estimator (a neighbour-graph method) accepts sparse input and keeps float32."""

    _takes_sparse = False

    def _precomputed(self):
        return self.metric == "precomputed"

    @property
    def _n_features_out(self):
        return self.embedding_.shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self._precomputed()
        if self._takes_sparse:
            tags.input_tags.sparse = True
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
