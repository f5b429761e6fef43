"""What the embedding estimators share: output feature names, the tags, and the input
checks of the neighbour-graph methods."""
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import validate_data

from skml.decomposition._scaling import rescale_sparse

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

    def _to_training_frame(self, X):
        """New points in the frame the neighbour-graph methods fitted in: minus the
        training centre ``_shift`` (None: a fit that was not centred, sparse or
        precomputed), times ``2**-_exponent`` (exact). Sparse X stays sparse when the
        fit was not centred; otherwise the result is a C-contiguous array of X's
        dtype."""
        if sparse.issparse(X):
            if self._shift is None:
                return rescale_sparse(X, self._exponent)
            X = X.toarray()  # new points for a model fitted on dense (centred) data
        if self._shift is not None:
            X = X - self._shift
        return np.ascontiguousarray(np.ldexp(X, -self._exponent), dtype=X.dtype)


def validate_neighbour_input(estimator, X, reset, order=None):
    """X for a neighbour-graph embedding (Isomap, t-SNE): float64 or float32, sparse
    input as canonical CSR, at least 2 samples to fit; with ``metric="precomputed"`` a
    non-negative (at fit, square) distance matrix."""
    X = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32],
                      order=order, accept_sparse=["csr", "csc", "coo"],
                      ensure_min_samples=2 if reset else 1)
    if sparse.issparse(X):
        X = X.tocsr()
        X.sum_duplicates()
    if estimator.metric == "precomputed":
        if reset and X.shape[0] != X.shape[1]:
            raise ValueError(f"With metric='precomputed' X must be a square distance "
                             f"matrix, got shape {X.shape}.")
        if np.any((X.data if sparse.issparse(X) else X) < 0):
            raise ValueError("With metric='precomputed' X must hold non-negative "
                             "distances.")
    return X
