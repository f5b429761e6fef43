"""SVC and SVR: kernel support vector machines solved by SMO."""
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from skml.svm import _platt
from skml.linear_model._base import progress
from skml.svm._base import _BaseSVM, _check_finite_model, box_bounds, svm_sample_weight
from skml.utils import Interval, StrOptions, store_init_params

__all__ = ["SVC", "SVR"]

_PROBA_FOLDS = 5


def ovr_from_ovo(dec_ovo, n_classes):
    """One-vs-rest scores from one-vs-one decision values (libsvm sign: positive means
    the first class of the pair).

    Each class gets its number of pairwise wins plus its summed pairwise confidence
    squashed into (-1/3, 1/3), so the votes decide and the confidences only break ties.
    This is scikit-learn's transformation, so the scores can be compared with its own.
    """
    n = dec_ovo.shape[0]
    votes = np.zeros((n, n_classes))
    conf = np.zeros((n, n_classes))
    k = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            d = dec_ovo[:, k]
            conf[:, i] += d
            conf[:, j] -= d
            win_i = d >= 0  # (scikit-learn: a zero pairwise value votes for i here)
            votes[win_i, i] += 1
            votes[~win_i, j] += 1
            k += 1
    return votes + conf / (3.0 * (np.abs(conf) + 1.0))


def _proba_available(est):
    if not est.probability:
        raise AttributeError(
            "predict_proba is not available when probability=False; fit with "
            "probability=True (Platt scaling)."
        )
    return True


