"""Random sparse matrices with the awkward features real ones have (shared by the sparse
tests of the linear models and SVMs)."""
import numpy as np
import scipy.sparse as sp


def awkward_sparse(n, p, density, seed, dtype=np.float64, fmt="csr"):
    """A CSR/CSC matrix with explicit stored zeros, empty rows and (for CSR/CSC) unsorted
    indices, and its dense copy."""
    rng = np.random.RandomState(seed)
    X = sp.random(n, p, density=density, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.randn(k) * 2.0).astype(dtype)
    X = X.tolil()
    X[rng.choice(n, max(1, n // 10), replace=False)] = 0  # empty rows
    X = sp.csr_matrix(X)
    if X.nnz:
        X.data[rng.rand(X.nnz) < 0.1] = 0.0  # explicit zeros, kept stored
    # unsorted column indices within every row
    data, indices = X.data.copy(), X.indices.copy()
    for i in range(n):
        a, b = X.indptr[i], X.indptr[i + 1]
        perm = rng.permutation(b - a)
        data[a:b] = data[a:b][perm]
        indices[a:b] = indices[a:b][perm]
    X = sp.csr_matrix((data, indices, X.indptr.copy()), shape=(n, p))
    X.has_sorted_indices = False
    dense = X.toarray()
    if fmt == "csc":
        X = sp.csc_matrix(X)
    return X, dense