class SVC(ClassifierMixin, _BaseSVM):
    """C-support vector classification with a kernel, solved by SMO.

    Solves the soft-margin dual (Example 19 of the notes, with the kernel trick of
    Remark 3.6) for every pair of classes::

        min_a  1/2 sum_ij a_i a_j y_i y_j K(x_i, x_j) - sum_i a_i
        s.t.   sum_i y_i a_i = 0,   0 <= a_i <= C_i

    by sequential minimal optimisation with second-order working-set selection, a
    kernel-row cache and shrinking (``skml/_kernels/_smo.pyx``). The result is libsvm's
    up to the stopping tolerance: the same support vectors and decision values as
    ``sklearn.svm.SVC``. Multiclass problems are split one-vs-one.

    Parameters
    ----------
    C : float, default=1.0
        Penalty on margin violations (the box bound of the dual), > 0; ``np.inf`` is the
        hard margin (no box bound), as in scikit-learn.
    kernel : {"linear", "poly", "rbf", "sigmoid", "laplace", "precomputed"} or callable, \
            default="rbf"
        ``linear`` x.y; ``poly`` (gamma x.y + coef0)^degree; ``rbf``
        exp(-gamma ||x - y||^2); ``sigmoid`` tanh(gamma x.y + coef0); ``laplace``
        exp(-gamma ||x - y||_1); ``precomputed``: ``X`` is the kernel matrix (square
        n x n in ``fit``, n_test x n_train in prediction); a callable ``k(X, Y)`` returns
        the kernel matrix.
    degree : int, default=3
        Degree of the ``poly`` kernel.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient: ``"scale"`` is 1 / (n_features * X.var()), ``"auto"`` is
        1 / n_features; a float must be > 0.
    coef0 : float, default=0.0
        Constant term of the ``poly`` and ``sigmoid`` kernels.
    shrinking : bool, default=True
        Use the shrinking heuristic.
    probability : bool, default=False
        Fit Platt's sigmoid on internally cross-validated (5-fold) decision values, so
        ``predict_proba`` is available. Makes ``fit`` about six times slower. The sigmoid
        is constrained to be increasing and to pass through 1/2 at decision value 0 (see
        Notes).
    tol : float, default=1e-3
        Stop when the maximal KKT violation ``m(a) - M(a)`` is below ``tol``.
    cache_size : float, default=200
        Size of the kernel-row cache in MB.
    class_weight : dict or "balanced", default=None
        Multiply ``C`` by ``class_weight[c]`` for the samples of class ``c``.
    verbose : bool or int, default=False
        Progress: a bar over the one-vs-one problems (and over Platt's cross-validation
        when ``probability=True``; tqdm's, or one line per problem without tqdm);
        nothing when False.
    max_iter : int, default=-1
        Limit on SMO iterations per binary problem; -1 for none (a safeguard of
        max(10^7, 100 n) still applies).
    decision_function_shape : {"ovr", "ovo"}, default="ovr"
        Shape of ``decision_function`` with more than two classes: the one-vs-one values
        (n_samples, n_classes (n_classes - 1) / 2), or one-vs-rest scores built from them
        (n_samples, n_classes).
    break_ties : bool, default=False
        With ``decision_function_shape="ovr"`` and more than two classes, predict the
        argmax of ``decision_function`` instead of the pairwise vote (whose ties go to
        the first class).
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds of the internal cross-validation when ``probability=True``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_weight_ : ndarray of shape (n_classes,)
        The multipliers of ``C`` per class.
    support_ : ndarray of shape (n_SV,)
        Indices of the support vectors, grouped by class, increasing within a class.
    support_vectors_ : ndarray of shape (n_SV, n_features)
        The support vectors (empty for a precomputed kernel).
    n_support_ : ndarray of shape (n_classes,), dtype int32
        Number of support vectors per class.
    dual_coef_ : ndarray of shape (n_classes - 1, n_SV)
        ``y_i a_i`` of the support vectors in the one-vs-one problems, laid out like
        libsvm (the coefficients of class ``c`` in its problem against class ``k``
        are in row ``k - 1`` if ``k > c`` else ``k``).
    intercept_ : ndarray of shape (n_classes (n_classes - 1) / 2,)
        Constants of the pairwise decision functions.
    coef_ : ndarray of shape (n_classes (n_classes - 1) / 2, n_features)
        Primal weights; only with ``kernel="linear"``.
    probA_, probB_ : ndarray of shape (n_classes (n_classes - 1) / 2,)
        Platt's sigmoid parameters (empty unless ``probability=True``).
    fit_status_ : int
        0 if every SMO run converged, 1 if one stopped at ``max_iter``.
    n_iter_ : ndarray of shape (n_classes (n_classes - 1) / 2,), dtype int32
        SMO iterations per binary problem.
    shape_fit_ : tuple
        Shape of the training ``X``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when ``X`` has string feature names.

    Notes
    -----
    Samples with a zero or negative ``sample_weight`` are left out of the problem, as in
    libsvm (a sample's box bound is ``C * class_weight * sample_weight``).

    A callable kernel receives ``X`` as given (any container it understands), as in
    scikit-learn; ``support_vectors_`` is then empty and predictions call it against the
    training ``X``.

    Sparse ``X`` (CSR; other formats are converted to CSR, indices sorted on a copy when
    they are not) is never densified: SMO computes kernel rows by merging CSR rows, and
    ``support_vectors_`` and ``dual_coef_`` are CSR matrices (as in scikit-learn). A
    model fitted on dense data refuses sparse input at prediction.

    Differences from scikit-learn 1.9, argued: ``probability`` is kept (not deprecated)
    because skml's Platt scaling is consistent with ``predict``; near float max skml fits
    the right model instead of raising; a kernel callable's output shape is checked at
    ``fit``.

    A ``precomputed`` (or callable) kernel must give a symmetric matrix with a
    non-negative diagonal, or ``fit`` raises ``ValueError``. A matrix that is symmetric
    but not positive semi-definite is accepted, as in libsvm: the dual is then not
    convex and SMO (which replaces a non-positive curvature by 1e-12) stops at a point
    where every pair of variables satisfies the KKT conditions to ``tol``, not
    necessarily the global optimum; ``fit`` warns when the solver met negative
    curvature. The ``sigmoid`` kernel is not positive semi-definite in general either.

    Platt's sigmoid ``1 / (1 + exp(A f + B))`` is fitted with ``A < 0`` and ``B = 0``
    (libsvm leaves both free): probabilities increase with the decision value, and with
    two classes ``argmax(predict_proba)`` always equals ``predict``. With more classes
    the coupled probabilities' argmax can still differ from the one-vs-one vote when
    the votes are close (much more rarely than in libsvm). ``probB_`` is 0.

    Data whose largest magnitude is beyond 1e100 or below 1e-100 are read as ``X / s``
    (``s`` a power of two) with ``gamma`` rescaled to match, so the kernel (and, with
    ``gamma="scale"``, the whole model) is the same as at ordinary magnitudes; a linear
    kernel that overflows, or a non-finite solution, raises ``ValueError``.

    Sparse input is not supported (dense arrays only). Expected failures of
    scikit-learn's estimator checks: none.

    Raises
    ------
    ValueError
        For invalid parameters, NaN/infinite input, a single class (or all samples with a
        positive weight in one class), all weights non-positive, a precomputed or callable
        kernel matrix that is not square and symmetric, a linear kernel that overflows,
        or a solution that is not finite.
    TypeError
        For a sparse precomputed kernel matrix.
    NotFittedError
        From ``predict_proba`` of a model fitted with ``probability=False``.

    References
    ----------
    C. Cortes and V. Vapnik, "Support-vector networks", Machine Learning 20, 1995. J. C.
    Platt, "Fast training of support vector machines using sequential minimal
    optimization", 1998, and "Probabilistic outputs for support vector machines", 1999.
    R.-E. Fan, P.-H. Chen and C.-J. Lin, "Working set selection using second order
    information for training SVM", JMLR 6, 2005. H.-T. Lin, C.-J. Lin and R. C. Weng, "A
    note on Platt's probabilistic outputs for support vector machines", Machine Learning
    68, 2007. T.-F. Wu, C.-J. Lin and R. C. Weng, "Probability estimates for multi-class
    classification by pairwise coupling", JMLR 5, 2004. H. Dai, "Note on Machine
    Learning" (preprint), Example 19 and Remark 3.6.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skml.svm import SVC
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SVC(C=1.0).fit(X, y)
    >>> clf.n_support_
    array([ 7, 29, 24], dtype=int32)
    >>> round(clf.score(X, y), 3)
    0.973
    """

    _parameter_constraints = {
        "probability": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "decision_function_shape": [StrOptions({"ovr", "ovo"})],
        "break_ties": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, C=1.0, kernel="rbf", degree=3, gamma="scale", coef0=0.0,
                 shrinking=True, probability=False, tol=1e-3, cache_size=200,
                 class_weight=None, verbose=False, max_iter=-1,
                 decision_function_shape="ovr", break_ties=False, random_state=None):
        store_init_params(self, locals())

    # ---- fit --------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Fit the one-vs-one SVMs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Training data, or the kernel matrix for ``kernel="precomputed"``.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes among samples with positive weight).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample multipliers of ``C``.

        Returns
        -------
        self : SVC
        """
        self._check_params()
        X, y, n_samples = self._validate_fit_data(X, y)
        check_classification_targets(y)
        sw = svm_sample_weight(sample_weight, n_samples)
        classes, y_ind = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got "
                f"{classes.shape[0]} class ({classes[0]!r}): SVC cannot separate a "
                "single class."
            )
        class_weight = compute_class_weight(self.class_weight, classes=classes, y=y,
                                            sample_weight=sw)
        C_all = box_bounds(self.C, sw, class_weight[y_ind])
        keep = C_all > 0
        if not np.any(keep):
            raise ValueError("Invalid input - all samples have zero or negative weights.")
        present = np.unique(y_ind[keep])
        if present.shape[0] < 2:
            raise ValueError(
                "Invalid input - all samples with positive weights belong to the same "
                f"class ({classes[present[0]]!r}); SVC needs at least two classes."
            )
        self.classes_ = classes
        self.class_weight_ = class_weight
        Xs = self._fit_kernel(X, sw)
        data, code, neg_diag = self._train_kernel_data(Xs)
        self.shape_fit_ = X.shape if hasattr(X, "shape") else (n_samples,)

        n_classes = classes.shape[0]
        members = [np.flatnonzero(keep & (y_ind == c)) for c in range(n_classes)]
        pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
        coefs, rhos, n_iter, status, neg = [], [], [], 0, 0
        for i, j in progress(pairs, total=len(pairs), verbose=self.verbose,
                             desc="SVC one-vs-one problems"):
            index = np.concatenate([members[i], members[j]])
            ys = np.r_[np.ones(members[i].size), -np.ones(members[j].size)]
            if members[i].size == 0 or members[j].size == 0:
                # a class whose samples all have zero weight: nothing to separate; the
                # pair's decision is the constant +1 or -1 towards the present class
                coefs.append(np.zeros(index.size))
                rhos.append(-1.0 if members[i].size else (1.0 if members[j].size else 0.0))
                n_iter.append(0)
                continue
            res = self._smo(data, code, index, ys, -np.ones(index.size), C_all[index],
                            report=False)
            coefs.append(ys * res["alpha"])
            rhos.append(res["rho"])
            n_iter.append(res["n_iter"])
            status = max(status, res["status"])
            neg += res["n_negative_curvature"]
        self._warn_not_psd(neg, neg_diag)

        # support vectors: samples with a nonzero coefficient in some pair, by class
        is_sv = np.zeros(n_samples, dtype=bool)
        for (i, j), coef in zip(pairs, coefs):
            index = np.concatenate([members[i], members[j]])
            is_sv[index[coef != 0]] = True
        sv_by_class = [m[is_sv[m]] for m in members]
        support = np.concatenate(sv_by_class).astype(np.int32)
        n_support = np.array([s.size for s in sv_by_class], dtype=np.int32)
        position = np.full(n_samples, -1, dtype=np.intp)
        position[support] = np.arange(support.size)
        dual = np.zeros((n_classes - 1, support.size))
        for (i, j), coef in zip(pairs, coefs):
            index = np.concatenate([members[i], members[j]])
            ni = members[i].size
            nz_i = coef[:ni] != 0
            nz_j = coef[ni:] != 0
            dual[j - 1, position[index[:ni][nz_i]]] = coef[:ni][nz_i]
            dual[i, position[index[ni:][nz_j]]] = coef[ni:][nz_j]

        _check_finite_model(dual, rhos)
        self.support_ = support
        self.n_support_ = n_support
        self.support_vectors_ = self._support_vectors(X)
        self._dual_coef_ = dual                      # libsvm sign convention
        self._intercept_ = -np.asarray(rhos, dtype=np.float64)
        if n_classes == 2:
            self.dual_coef_ = -dual
            self.intercept_ = -self._intercept_
        else:
            self.dual_coef_ = dual
            self.intercept_ = self._intercept_.copy()
        if self._sparse:  # as scikit-learn: sparse fits give sparse coefficients
            self.dual_coef_ = sp.csr_matrix(self.dual_coef_)
        self.n_iter_ = np.asarray(n_iter, dtype=np.int32)
        self.fit_status_ = int(status)

        if self.probability:
            self.probA_, self.probB_ = self._fit_platt(data, Xs, code, members, pairs,
                                                       C_all)
        else:
            self.probA_ = np.empty(0)
            self.probB_ = np.empty(0)
        return self

    def _fit_platt(self, data, Xs, code, members, pairs, C_all):
        """Platt's sigmoid per pair, on decision values from a 5-fold internal CV."""
        rng = check_random_state(self.random_state)
        probA, probB = [], []
        for i, j in progress(pairs, total=len(pairs), verbose=self.verbose,
                             desc="SVC Platt scaling (5-fold CV per pair)"):
            index = np.concatenate([members[i], members[j]])
            ys = np.r_[np.ones(members[i].size), -np.ones(members[j].size)]
            n = index.size
            perm = rng.permutation(n)
            dec = np.zeros(n)
            for fold in range(_PROBA_FOLDS):
                test = perm[fold * n // _PROBA_FOLDS:(fold + 1) * n // _PROBA_FOLDS]
                train = np.setdiff1d(perm, test, assume_unique=True)
                if test.size == 0:
                    continue
                n_pos = int(np.sum(ys[train] > 0))
                if n_pos == 0 or n_pos == train.size:
                    dec[test] = 1.0 if n_pos > 0 else (-1.0 if train.size else 0.0)
                    continue
                res = self._smo(data, code, index[train], ys[train],
                                -np.ones(train.size), C_all[index[train]], report=False)
                coef = ys[train] * res["alpha"]
                nz = coef != 0
                K = self._pair_kernel(data, Xs, index[test], index[train][nz])
                dec[test] = K @ coef[nz] - res["rho"]
            A, B = _platt.fit_sigmoid(dec, ys > 0)
            probA.append(A)
            probB.append(B)
        return np.asarray(probA), np.asarray(probB)

    def _pair_kernel(self, data, Xs, rows, cols):
        """K between training samples ``rows`` and ``cols`` (``Xs``: the scaled data)."""
        if self._kernel_fn == "precomputed" or callable(self._kernel_fn):
            return data[np.ix_(rows, cols)]
        if sp.issparse(Xs):
            return self._kernel_to(Xs[rows], Xs[cols], scaled=True)
        return self._kernel_to(np.ascontiguousarray(Xs[rows]),
                               np.ascontiguousarray(Xs[cols]), scaled=True)

    # ---- prediction -------------------------------------------------------------------

    def _validate_for_predict(self, X):
        return self._validate_predict_data(X)

    def _decision_ovo(self, X):
        """(n_samples, n_pairs) pairwise decision values, libsvm sign (positive: the
        first class of the pair)."""
        n_classes = self.classes_.shape[0]
        start = np.r_[0, np.cumsum(self.n_support_)]
        n_pairs = n_classes * (n_classes - 1) // 2
        n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
        out = np.empty((n_rows, n_pairs))
        for rows in self._row_chunks(n_rows, self.support_.size):
            K = self._kernel_to(X[rows], self.support_vectors_)
            k = 0
            for i in range(n_classes):
                si = slice(start[i], start[i + 1])
                for j in range(i + 1, n_classes):
                    sj = slice(start[j], start[j + 1])
                    out[rows, k] = (K[:, si] @ self._dual_coef_[j - 1, si]
                                    + K[:, sj] @ self._dual_coef_[i, sj]
                                    + self._intercept_[k])
                    k += 1
        return out

    def decision_function(self, X):
        """Signed distances to the separating surfaces.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (kernel values against the training samples for
            ``kernel="precomputed"``).

        Returns
        -------
        dec : ndarray of shape (n_samples,), (n_samples, n_classes) or \
                (n_samples, n_classes (n_classes - 1) / 2)
            Binary: positive means ``classes_[1]``. Otherwise one-vs-rest scores or the
            one-vs-one values (positive: the first class of the pair), following
            ``decision_function_shape``.
        """
        X = self._validate_for_predict(X)
        dec = self._decision_ovo(X)
        n_classes = self.classes_.shape[0]
        if n_classes == 2:
            return -dec[:, 0]
        if self.decision_function_shape == "ovr":
            return ovr_from_ovo(dec, n_classes)
        return dec

    def predict(self, X):
        """Class labels by one-vs-one voting (ties to the first class), or the argmax of
        the one-vs-rest scores when ``break_ties=True``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        if self.break_ties and self.decision_function_shape == "ovo":
            raise ValueError(
                "break_ties must be False when decision_function_shape is 'ovo'."
            )
        X = self._validate_for_predict(X)
        dec = self._decision_ovo(X)
        n_classes = self.classes_.shape[0]
        if n_classes == 2:
            return self.classes_[(dec[:, 0] <= 0).astype(np.intp)]
        if self.break_ties and self.decision_function_shape == "ovr":
            return self.classes_[np.argmax(ovr_from_ovo(dec, n_classes), axis=1)]
        votes = np.zeros((dec.shape[0], n_classes), dtype=np.intp)
        k = 0
        for i in range(n_classes):
            for j in range(i + 1, n_classes):
                win_i = dec[:, k] > 0
                votes[win_i, i] += 1
                votes[~win_i, j] += 1
                k += 1
        return self.classes_[np.argmax(votes, axis=1)]

    @available_if(_proba_available)
    def predict_proba(self, X):
        """Class probabilities from Platt's sigmoids and pairwise coupling.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._validate_for_predict(X)
        if self.probA_.size == 0 or self.probB_.size == 0:
            raise NotFittedError(
                "predict_proba is not available when fitted with probability=False: fit "
                "again with probability=True."
            )
        dec = self._decision_ovo(X)
        r = _platt.sigmoid_predict(dec, self.probA_[None, :], self.probB_[None, :])
        return _platt.couple(r, self.classes_.shape[0])

    @available_if(_proba_available)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return np.log(self.predict_proba(X))

    @property
    def coef_(self):
        """Primal weights ``w`` of each pairwise problem (``kernel="linear"`` only)."""
        check_is_fitted(self, "support_")
        if self._kernel_fn != "linear":
            raise AttributeError("coef_ is only available when using a linear kernel")
        start = np.r_[0, np.cumsum(self.n_support_)]
        n_classes = self.classes_.shape[0]
        SV = self.support_vectors_
        rows = []
        for i in range(n_classes):
            si = slice(start[i], start[i + 1])
            for j in range(i + 1, n_classes):
                sj = slice(start[j], start[j + 1])
                rows.append(self._dual_coef_[j - 1, si] @ SV[si]
                            + self._dual_coef_[i, sj] @ SV[sj])
        coef = np.asarray(rows)
        if n_classes == 2:
            coef = -coef
        coef.flags.writeable = False
        return coef


class SVR(RegressorMixin, _BaseSVM):
    """Epsilon-support vector regression with a kernel, solved by SMO.

    Fits ``f(x) = sum_i (a_i - a_i*) K(x_i, x) + b`` by solving the dual of the
    epsilon-insensitive loss with an L2 penalty::

        min  1/2 (a - a*)^T K (a - a*) + eps sum (a + a*) - sum y_i (a_i - a_i*)
        s.t. sum (a_i - a_i*) = 0,   0 <= a_i, a_i* <= C_i

    as one 2n-variable problem for the same SMO solver as :class:`SVC`
    (``skml/_kernels/_smo.pyx``). The result is libsvm's up to ``tol``.

    Parameters
    ----------
    kernel : {"linear", "poly", "rbf", "sigmoid", "laplace", "precomputed"} or callable, \
            default="rbf"
        As in :class:`SVC`.
    degree : int, default=3
        Degree of the ``poly`` kernel.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient, as in :class:`SVC`; a float must be > 0.
    coef0 : float, default=0.0
        Constant term of the ``poly`` and ``sigmoid`` kernels.
    tol : float, default=1e-3
        Stopping tolerance on the maximal KKT violation.
    C : float, default=1.0
        Penalty on errors larger than ``epsilon`` (> 0; ``np.inf`` for no bound).
    epsilon : float, default=0.1
        Half-width of the tube within which errors cost nothing (>= 0).
    shrinking : bool, default=True
        Use the shrinking heuristic.
    cache_size : float, default=200
        Size of the kernel-row cache in MB.
    verbose : bool or int, default=False
        Progress: one line when SMO starts and one when it ends (iterations, objective,
        offset); nothing when False.
    max_iter : int, default=-1
        Limit on SMO iterations; -1 for none (safeguard max(10^7, 200 n)).

    Attributes
    ----------
    support_ : ndarray of shape (n_SV,)
        Indices of the support vectors (samples with a_i != a_i*).
    support_vectors_ : ndarray of shape (n_SV, n_features)
        Empty for a precomputed kernel.
    n_support_ : ndarray of shape (1,), dtype int32
    dual_coef_ : ndarray of shape (1, n_SV)
        ``a_i - a_i*`` of the support vectors.
    intercept_ : ndarray of shape (1,)
    coef_ : ndarray of shape (1, n_features)
        Primal weights; only with ``kernel="linear"``.
    fit_status_ : int
        0 if SMO converged, 1 if it stopped at ``max_iter``.
    n_iter_ : int
        SMO iterations.
    shape_fit_ : tuple
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Notes
    -----
    Samples with a zero or negative ``sample_weight`` are left out (libsvm's rule).
    Kernel matrices, callables and sparse input are handled as in :class:`SVC`.
    Expected failures of scikit-learn's estimator checks: none.

    Raises
    ------
    ValueError
        For invalid parameters, NaN/infinite input, all weights non-positive, a bad kernel
        matrix, a linear kernel that overflows, or a solution that is not finite.
    TypeError
        For a sparse precomputed kernel matrix.

    References
    ----------
    A. J. Smola and B. Schoelkopf, "A tutorial on support vector regression", Statistics
    and Computing 14, 2004. C.-C. Chang and C.-J. Lin, "LIBSVM: a library for support
    vector machines", ACM TIST 2(3), 2011. H. Dai, "Note on Machine Learning" (preprint),
    Remark 3.6.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.svm import SVR
    >>> X = np.linspace(0, 6, 40)[:, None]
    >>> reg = SVR(C=10.0, epsilon=0.05).fit(X, np.sin(X).ravel())
    >>> bool(np.abs(reg.predict(X) - np.sin(X).ravel()).max() < 0.1)
    True
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0.0, np.inf, closed="left")],
    }

    def __init__(self, *, kernel="rbf", degree=3, gamma="scale", coef0=0.0, tol=1e-3,
                 C=1.0, epsilon=0.1, shrinking=True, cache_size=200, verbose=False,
                 max_iter=-1):
        store_init_params(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Fit the regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Training data, or the kernel matrix for ``kernel="precomputed"``.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample multipliers of ``C``.

        Returns
        -------
        self : SVR
        """
        self._check_params()
        X, y, n_samples = self._validate_fit_data(X, y, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        sw = svm_sample_weight(sample_weight, n_samples)
        C_all = box_bounds(self.C, sw)
        keep = np.flatnonzero(C_all > 0)
        if keep.size == 0:
            raise ValueError("Invalid input - all samples have zero or negative weights.")
        data, code, neg_diag = self._train_kernel_data(self._fit_kernel(X, sw))
        self.shape_fit_ = X.shape if hasattr(X, "shape") else (n_samples,)
        n = keep.size
        eps = float(self.epsilon)
        if self.verbose:
            print(f"[SVR] fitting: SMO on {2 * n} variables ({n} samples)", flush=True)
        res = self._smo(data, code, np.r_[keep, keep], np.r_[np.ones(n), -np.ones(n)],
                        np.r_[eps - y[keep], eps + y[keep]], np.r_[C_all[keep], C_all[keep]])
        self._warn_not_psd(res["n_negative_curvature"], neg_diag)
        coef = res["alpha"][:n] - res["alpha"][n:]
        _check_finite_model(coef, res["rho"])
        nz = coef != 0
        self.support_ = keep[nz].astype(np.int32)
        self.n_support_ = np.array([self.support_.size], dtype=np.int32)
        self.support_vectors_ = self._support_vectors(X)
        self._dual = coef[nz]
        self.dual_coef_ = sp.csr_matrix(self._dual[None, :]) if self._sparse \
            else self._dual[None, :]
        self.intercept_ = np.array([-res["rho"]])
        self.n_iter_ = int(res["n_iter"])
        self.fit_status_ = int(res["status"])
        return self

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (kernel values against the training samples for
            ``kernel="precomputed"``).

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        X = self._validate_predict_data(X)
        n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
        out = np.empty(n_rows)
        for rows in self._row_chunks(n_rows, self.support_.size):
            K = self._kernel_to(X[rows], self.support_vectors_)
            out[rows] = K @ self._dual + self.intercept_[0]
        return out

    @property
    def coef_(self):
        """Primal weights ``w`` (``kernel="linear"`` only)."""
        check_is_fitted(self, "support_")
        if self._kernel_fn != "linear":
            raise AttributeError("coef_ is only available when using a linear kernel")
        coef = np.asarray(self._dual[None, :] @ self.support_vectors_)
        coef.flags.writeable = False
        return coef
