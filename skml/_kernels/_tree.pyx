# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Decision trees: the depth-first builder with its best splitter, prediction, decision
paths and minimal cost-complexity pruning.

Private and dumb: the Python layer (``skml.tree._classes``) validates everything and hands
over

* ``X32``, the data in float32, Fortran-ordered (one feature is one contiguous column,
  which is what the splitter gathers), and for float64 data ``X64``, the data itself in
  any layout (``X32`` is then its rounding to float32); ``X`` for prediction C-ordered in
  the training dtype;
* class codes ``0..n_classes-1`` (classification) or float64 targets (regression) scaled
  by a power of two so that |y| < 1 (exact; squares neither overflow nor underflow);
* float64 sample weights (rescaled likewise when extreme) and the indices of the samples
  with a positive weight;
* for ``absolute_error``, the rank of every target in the whole training set.

The pieces are small objects that own their buffers (allocated through ``safe_realloc``,
freed in ``__dealloc__``): a ``Criterion`` (one class per criterion: ``Gini``,
``Entropy``, ``GainRatio``, ``SquaredError``, ``AbsoluteError``; node statistics, and
``reset`` / ``update(pos)`` / ``proxy_impurity_improvement`` along a scan), a ``Splitter``
(the candidate features, the sort, the scan, the partition of the node's samples) and a
``NodeStore`` (the growing array of ``Node`` structs and their values). The criterion
codes shared with Python are exported as ``CLASSIFICATION_CRITERIA`` /
``REGRESSION_CRITERIA``; the sorts live in ``_sort.pxd`` and the random numbers in
``_random.pxd``.

Splitting (per node, per candidate feature): the node's non-missing values of the feature
are packed with their position into 64-bit keys (an order-preserving encoding of the
float32 value in the high 32 bits, the position in the low 32 bits) and sorted by a radix
sort (``_sort.pxd``). For float64 data, the few runs of keys that share a float32 image
but hold different float64 values are then put in float64 order, so that splits and
thresholds are exact in float64 (1.7e9 + i, or 0 and 1e-7, are split). One linear scan
updates running weighted class counts (gini / entropy / gain ratio), running weighted
sums of the targets minus the node's smallest one (squared error: exact for integer
targets, and no cancellation for targets far from zero) or reads prefix and suffix
absolute errors computed with a Fenwick tree over the node's target ranks (absolute
error). Every threshold between two distinct consecutive values is evaluated; the
threshold is their midpoint (the lower value where the midpoint rounds to the upper one).

Missing values follow C4.5: samples whose value of the feature is missing are left out of
that feature's gain, which is multiplied by the fraction of the node's weight that is
known. Once the split is chosen, the missing samples are sent to the child that gives the
lower weighted impurity, and that direction is stored in the node (``missing_go_to_left``).
A node whose feature had no missing value in training sends missing values at prediction
time to the child that received more training samples.

Ties between features are broken deterministically: features are visited in index order
(or in the random order drawn for ``max_features``) and a later feature wins only with a
strictly larger gain.

Everything that builds or walks a tree runs without the GIL.
"""
import numpy as np

cimport cython
cimport numpy as cnp
from cython cimport floating
from libc.math cimport INFINITY, fabs, isnan, log2
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memset

from skml._kernels._random cimport rand_int
from skml._kernels._sort cimport (
    f32_from_key,
    f32_key,
    sort_f64_u64,
    sort_u64,
    sort_u64_high,
)

cnp.import_array()

ctypedef cnp.intp_t intp_t
ctypedef cnp.float32_t float32_t
ctypedef cnp.float64_t float64_t

cdef enum:
    GINI = 0
    ENTROPY = 1
    GAIN_RATIO = 2
    SQUARED_ERROR = 3
    ABSOLUTE_ERROR = 4

# The criterion codes, exported to the Python layer (``skml.tree._classes``).
CLASSIFICATION_CRITERIA = {"gini": GINI, "entropy": ENTROPY, "log_loss": ENTROPY,
                           "gain_ratio": GAIN_RATIO}
REGRESSION_CRITERIA = {"squared_error": SQUARED_ERROR, "absolute_error": ABSOLUTE_ERROR}

cdef intp_t TREE_LEAF = -1
cdef intp_t TREE_UNDEFINED = -2
cdef float64_t EPSILON = 2.220446049250313e-16
cdef uint64_t LOW_MASK = 0xFFFFFFFF

TREE_LEAF_ = TREE_LEAF
TREE_UNDEFINED_ = TREE_UNDEFINED


def sort_keys(cnp.uint64_t[::1] keys):
    """Sort ``keys`` in place (exposed for the tests of the sort)."""
    with nogil:
        sort_u64(&keys[0], keys.shape[0])


def sort_keys_by_high_half(cnp.uint64_t[::1] keys):
    """``sort_u64_high`` in place (exposed for the tests of the sort)."""
    cdef intp_t n = keys.shape[0]
    tmp_arr = np.empty(n, dtype=np.uint64)
    cdef cnp.uint64_t[::1] tmp = tmp_arr
    if n == 0:
        return
    with nogil:
        sort_u64_high(&keys[0], &tmp[0], n)


def sort_values_with_payload(cnp.float64_t[::1] values, cnp.uint64_t[::1] payload):
    """Sort ``values`` in place, permuting ``payload`` alike (exposed for the tests)."""
    if values.shape[0] != payload.shape[0]:
        raise ValueError("values and payload must have the same length")
    if values.shape[0] == 0:
        return
    with nogil:
        sort_f64_u64(&values[0], &payload[0], values.shape[0])


# ----------------------------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------------------------

cdef int safe_realloc(void** ptr, size_t n, size_t size) except -1 nogil:
    """Resize ``*ptr`` (NULL: allocate) to ``n`` items of ``size`` bytes. On failure (or a
    byte count that overflows) raise MemoryError and leave ``*ptr`` as it was, so its owner
    still frees it. The one growth helper of this module: every buffer belongs to an
    object (criterion, splitter, node store) that allocates it here and frees it in its
    ``__dealloc__``."""
    cdef void* new_ptr
    if size != 0 and n > (<size_t>-1) // size:
        with gil:
            raise MemoryError(f"cannot allocate {n} x {size} bytes: the size overflows")
    new_ptr = realloc(ptr[0], n * size if n * size > 0 else 1)
    if new_ptr == NULL:
        with gil:
            raise MemoryError(f"could not allocate {n} x {size} bytes for a tree")
    ptr[0] = new_ptr
    return 0


# ----------------------------------------------------------------------------------------
# Impurity helpers
# ----------------------------------------------------------------------------------------

cdef inline float64_t _gini(const float64_t* c, intp_t K, float64_t w) noexcept nogil:
    """Gini impurity of weighted class counts ``c`` with total ``w``. Fractions first:
    counts of tiny weights (~1e-320) square to 0."""
    cdef intp_t k
    cdef float64_t s = 0.0, p
    for k in range(K):
        p = c[k] / w
        s += p * p
    return 1.0 - s


cdef inline float64_t _entropy(const float64_t* c, intp_t K, float64_t w) noexcept nogil:
    """Entropy (bits) of weighted class counts ``c`` with total ``w``."""
    cdef intp_t k
    cdef float64_t s = 0.0, p
    for k in range(K):
        if c[k] > 0.0:
            p = c[k] / w
            s -= p * log2(p)
    return s


cdef inline float64_t _weighted_entropy(const float64_t* c, intp_t K,
                                        float64_t w) noexcept nogil:
    """w * entropy(c / w) in the form the scans use (no division by w inside)."""
    cdef intp_t k
    cdef float64_t s = 0.0
    for k in range(K):
        if c[k] > 0.0:
            s += c[k] * log2(c[k])
    return w * log2(w) - s


cdef inline float64_t _plogp(float64_t p) noexcept nogil:
    """-p log2 p, 0 at p = 0."""
    return -p * log2(p) if p > 0.0 else 0.0


# --- Fenwick tree over node-local target ranks (absolute error) ------------------------------

cdef inline void _fen_add(float64_t* fw, float64_t* fwy, intp_t n, intp_t pos, float64_t w,
                          float64_t wy) noexcept nogil:
    pos += 1
    while pos <= n:
        fw[pos] += w
        fwy[pos] += wy
        pos += pos & (-pos)


cdef inline float64_t _fen_abs_error(const float64_t* fw, const float64_t* fwy,
                                     const float64_t* sorted_y, intp_t n, intp_t top_bit,
                                     float64_t tw, float64_t twy) noexcept nogil:
    """sum w |y - median| of the inserted values (total weight tw, total w*y twy)."""
    cdef intp_t pos = 0, nxt, bit = top_bit
    cdef float64_t cw = 0.0, cwy = 0.0, half = 0.5 * tw, m
    while bit != 0:
        nxt = pos + bit
        if nxt <= n and cw + fw[nxt] < half:
            pos = nxt
            cw += fw[nxt]
            cwy += fwy[nxt]
        bit >>= 1
    if pos >= n:
        pos = n - 1
    m = sorted_y[pos]
    return (m * cw - cwy) + ((twy - cwy) - m * (tw - cw))


# ----------------------------------------------------------------------------------------
# Criteria
# ----------------------------------------------------------------------------------------

cdef class Criterion:
    """A split criterion: the statistics of one node and the running statistics of a scan
    over its samples sorted by one feature (after scikit-learn's ``_criterion.pyx``).

    The builder calls, per node, ``init(samples, n)`` (gather the node's targets and
    weights into node-local arrays, indexed by the position ``j`` in ``samples``), then
    ``node_value`` / ``node_impurity`` / ``is_pure``. The splitter calls, per candidate
    feature, ``set_missing`` (the node-local ids whose value is missing: they are left out
    of the scan, C4.5's rule), ``reset(order, n_known)`` (``order[q] & 0xFFFFFFFF`` is the
    node-local id of the q-th smallest known value; everything starts in the right child),
    then ``update(pos)`` (move ``order[self.pos:pos]`` to the left child) and
    ``proxy_impurity_improvement()`` at every candidate threshold. The proxy is the
    weighted impurity decrease over the known samples (a weight times an impurity), so it
    is comparable across features whose known samples differ: the C4.5 gain times the
    known fraction of the node's weight. Once a split is chosen, ``children_impurity``
    computes both children from scratch (missing samples included on one side).

    One subclass per criterion; adding one (friedman_mse, poisson) is one class.
    """
    cdef const float64_t* sw        # sample weights (global, read only)
    cdef intp_t n_max               # capacity of the node-local buffers
    cdef const intp_t* samples      # the node's samples (global ids)
    cdef intp_t n_node
    cdef float64_t w_node           # their total weight
    cdef float64_t* wl              # node-local weights
    # the scan
    cdef const uint64_t* order
    cdef intp_t n_known
    cdef intp_t pos
    cdef float64_t w_known          # weight of the samples whose value is known
    cdef float64_t w_missing
    cdef float64_t w_left
    cdef float64_t w_right
    cdef bint c45_selection         # gain ratio: the splitter selects features as C4.5
    cdef int code                   # the criterion's code (which class it is)

    def __cinit__(self, intp_t n_max, *args):
        self.n_max = n_max
        safe_realloc(<void**>&self.wl, n_max, sizeof(float64_t))

    def __dealloc__(self):
        free(self.wl)

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        """Gather the node ``samples[0:n]``; compute its statistics."""
        return 0

    cdef void set_missing(self, const intp_t* miss, intp_t n_missing) noexcept nogil:
        """The node-local ids whose value of the current feature is missing."""
        pass

    cdef int reset(self, const uint64_t* order, intp_t n_known) except -1 nogil:
        """Start a scan over ``order``: every known sample in the right child."""
        self.order = order
        self.n_known = n_known
        self.pos = 0
        self.w_left = 0.0
        self.w_right = self.w_known
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        """Move the samples ``order[pos:new_pos]`` from the right child to the left."""
        pass

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        """Weighted impurity decrease of the current split of the known samples."""
        return 0.0

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        """Impurity of the union of two lists of global sample ids; weight in w_out."""
        return 0.0

    cdef void children_impurity(self, const intp_t* left, intp_t n_left,
                                const intp_t* right, intp_t n_right, const intp_t* extra,
                                intp_t n_extra, bint extra_left, float64_t* impurity_left,
                                float64_t* impurity_right, float64_t* w_left,
                                float64_t* w_right) noexcept nogil:
        """Impurities (and weights) of the two children given by lists of global ids,
        ``extra`` (the missing samples) joining the left child or the right one."""
        if extra_left:
            impurity_left[0] = self.samples_impurity(left, n_left, extra, n_extra, w_left)
            impurity_right[0] = self.samples_impurity(right, n_right, NULL, 0, w_right)
        else:
            impurity_left[0] = self.samples_impurity(left, n_left, NULL, 0, w_left)
            impurity_right[0] = self.samples_impurity(right, n_right, extra, n_extra,
                                                      w_right)

    cdef float64_t node_impurity(self) noexcept nogil:
        cdef float64_t w
        return self.samples_impurity(self.samples, self.n_node, NULL, 0, &w)

    cdef void node_value(self, float64_t* dest) noexcept nogil:
        pass

    cdef bint is_pure(self, float64_t impurity) noexcept nogil:
        """Whether the node cannot be improved by any split."""
        return impurity <= EPSILON


cdef class ClassificationCriterion(Criterion):
    """Weighted class counts."""
    cdef const intp_t* ycls         # class codes (global)
    cdef intp_t K
    cdef intp_t* yl                 # node-local class codes
    cdef float64_t* cnode           # K, class weights of the node
    cdef float64_t* cmiss           # K, of its missing samples
    cdef float64_t* cK              # K, of its known samples
    cdef float64_t* cL              # K, of the left child
    cdef float64_t* ctmp            # K

    def __cinit__(self, intp_t n_max, intp_t n_classes, *args):
        self.K = n_classes
        safe_realloc(<void**>&self.yl, n_max, sizeof(intp_t))
        safe_realloc(<void**>&self.cnode, n_classes, sizeof(float64_t))
        safe_realloc(<void**>&self.cmiss, n_classes, sizeof(float64_t))
        safe_realloc(<void**>&self.cK, n_classes, sizeof(float64_t))
        safe_realloc(<void**>&self.cL, n_classes, sizeof(float64_t))
        safe_realloc(<void**>&self.ctmp, n_classes, sizeof(float64_t))

    def __dealloc__(self):
        free(self.yl)
        free(self.cnode)
        free(self.cmiss)
        free(self.cK)
        free(self.cL)
        free(self.ctmp)

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        cdef intp_t j, s
        cdef float64_t w, tot = 0.0
        self.samples = samples
        self.n_node = n
        memset(self.cnode, 0, self.K * sizeof(float64_t))
        for j in range(n):
            s = samples[j]
            w = self.sw[s]
            self.yl[j] = self.ycls[s]
            self.wl[j] = w
            self.cnode[self.yl[j]] += w
            tot += w
        self.w_node = tot
        return 0

    cdef void set_missing(self, const intp_t* miss, intp_t n_missing) noexcept nogil:
        cdef intp_t q, j, k
        memcpy(self.cK, self.cnode, self.K * sizeof(float64_t))
        self.w_missing = 0.0
        if n_missing > 0:
            memset(self.cmiss, 0, self.K * sizeof(float64_t))
            for q in range(n_missing):
                j = miss[q]
                self.cmiss[self.yl[j]] += self.wl[j]
                self.w_missing += self.wl[j]
            for k in range(self.K):
                self.cK[k] -= self.cmiss[k]
        self.w_known = self.w_node - self.w_missing

    cdef int reset(self, const uint64_t* order, intp_t n_known) except -1 nogil:
        Criterion.reset(self, order, n_known)
        memset(self.cL, 0, self.K * sizeof(float64_t))
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _class_update(self, new_pos)

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        cdef intp_t i
        cdef float64_t w = 0.0, wi
        memset(self.ctmp, 0, self.K * sizeof(float64_t))
        for i in range(n1):
            wi = self.sw[ids1[i]]
            self.ctmp[self.ycls[ids1[i]]] += wi
            w += wi
        for i in range(n2):
            wi = self.sw[ids2[i]]
            self.ctmp[self.ycls[ids2[i]]] += wi
            w += wi
        w_out[0] = w
        return self.counts_impurity(self.ctmp, w)

    cdef float64_t counts_impurity(self, const float64_t* c, float64_t w) noexcept nogil:
        return 0.0

    cdef void node_value(self, float64_t* dest) noexcept nogil:
        cdef intp_t k
        for k in range(self.K):
            dest[k] = self.cnode[k] / self.w_node


cdef inline void _class_update(ClassificationCriterion c, intp_t new_pos) noexcept nogil:
    cdef intp_t q, j
    cdef float64_t w
    for q in range(c.pos, new_pos):
        j = <intp_t>(c.order[q] & LOW_MASK)
        w = c.wl[j]
        c.w_left += w
        c.cL[c.yl[j]] += w
    c.pos = new_pos
    c.w_right = c.w_known - c.w_left


# The final classes below define ``update`` and ``proxy_impurity_improvement`` themselves
# (thin wrappers of shared inline code where they share it): the scan calls them directly
# through a fused type, which only works for methods of the final class itself.

@cython.final
cdef class Gini(ClassificationCriterion):
    """CART's Gini impurity 1 - sum_k p_k^2."""
    cdef float64_t base             # sum_k cK^2 / wK

    cdef int reset(self, const uint64_t* order, intp_t n_known) except -1 nogil:
        cdef intp_t k
        ClassificationCriterion.reset(self, order, n_known)
        self.base = 0.0
        for k in range(self.K):
            self.base += self.cK[k] * self.cK[k]
        self.base /= self.w_known   # decrease * w = sum cL^2/wL + sum cR^2/wR - sum cK^2/wK
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _class_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        cdef intp_t k
        cdef float64_t sL = 0.0, sR = 0.0, a, r
        for k in range(self.K):
            a = self.cL[k]
            r = self.cK[k] - a
            sL += a * a
            sR += r * r
        return sL / self.w_left + sR / self.w_right - self.base

    cdef float64_t counts_impurity(self, const float64_t* c, float64_t w) noexcept nogil:
        return _gini(c, self.K, w)


cdef class _EntropyCriterion(ClassificationCriterion):
    """Shannon entropy in bits (ID3 / C4.5's information gain)."""
    cdef float64_t wimp_known       # wK * entropy of the known samples

    cdef int reset(self, const uint64_t* order, intp_t n_known) except -1 nogil:
        ClassificationCriterion.reset(self, order, n_known)
        self.wimp_known = _weighted_entropy(self.cK, self.K, self.w_known)
        return 0

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return _entropy_proxy(self)

    cdef float64_t counts_impurity(self, const float64_t* c, float64_t w) noexcept nogil:
        return _entropy(c, self.K, w)


cdef inline float64_t _entropy_proxy(_EntropyCriterion c) noexcept nogil:
    cdef intp_t k
    cdef float64_t sL = 0.0, sR = 0.0, a, r, wL = c.w_left, wR = c.w_right
    for k in range(c.K):
        a = c.cL[k]
        r = c.cK[k] - a
        if a > 0.0:
            sL += a * log2(a)
        if r > 0.0:
            sR += r * log2(r)
    return c.wimp_known - (wL * log2(wL) - sL) - (wR * log2(wR) - sR)


@cython.final
cdef class Entropy(_EntropyCriterion):
    """Shannon entropy in bits: ID3 / C4.5's information gain."""

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _class_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return _entropy_proxy(self)


@cython.final
cdef class GainRatio(_EntropyCriterion):
    """C4.5's gain ratio: the entropy criterion, with C4.5's selection of the feature
    (the best gain / split information among the features of at least average gain),
    which the splitter applies when ``c45_selection`` is set."""

    def __cinit__(self, *args):
        self.c45_selection = True

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _class_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return _entropy_proxy(self)


cdef class RegressionCriterion(Criterion):
    """Weighted sums of the targets."""
    cdef const float64_t* yreg      # targets (global, scaled so that |y| < 1)
    cdef float64_t* yv              # node-local targets
    cdef float64_t s_node
    cdef bint constant_y            # every target of the node is equal

    def __cinit__(self, intp_t n_max, *args):
        safe_realloc(<void**>&self.yv, n_max, sizeof(float64_t))

    def __dealloc__(self):
        free(self.yv)

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        cdef intp_t j, s
        cdef float64_t w, tot = 0.0, ssum = 0.0, ymin = INFINITY, ymax = -INFINITY
        self.samples = samples
        self.n_node = n
        for j in range(n):
            s = samples[j]
            w = self.sw[s]
            self.yv[j] = self.yreg[s]
            self.wl[j] = w
            ssum += w * self.yv[j]
            tot += w
        for j in range(n):
            if self.yv[j] < ymin:
                ymin = self.yv[j]
            if self.yv[j] > ymax:
                ymax = self.yv[j]
        self.w_node = tot
        self.s_node = ssum
        self.constant_y = ymin == ymax
        return 0

    cdef void set_missing(self, const intp_t* miss, intp_t n_missing) noexcept nogil:
        cdef intp_t q
        self.w_missing = 0.0
        for q in range(n_missing):
            self.w_missing += self.wl[miss[q]]
        self.w_known = self.w_node - self.w_missing

    cdef bint is_pure(self, float64_t impurity) noexcept nogil:
        return self.constant_y


@cython.final
cdef class SquaredError(RegressionCriterion):
    """Variance reduction; leaves hold the weighted mean."""
    cdef float64_t mean_node
    cdef float64_t sK               # sum w (y - min y) over the known samples
    cdef float64_t sL
    cdef float64_t base             # sK^2 / wK

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        cdef intp_t j
        cdef float64_t ymin = INFINITY, ssum = 0.0
        RegressionCriterion.init(self, samples, n)
        for j in range(n):
            if self.yv[j] < ymin:
                ymin = self.yv[j]
        # the scan's sums are of w (y - min y): exact for integer targets (as the sums of
        # w y they replace), and of the order of the node's spread, so that targets far
        # from zero do not cancel in sL^2/wL + sR^2/wR - sK^2/wK (invariant to the shift)
        self.mean_node = self.s_node / self.w_node
        for j in range(n):
            self.yv[j] -= ymin
            ssum += self.wl[j] * self.yv[j]
        self.s_node = ssum
        return 0

    cdef void set_missing(self, const intp_t* miss, intp_t n_missing) noexcept nogil:
        cdef intp_t q, j
        self.sK = self.s_node
        self.w_missing = 0.0
        for q in range(n_missing):
            j = miss[q]
            self.w_missing += self.wl[j]
            self.sK -= self.wl[j] * self.yv[j]
        self.w_known = self.w_node - self.w_missing
        self.base = self.sK * self.sK / self.w_known

    cdef int reset(self, const uint64_t* order, intp_t n_known) except -1 nogil:
        Criterion.reset(self, order, n_known)
        self.sL = 0.0
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        cdef intp_t q, j
        cdef float64_t w
        for q in range(self.pos, new_pos):
            j = <intp_t>(self.order[q] & LOW_MASK)
            w = self.wl[j]
            self.w_left += w
            self.sL += w * self.yv[j]
        self.pos = new_pos
        self.w_right = self.w_known - self.w_left

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        cdef float64_t sR = self.sK - self.sL
        return self.sL * self.sL / self.w_left + sR * sR / self.w_right - self.base

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        # two passes (mean, then squared deviations): no cancellation for targets far
        # from zero, unlike sum(w y^2)/w - mean^2
        cdef intp_t i
        cdef float64_t w = 0.0, s = 0.0, sq = 0.0, y, wi
        for i in range(n1):
            wi = self.sw[ids1[i]]
            w += wi
            s += wi * self.yreg[ids1[i]]
        for i in range(n2):
            wi = self.sw[ids2[i]]
            w += wi
            s += wi * self.yreg[ids2[i]]
        s /= w
        for i in range(n1):
            y = self.yreg[ids1[i]] - s
            sq += self.sw[ids1[i]] * y * y
        for i in range(n2):
            y = self.yreg[ids2[i]] - s
            sq += self.sw[ids2[i]] * y * y
        w_out[0] = w
        return sq / w

    cdef void node_value(self, float64_t* dest) noexcept nogil:
        dest[0] = self.mean_node


@cython.final
cdef class AbsoluteError(RegressionCriterion):
    """Reduction of the weighted absolute deviation from the weighted median; leaves hold
    the weighted median. Prefix and suffix deviations of a scan come from a Fenwick tree
    over the node's target ranks (O(n log n) per node and feature)."""
    cdef const intp_t* yrank        # rank of every target in the training set (global)
    cdef intp_t* lrank              # node-local rank of the target
    cdef float64_t* sorted_y        # the node's targets in increasing order
    cdef float64_t* fw              # n + 1, Fenwick tree of weights
    cdef float64_t* fwy             # n + 1, Fenwick tree of weight * target
    cdef float64_t* left_ae         # n, absolute deviation of each prefix of the scan
    cdef float64_t* right_ae        # n, of each suffix
    cdef uint64_t* keys             # n
    cdef uint64_t* tmpk             # n
    cdef float64_t median_node
    cdef float64_t ae_known

    def __cinit__(self, intp_t n_max, *args):
        safe_realloc(<void**>&self.lrank, n_max, sizeof(intp_t))
        safe_realloc(<void**>&self.sorted_y, n_max, sizeof(float64_t))
        safe_realloc(<void**>&self.fw, n_max + 1, sizeof(float64_t))
        safe_realloc(<void**>&self.fwy, n_max + 1, sizeof(float64_t))
        safe_realloc(<void**>&self.left_ae, n_max, sizeof(float64_t))
        safe_realloc(<void**>&self.right_ae, n_max, sizeof(float64_t))
        safe_realloc(<void**>&self.keys, n_max, sizeof(uint64_t))
        safe_realloc(<void**>&self.tmpk, n_max, sizeof(uint64_t))

    def __dealloc__(self):
        free(self.lrank)
        free(self.sorted_y)
        free(self.fw)
        free(self.fwy)
        free(self.left_ae)
        free(self.right_ae)
        free(self.keys)
        free(self.tmpk)

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        cdef intp_t j, q
        cdef float64_t half, cum = 0.0
        RegressionCriterion.init(self, samples, n)
        # node-local ranks of the targets (ties in y broken by the global rank)
        for j in range(n):
            self.keys[j] = (<uint64_t>self.yrank[samples[j]] << 32) | <uint64_t>j
        sort_u64_high(self.keys, self.tmpk, n)
        half = 0.5 * self.w_node
        self.median_node = INFINITY
        for q in range(n):
            j = <intp_t>(self.keys[q] & LOW_MASK)
            self.lrank[j] = q
            self.sorted_y[q] = self.yv[j]
            if self.median_node == INFINITY:
                cum += self.wl[j]
                if cum >= half:
                    self.median_node = self.yv[j]
                    if cum == half and q + 1 < n:
                        self.median_node = 0.5 * (
                            self.yv[j] + self.yv[<intp_t>(self.keys[q + 1] & LOW_MASK)])
        return 0

    cdef int reset(self, const uint64_t* order, intp_t n_known) except -1 nogil:
        cdef intp_t q, j, n = self.n_node, top_bit = 1
        cdef float64_t tw = 0.0, twy = 0.0
        Criterion.reset(self, order, n_known)
        while top_bit * 2 <= n:
            top_bit *= 2
        memset(self.fw, 0, (n + 1) * sizeof(float64_t))
        memset(self.fwy, 0, (n + 1) * sizeof(float64_t))
        for q in range(n_known):
            j = <intp_t>(order[q] & LOW_MASK)
            _fen_add(self.fw, self.fwy, n, self.lrank[j], self.wl[j], self.wl[j] * self.yv[j])
            tw += self.wl[j]
            twy += self.wl[j] * self.yv[j]
            self.left_ae[q] = _fen_abs_error(self.fw, self.fwy, self.sorted_y, n, top_bit,
                                             tw, twy)
        self.ae_known = self.left_ae[n_known - 1]
        memset(self.fw, 0, (n + 1) * sizeof(float64_t))
        memset(self.fwy, 0, (n + 1) * sizeof(float64_t))
        tw = 0.0
        twy = 0.0
        q = n_known - 1
        while q >= 0:
            j = <intp_t>(order[q] & LOW_MASK)
            _fen_add(self.fw, self.fwy, n, self.lrank[j], self.wl[j], self.wl[j] * self.yv[j])
            tw += self.wl[j]
            twy += self.wl[j] * self.yv[j]
            self.right_ae[q] = _fen_abs_error(self.fw, self.fwy, self.sorted_y, n, top_bit,
                                              tw, twy)
            q -= 1
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        cdef intp_t q
        for q in range(self.pos, new_pos):
            self.w_left += self.wl[<intp_t>(self.order[q] & LOW_MASK)]
        self.pos = new_pos
        self.w_right = self.w_known - self.w_left

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return self.ae_known - self.left_ae[self.pos - 1] - self.right_ae[self.pos]

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        """Mean absolute deviation from the weighted median (the midpoint of the two
        middle values when the cumulative weight hits exactly half)."""
        cdef intp_t i, q, n = n1 + n2, s, s2
        cdef float64_t w = 0.0, half, cum = 0.0, med, ae = 0.0
        for i in range(n1):
            self.keys[i] = (<uint64_t>self.yrank[ids1[i]] << 32) | <uint64_t>i
            w += self.sw[ids1[i]]
        for i in range(n2):
            self.keys[n1 + i] = (<uint64_t>self.yrank[ids2[i]] << 32) | <uint64_t>(n1 + i)
            w += self.sw[ids2[i]]
        sort_u64_high(self.keys, self.tmpk, n)
        half = 0.5 * w
        med = 0.0
        for q in range(n):
            i = <intp_t>(self.keys[q] & LOW_MASK)
            s = ids1[i] if i < n1 else ids2[i - n1]
            cum += self.sw[s]
            if cum >= half:
                med = self.yreg[s]
                if cum == half and q + 1 < n:
                    i = <intp_t>(self.keys[q + 1] & LOW_MASK)
                    s2 = ids1[i] if i < n1 else ids2[i - n1]
                    med = 0.5 * (med + self.yreg[s2])
                break
        for i in range(n1):
            ae += self.sw[ids1[i]] * fabs(self.yreg[ids1[i]] - med)
        for i in range(n2):
            ae += self.sw[ids2[i]] * fabs(self.yreg[ids2[i]] - med)
        w_out[0] = w
        return ae / w

    cdef void node_value(self, float64_t* dest) noexcept nogil:
        dest[0] = self.median_node


cdef Criterion _make_criterion(int code, intp_t n_max, intp_t n_classes,
                               const intp_t[::1] y_codes, const float64_t[::1] y_values,
                               const float64_t[::1] sample_weight,
                               const intp_t[::1] y_rank):
    """The criterion object of ``code``, bound to the targets and weights (the memoryviews
    are kept alive by the caller for the whole build)."""
    cdef Criterion crit
    cdef ClassificationCriterion clf
    cdef RegressionCriterion reg
    if code == GINI:
        crit = Gini(n_max, n_classes)
    elif code == ENTROPY:
        crit = Entropy(n_max, n_classes)
    elif code == GAIN_RATIO:
        crit = GainRatio(n_max, n_classes)
    elif code == SQUARED_ERROR:
        crit = SquaredError(n_max)
    elif code == ABSOLUTE_ERROR:
        crit = AbsoluteError(n_max)
        (<AbsoluteError>crit).yrank = &y_rank[0]
    else:
        raise ValueError(f"unknown criterion code {code}")
    crit.code = code
    crit.sw = &sample_weight[0]
    if isinstance(crit, ClassificationCriterion):
        clf = <ClassificationCriterion>crit
        clf.ycls = &y_codes[0]
    else:
        reg = <RegressionCriterion>crit
        reg.yreg = &y_values[0]
    return crit


# The scan below is compiled once per criterion class (a fused type over the final
# classes), so that ``update`` and ``proxy_impurity_improvement`` are direct calls the C
# compiler inlines, rather than two virtual calls per candidate threshold.
ctypedef fused ScanCriterion:
    Gini
    Entropy
    GainRatio
    SquaredError
    AbsoluteError


cdef intp_t _scan(ScanCriterion crit, const uint64_t* keys, intp_t nk,
                  const float64_t* col64, const intp_t* samples, intp_t rs, intp_t msl,
                  float64_t mwl, float64_t* best_out, float64_t* w_left_out,
                  float64_t* w_right_out) noexcept nogil:
    """Evaluate every threshold between two distinct consecutive values of the sorted
    ``keys`` (float32 keys; ``col64`` the float64 column, or NULL for float32 data) that
    leaves ``msl`` samples and ``mwl`` weight in each child. Returns the position q of the
    best one (between keys q and q + 1; the first of equal proxies), or -1."""
    cdef intp_t q, nL, best_q = -1
    cdef uint64_t ku, kn
    cdef float64_t best = -INFINITY, gain
    for q in range(nk - 1):
        ku = keys[q] >> 32
        kn = keys[q + 1] >> 32
        if ku == kn and (col64 == NULL
                         or col64[samples[<intp_t>(keys[q] & LOW_MASK)] * rs]
                         == col64[samples[<intp_t>(keys[q + 1] & LOW_MASK)] * rs]):
            continue                # no threshold between equal values
        nL = q + 1
        if nL < msl:
            continue
        if nk - nL < msl:
            break
        crit.update(nL)
        if crit.w_left < mwl or crit.w_right < mwl:
            continue
        gain = crit.proxy_impurity_improvement()
        if gain > best:
            best = gain
            w_left_out[0] = crit.w_left
            w_right_out[0] = crit.w_right
            best_q = q
    best_out[0] = best
    return best_q


cdef intp_t _scan_dispatch(Criterion crit, const uint64_t* keys, intp_t nk,
                           const float64_t* col64, const intp_t* samples, intp_t rs,
                           intp_t msl, float64_t mwl, float64_t* best_out,
                           float64_t* w_left_out, float64_t* w_right_out) noexcept nogil:
    if crit.code == GINI:
        return _scan(<Gini>crit, keys, nk, col64, samples, rs, msl, mwl, best_out,
                     w_left_out, w_right_out)
    if crit.code == ENTROPY:
        return _scan(<Entropy>crit, keys, nk, col64, samples, rs, msl, mwl, best_out,
                     w_left_out, w_right_out)
    if crit.code == GAIN_RATIO:
        return _scan(<GainRatio>crit, keys, nk, col64, samples, rs, msl, mwl, best_out,
                     w_left_out, w_right_out)
    if crit.code == SQUARED_ERROR:
        return _scan(<SquaredError>crit, keys, nk, col64, samples, rs, msl, mwl, best_out,
                     w_left_out, w_right_out)
    return _scan(<AbsoluteError>crit, keys, nk, col64, samples, rs, msl, mwl, best_out,
                 w_left_out, w_right_out)


# ----------------------------------------------------------------------------------------
# The splitter
# ----------------------------------------------------------------------------------------

cdef struct FeatureSplit:
    intp_t feature
    float64_t threshold
    float64_t gain          # C4.5 gain: known fraction x gain on the known samples
    float64_t split_info    # over left / right / missing weights
    float64_t ratio
    int valid


cdef struct SplitResult:
    int found
    intp_t feature
    float64_t threshold
    int missing_left
    intp_t pos
    float64_t improvement
    float64_t impurity_left
    float64_t impurity_right


cdef inline float64_t _midpoint(float64_t lo, float64_t hi) noexcept nogil:
    """A threshold t with lo <= t < hi (lo < hi): the midpoint, or lo where the midpoint
    rounds up to hi (adjacent doubles) or overflows."""
    cdef float64_t t = lo / 2.0 + hi / 2.0
    if t >= hi or t == INFINITY or t == -INFINITY:
        return lo
    return t


cdef class Splitter:
    """Finds the best split of a node: for each candidate feature (all, in index order,
    or ``max_features`` drawn at random), sort the node's known values and scan them with
    the criterion. Owns its work buffers."""
    cdef Criterion crit
    # data (read only): X32 in Fortran order, X32[i + f * n_rows], is what the splitter
    # gathers and sorts; for float64 data it is the float32 rounding of X64 (any strides:
    # X64[i * rs64 + f * cs64]), read only where two values share a float32 image and for
    # the thresholds, so that splits and thresholds are exact in float64.
    cdef const float32_t* X32
    cdef const float64_t* X64
    cdef intp_t rs64
    cdef intp_t cs64
    cdef intp_t n_rows
    cdef intp_t n_features
    cdef intp_t* samples            # the active samples, partitioned node by node
    cdef intp_t min_samples_leaf
    cdef intp_t max_features
    cdef float64_t min_weight_leaf
    cdef uint64_t rng
    # work buffers (n: number of active samples, p: number of features)
    cdef uint64_t* keys             # n
    cdef uint64_t* tmpk             # n
    cdef float64_t* tmpv            # n
    cdef intp_t* miss               # n
    cdef intp_t* buf_l              # n
    cdef intp_t* buf_r              # n
    cdef intp_t* features           # p
    cdef FeatureSplit* fsplits      # p

    def __cinit__(self, Criterion crit, intp_t n_max, intp_t n_features):
        self.crit = crit
        self.n_features = n_features
        safe_realloc(<void**>&self.keys, n_max, sizeof(uint64_t))
        safe_realloc(<void**>&self.tmpk, n_max, sizeof(uint64_t))
        safe_realloc(<void**>&self.tmpv, n_max, sizeof(float64_t))
        safe_realloc(<void**>&self.miss, n_max, sizeof(intp_t))
        safe_realloc(<void**>&self.buf_l, n_max, sizeof(intp_t))
        safe_realloc(<void**>&self.buf_r, n_max, sizeof(intp_t))
        safe_realloc(<void**>&self.features, n_features, sizeof(intp_t))
        safe_realloc(<void**>&self.fsplits, n_features, sizeof(FeatureSplit))

    def __dealloc__(self):
        free(self.keys)
        free(self.tmpk)
        free(self.tmpv)
        free(self.miss)
        free(self.buf_l)
        free(self.buf_r)
        free(self.features)
        free(self.fsplits)

    cdef void order_f64_runs(self, intp_t nk, const float64_t* col,
                             const intp_t* samples) noexcept nogil:
        """After sorting float64 data by its float32 keys: put each run of keys that share
        a float32 image in the order of the float64 values (a run is almost always one
        repeated value, checked in one pass; distinct values within one float32 ulp are
        rare)."""
        cdef intp_t a = 0, e, q, rs = self.rs64
        cdef uint64_t hi
        cdef float64_t v0
        cdef int same
        while a < nk:
            hi = self.keys[a] >> 32
            e = a + 1
            while e < nk and (self.keys[e] >> 32) == hi:
                e += 1
            if e - a > 1:
                v0 = col[samples[<intp_t>(self.keys[a] & LOW_MASK)] * rs]
                same = 1
                for q in range(a + 1, e):
                    if col[samples[<intp_t>(self.keys[q] & LOW_MASK)] * rs] != v0:
                        same = 0
                        break
                if not same:
                    for q in range(a, e):
                        self.tmpv[q - a] = col[samples[<intp_t>(self.keys[q] & LOW_MASK)] * rs]
                        self.tmpk[q - a] = self.keys[q]
                    sort_f64_u64(self.tmpv, self.tmpk, e - a)
                    memcpy(self.keys + a, self.tmpk, (e - a) * sizeof(uint64_t))
            a = e

    cdef int eval_feature(self, intp_t start, intp_t end, intp_t f,
                          FeatureSplit* out) except -1 nogil:
        """Best threshold of feature ``f`` at the node. Returns 0 when the feature is
        constant (or all missing) there, 1 otherwise; ``out.valid`` tells whether a split
        satisfying the leaf constraints exists."""
        cdef intp_t n = end - start, nk = 0, nm = 0, j, q, nL
        cdef const intp_t* samples = self.samples + start
        cdef const float32_t* col32 = self.X32 + f * self.n_rows
        cdef const float64_t* col64 = NULL
        cdef float32_t v, vmin = INFINITY, vmax = -INFINITY
        cdef float64_t d, vq, vn, best = -INFINITY, gain, best_wL = 0.0, best_wR = 0.0
        cdef uint64_t ku, kn
        cdef intp_t msl = self.min_samples_leaf, best_q = -1, rs = self.rs64
        cdef float64_t mwl = self.min_weight_leaf
        cdef bint is64 = self.X64 != NULL

        out.valid = 0
        if is64:
            col64 = self.X64 + f * self.cs64
        for j in range(n):
            v = col32[samples[j]]
            if isnan(v):
                self.miss[nm] = j
                nm += 1
            else:
                self.keys[nk] = (<uint64_t>f32_key(v) << 32) | <uint64_t>j
                nk += 1
                if v < vmin:
                    vmin = v
                if v > vmax:
                    vmax = v
        if nk == 0:
            return 0
        # any two distinct values can be split (scikit-learn treats values closer than
        # 1e-7 as one, which cannot split [0, 1e-7] or timestamps in float32)
        if vmax <= vmin:
            if not is64:
                return 0
            # one float32 image: the float64 values may still differ
            d = col64[samples[<intp_t>(self.keys[0] & LOW_MASK)] * rs]
            for q in range(1, nk):
                if col64[samples[<intp_t>(self.keys[q] & LOW_MASK)] * rs] != d:
                    break
            else:
                return 0
        if nk < 2 * msl:
            return 1
        sort_u64_high(self.keys, self.tmpk, nk)
        if is64:
            self.order_f64_runs(nk, col64, samples)

        self.crit.set_missing(self.miss, nm)
        self.crit.reset(self.keys, nk)
        best_q = _scan_dispatch(self.crit, self.keys, nk, col64, samples, rs, msl, mwl,
                                &best, &best_wL, &best_wR)
        if best == -INFINITY:
            return 1
        if is64:
            vq = col64[samples[<intp_t>(self.keys[best_q] & LOW_MASK)] * rs]
            vn = col64[samples[<intp_t>(self.keys[best_q + 1] & LOW_MASK)] * rs]
        else:
            vq = f32_from_key(<uint32_t>(self.keys[best_q] >> 32))
            vn = f32_from_key(<uint32_t>(self.keys[best_q + 1] >> 32))
        out.threshold = _midpoint(vq, vn)
        out.valid = 1
        out.feature = f
        out.gain = best / self.crit.w_node
        out.split_info = (_plogp(best_wL / self.crit.w_node) + _plogp(best_wR / self.crit.w_node)
                          + _plogp(self.crit.w_missing / self.crit.w_node))
        out.ratio = out.gain / out.split_info if out.split_info > 1e-12 else 0.0
        return 1

    cdef int node_split(self, intp_t start, intp_t end, float64_t impurity,
                        float64_t w_total, SplitResult* res) except -1 nogil:
        """Best split of the node ``samples[start:end]`` (``self.crit.init`` done); partitions
        the node's samples into [left | right] and fills ``res``."""
        cdef intp_t p = self.n_features, f_i, f_j, f, visited = 0, n_const = 0, i, j, tmp
        cdef intp_t n_valid = 0, n = end - start, nl = 0, nr = 0, nm = 0, best_i = -1
        cdef int deterministic = self.max_features >= p, status
        cdef FeatureSplit fs
        cdef FeatureSplit* best = NULL
        cdef float64_t avg = 0.0, tol, best_ratio = -INFINITY, best_gain = -INFINITY
        cdef float64_t w_a1, w_a2, w_b1, w_b2, imp_a1, imp_a2, imp_b1, imp_b2, wl, wr
        cdef float64_t v
        cdef const float32_t* col32
        cdef const float64_t* col64
        cdef intp_t* samples = self.samples + start

        res.found = 0
        for i in range(p):
            self.features[i] = i
        f_i = p
        while f_i > 0 and (visited < self.max_features or visited <= n_const):
            if deterministic:
                f_j = p - f_i           # index order
                f = f_j
            else:
                f_j = rand_int(&self.rng, f_i)
                f = self.features[f_j]
                self.features[f_j] = self.features[f_i - 1]
                self.features[f_i - 1] = f
            f_i -= 1
            visited += 1
            status = self.eval_feature(start, end, f, &fs)
            if status == 0:
                n_const += 1
                continue
            if not fs.valid:
                continue
            self.fsplits[n_valid] = fs
            n_valid += 1
        if n_valid == 0:
            return 0

        if self.crit.c45_selection:
            # C4.5: the best gain ratio among the features whose gain is at least average
            for i in range(n_valid):
                avg += self.fsplits[i].gain
            avg /= n_valid
            tol = avg - 1e-10 * fabs(avg)
            for i in range(n_valid):
                if self.fsplits[i].gain >= tol and self.fsplits[i].ratio > best_ratio:
                    best_ratio = self.fsplits[i].ratio
                    best_i = i
            if best_i < 0:
                best_i = 0
        else:
            for i in range(n_valid):
                if self.fsplits[i].gain > best_gain:
                    best_gain = self.fsplits[i].gain
                    best_i = i
        best = &self.fsplits[best_i]

        # partition the node's samples on the chosen feature; decide where missing go
        col32 = self.X32 + best.feature * self.n_rows
        col64 = self.X64 + best.feature * self.cs64
        for i in range(n):
            j = samples[i]
            v = col64[j * self.rs64] if self.X64 != NULL else col32[j]
            if isnan(v):
                self.miss[nm] = j
                nm += 1
            elif v <= best.threshold:
                self.buf_l[nl] = j
                nl += 1
            else:
                self.buf_r[nr] = j
                nr += 1
        if nm == 0:
            res.missing_left = nl > nr
            self.crit.children_impurity(self.buf_l, nl, self.buf_r, nr, NULL, 0, False,
                                   &res.impurity_left, &res.impurity_right, &wl, &wr)
        else:
            self.crit.children_impurity(self.buf_l, nl, self.buf_r, nr, self.miss, nm, True,
                                   &imp_a1, &imp_a2, &w_a1, &w_a2)
            self.crit.children_impurity(self.buf_l, nl, self.buf_r, nr, self.miss, nm, False,
                                   &imp_b1, &imp_b2, &w_b1, &w_b2)
            if w_a1 * imp_a1 + w_a2 * imp_a2 < w_b1 * imp_b1 + w_b2 * imp_b2:
                res.missing_left = 1
            elif w_a1 * imp_a1 + w_a2 * imp_a2 > w_b1 * imp_b1 + w_b2 * imp_b2:
                res.missing_left = 0
            else:
                res.missing_left = nl >= nr
            if res.missing_left:
                res.impurity_left = imp_a1
                wl = w_a1
                res.impurity_right = imp_a2
                wr = w_a2
            else:
                res.impurity_left = imp_b1
                wl = w_b1
                res.impurity_right = imp_b2
                wr = w_b2
        memcpy(samples, self.buf_l, nl * sizeof(intp_t))
        tmp = nl
        if nm > 0 and res.missing_left:
            memcpy(samples + tmp, self.miss, nm * sizeof(intp_t))
            tmp += nm
        res.pos = start + tmp
        memcpy(samples + tmp, self.buf_r, nr * sizeof(intp_t))
        tmp += nr
        if nm > 0 and not res.missing_left:
            memcpy(samples + tmp, self.miss, nm * sizeof(intp_t))
        res.found = 1
        res.feature = best.feature
        res.threshold = best.threshold
        res.improvement = (self.crit.w_node / w_total) * (
            impurity - wr / self.crit.w_node * res.impurity_right
            - wl / self.crit.w_node * res.impurity_left)
        return 0


# ----------------------------------------------------------------------------------------
# The tree under construction, and depth-first growth
# ----------------------------------------------------------------------------------------

cdef struct Node:
    intp_t left_child
    intp_t right_child
    intp_t feature
    float64_t threshold
    float64_t impurity
    intp_t n_node_samples
    float64_t weighted_n_node_samples
    uint8_t missing_go_to_left


cdef class NodeStore:
    """The nodes of a tree being grown (an array of ``Node`` structs) and their values
    (``value_stride`` doubles per node), grown geometrically; freed with the object."""
    cdef Node* nodes
    cdef float64_t* values
    cdef intp_t node_count
    cdef intp_t capacity
    cdef intp_t value_stride

    def __cinit__(self, intp_t value_stride):
        self.value_stride = value_stride

    def __dealloc__(self):
        free(self.nodes)
        free(self.values)

    cdef int grow(self) except -1 nogil:
        cdef intp_t cap = 2 * self.capacity if self.capacity > 0 else 64
        safe_realloc(<void**>&self.nodes, cap, sizeof(Node))
        safe_realloc(<void**>&self.values, cap * self.value_stride, sizeof(float64_t))
        self.capacity = cap
        return 0

    cdef intp_t add_node(self, intp_t parent, bint is_left, bint is_leaf, intp_t feature,
                         float64_t threshold, float64_t impurity, intp_t n_samples,
                         float64_t weight, bint missing_left) except -1 nogil:
        """Append a node (a leaf, or a split on ``feature`` at ``threshold``), link it to
        its parent and return its id."""
        cdef intp_t node_id = self.node_count
        cdef Node* node
        if node_id >= self.capacity:
            self.grow()
        if parent != TREE_UNDEFINED:
            if is_left:
                self.nodes[parent].left_child = node_id
            else:
                self.nodes[parent].right_child = node_id
        node = &self.nodes[node_id]
        node.left_child = TREE_LEAF
        node.right_child = TREE_LEAF
        if is_leaf:
            node.feature = TREE_UNDEFINED
            node.threshold = TREE_UNDEFINED
            node.missing_go_to_left = 0
        else:
            node.feature = feature
            node.threshold = threshold
            node.missing_go_to_left = missing_left
        node.impurity = impurity
        node.n_node_samples = n_samples
        node.weighted_n_node_samples = weight
        self.node_count += 1
        return node_id

    def arrays(self):
        """The flat node arrays (scikit-learn's ``tree_`` attribute names)."""
        cdef intp_t i, nc = self.node_count, stride = self.value_stride
        out = {
            "children_left": np.empty(nc, dtype=np.intp),
            "children_right": np.empty(nc, dtype=np.intp),
            "feature": np.empty(nc, dtype=np.intp),
            "threshold": np.empty(nc, dtype=np.float64),
            "impurity": np.empty(nc, dtype=np.float64),
            "n_node_samples": np.empty(nc, dtype=np.intp),
            "weighted_n_node_samples": np.empty(nc, dtype=np.float64),
            "missing_go_to_left": np.empty(nc, dtype=np.uint8),
            "value": np.empty((nc, 1, stride), dtype=np.float64),
        }
        cdef intp_t[::1] left = out["children_left"]
        cdef intp_t[::1] right = out["children_right"]
        cdef intp_t[::1] feature = out["feature"]
        cdef float64_t[::1] threshold = out["threshold"]
        cdef float64_t[::1] impurity = out["impurity"]
        cdef intp_t[::1] nns = out["n_node_samples"]
        cdef float64_t[::1] wns = out["weighted_n_node_samples"]
        cdef uint8_t[::1] ml = out["missing_go_to_left"]
        cdef float64_t[:, :, ::1] value = out["value"]
        for i in range(nc):
            left[i] = self.nodes[i].left_child
            right[i] = self.nodes[i].right_child
            feature[i] = self.nodes[i].feature
            threshold[i] = self.nodes[i].threshold
            impurity[i] = self.nodes[i].impurity
            nns[i] = self.nodes[i].n_node_samples
            wns[i] = self.nodes[i].weighted_n_node_samples
            ml[i] = self.nodes[i].missing_go_to_left
        if nc > 0:
            memcpy(&value[0, 0, 0], self.values, nc * stride * sizeof(float64_t))
        return out


cdef struct StackRecord:
    intp_t start
    intp_t end
    intp_t depth
    intp_t parent
    int is_left
    float64_t impurity


cdef struct GrowthParams:
    intp_t max_depth
    intp_t min_samples_split
    intp_t min_samples_leaf
    float64_t min_weight_leaf
    float64_t min_impurity_decrease
    float64_t w_total


cdef class _Stack:
    """The explicit stack of depth-first growth (owns its records)."""
    cdef StackRecord* records
    cdef intp_t top
    cdef intp_t capacity

    def __dealloc__(self):
        free(self.records)

    cdef int push(self, intp_t start, intp_t end, intp_t depth, intp_t parent, int is_left,
                  float64_t impurity) except -1 nogil:
        cdef StackRecord* r
        if self.top >= self.capacity:
            self.capacity = 2 * self.capacity if self.capacity > 0 else 64
            safe_realloc(<void**>&self.records, self.capacity, sizeof(StackRecord))
        r = &self.records[self.top]
        r.start = start
        r.end = end
        r.depth = depth
        r.parent = parent
        r.is_left = is_left
        r.impurity = impurity
        self.top += 1
        return 0


cdef intp_t _grow_depth_first(Splitter splitter, Criterion crit, NodeStore store,
                              _Stack stack, const GrowthParams* prm,
                              intp_t n_active) except -1 nogil:
    """Depth-first growth with an explicit stack; nodes are numbered in pre-order, left
    child first. Returns the maximal depth."""
    cdef StackRecord rec
    cdef SplitResult split
    cdef intp_t node, n, max_depth_seen = 0
    cdef bint is_leaf, first = True
    stack.push(0, n_active, 0, TREE_UNDEFINED, 0, INFINITY)
    while stack.top > 0:
        stack.top -= 1
        rec = stack.records[stack.top]
        n = rec.end - rec.start
        crit.init(splitter.samples + rec.start, n)
        if first:
            rec.impurity = crit.node_impurity()
            first = False
        is_leaf = (rec.depth >= prm.max_depth or n < prm.min_samples_split
                   or n < 2 * prm.min_samples_leaf or crit.w_node < 2 * prm.min_weight_leaf
                   or crit.is_pure(rec.impurity))
        split.found = 0
        if not is_leaf:
            splitter.node_split(rec.start, rec.end, rec.impurity, prm.w_total, &split)
            is_leaf = (not split.found
                       or split.improvement + EPSILON < prm.min_impurity_decrease)
        node = store.add_node(rec.parent, rec.is_left, is_leaf, split.feature,
                              split.threshold, rec.impurity, n, crit.w_node,
                              split.missing_left)
        crit.node_value(store.values + node * store.value_stride)
        if rec.depth > max_depth_seen:
            max_depth_seen = rec.depth
        if not is_leaf:
            # right first, so that the left child is popped (and numbered) next
            stack.push(split.pos, rec.end, rec.depth + 1, node, 0, split.impurity_right)
            stack.push(rec.start, split.pos, rec.depth + 1, node, 1, split.impurity_left)
    return max_depth_seen


def build_tree(const float32_t[::1, :] X32, object X64_obj, const intp_t[::1] y_codes,
               const float64_t[::1] y_values, const float64_t[::1] sample_weight,
               const intp_t[::1] y_rank, intp_t[::1] samples, int criterion,
               intp_t n_classes, intp_t max_depth, intp_t min_samples_split,
               intp_t min_samples_leaf, float64_t min_weight_leaf,
               float64_t min_impurity_decrease, intp_t max_features, uint64_t seed):
    """Grow a tree; returns a dict of the flat node arrays and ``max_depth``.

    ``samples`` (modified) lists the samples with a positive weight; ``y_codes`` /
    ``y_values`` / ``y_rank`` have one entry per row of ``X`` (unused ones may hold
    anything). ``X32`` is the data in float32 (Fortran order); for float64 data,
    ``X64_obj`` is the data itself (any strides; ``X32`` its rounding) and splits and
    thresholds are exact in float64, else None. Thresholds are midpoints (float64) of
    two consecutive values. ``criterion`` is a code of ``CLASSIFICATION_CRITERIA`` /
    ``REGRESSION_CRITERIA``. The GIL is released for the whole growth."""
    cdef const float64_t[:, :] X64
    cdef intp_t n = samples.shape[0], p = X32.shape[1], depth, i
    cdef Criterion crit
    cdef Splitter splitter
    cdef NodeStore store
    cdef _Stack stack
    cdef GrowthParams prm
    if n == 0 or p == 0:
        raise ValueError("build_tree needs at least one sample and one feature")
    if n >= 0xFFFFFFFF:
        raise ValueError("build_tree supports fewer than 2**32 samples")
    crit = _make_criterion(criterion, n, n_classes, y_codes, y_values, sample_weight,
                           y_rank)
    splitter = Splitter(crit, n, p)
    splitter.X32 = &X32[0, 0]
    splitter.n_rows = X32.shape[0]
    if X64_obj is not None:
        X64 = X64_obj
        if X64.shape[0] != X32.shape[0] or X64.shape[1] != X32.shape[1]:
            raise ValueError("X64 and X32 must have the same shape")
        splitter.X64 = &X64[0, 0]
        splitter.rs64 = X64.strides[0] // sizeof(float64_t)
        splitter.cs64 = X64.strides[1] // sizeof(float64_t)
    splitter.samples = &samples[0]
    splitter.min_samples_leaf = min_samples_leaf
    splitter.max_features = max_features
    splitter.min_weight_leaf = min_weight_leaf
    splitter.rng = seed
    store = NodeStore(n_classes)
    prm.max_depth = max_depth
    prm.min_samples_split = min_samples_split
    prm.min_samples_leaf = min_samples_leaf
    prm.min_weight_leaf = min_weight_leaf
    prm.min_impurity_decrease = min_impurity_decrease
    prm.w_total = 0.0
    for i in range(n):
        prm.w_total += sample_weight[samples[i]]
    stack = _Stack()
    with nogil:
        depth = _grow_depth_first(splitter, crit, store, stack, &prm, n)
    out = store.arrays()
    out["max_depth"] = depth
    return out


# ----------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------

cdef inline intp_t _leaf_of(const floating* x, intp_t node, const intp_t* left,
                            const intp_t* right, const intp_t* feature,
                            const float64_t* threshold, const uint8_t* missing_left) noexcept nogil:
    cdef floating v
    while left[node] != TREE_LEAF:
        v = x[feature[node]]
        if isnan(v):
            node = left[node] if missing_left[node] else right[node]
        elif v <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return node


def apply_tree(const floating[:, ::1] X, const intp_t[::1] left, const intp_t[::1] right,
               const intp_t[::1] feature, const float64_t[::1] threshold,
               const uint8_t[::1] missing_left, intp_t[::1] out):
    """``out[i]`` = the leaf that row ``i`` of ``X`` (float32 or float64) falls into."""
    cdef intp_t i, n = X.shape[0], p = X.shape[1]
    if n == 0:
        return
    with nogil:
        for i in range(n):
            out[i] = _leaf_of(&X[i, 0] if p > 0 else NULL, 0, &left[0], &right[0],
                              &feature[0], &threshold[0], &missing_left[0])


cdef struct PackedNode:
    # One node of a packed forest, 16 bytes. The left child is always the next node
    # (the packing renumbers each tree in pre-order); ``feature`` is ~feature when missing
    # values go left. A leaf is a fixed point of the prediction step: threshold -inf,
    # feature 0 (NaN goes right) and right = itself.
    float64_t threshold
    int32_t feature
    int32_t right


PACKED_NODE_DTYPE = np.dtype([("threshold", np.float64), ("feature", np.int32),
                              ("right", np.int32)])


cdef intp_t _pack_tree(const intp_t* left, const intp_t* right, const intp_t* feature,
                       const float64_t* threshold, const uint8_t* missing_left,
                       const float64_t* value, intp_t stride, intp_t node_count,
                       PackedNode* out, float64_t* out_values, intp_t offset,
                       intp_t* stack) noexcept nogil:
    """Write one tree in pre-order at ``out[offset:]`` (and its value rows); returns the
    number of nodes written, or -1 if the tree is malformed (a child out of range or
    a cycle: more nodes visited than it has)."""
    cdef intp_t top = 0, node, pos = offset, written = 0
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        if node < 0 or node >= node_count or written >= node_count:
            return -1
        memcpy(out_values + pos * stride, value + node * stride, stride * sizeof(float64_t))
        if left[node] == TREE_LEAF:
            out[pos].threshold = -INFINITY
            out[pos].feature = 0
            out[pos].right = <int32_t>pos
        else:
            out[pos].threshold = threshold[node]
            out[pos].feature = <int32_t>feature[node]
            if missing_left[node]:
                out[pos].feature = ~out[pos].feature
            out[pos].right = -1             # set when the right child is written
            if (left[node] < 0 or left[node] >= node_count or right[node] < 0
                    or right[node] >= node_count):
                return -1
            # the left child comes next; the right one after the left subtree: push the
            # right child tagged with its parent's packed position
            stack[top] = right[node]
            stack[top + 1] = -(pos + 2)     # marker: "patch parent pos" (< -1)
            stack[top + 2] = left[node]
            top += 3
        pos += 1
        written += 1
        # resolve markers on top of the stack
        while top > 0 and stack[top - 1] < -1:
            top -= 1
            out[-(stack[top] + 2)].right = <int32_t>pos
    return written


def pack_forest(list trees, intp_t stride):
    """Pack fitted trees for ``forest_accumulate``: (roots, nodes, values).

    ``trees`` is a list of (children_left, children_right, feature, threshold,
    missing_go_to_left, value) with ``value`` of shape (node_count, stride). Each tree is
    renumbered in pre-order, so the left child of a node is the next node. Packing is
    O(total nodes) without the GIL, so forests pack at every prediction and always reflect
    their current trees."""
    cdef intp_t n_trees = len(trees), t, total = 0, nc, written, max_nc = 0
    cdef const intp_t[::1] left, right, feature
    cdef const float64_t[::1] threshold
    cdef const uint8_t[::1] missing
    cdef const float64_t[:, ::1] value
    roots_arr = np.empty(n_trees, dtype=np.intp)
    cdef intp_t[::1] roots = roots_arr
    for t in range(n_trees):
        nc = trees[t][0].shape[0]
        roots[t] = total
        total += nc
        max_nc = max(max_nc, nc)
    if total >= 2**31:
        raise ValueError("the forest has too many nodes (>= 2**31) to be packed.")
    nodes_arr = np.empty(total, dtype=PACKED_NODE_DTYPE)
    values_arr = np.empty((total, stride), dtype=np.float64)
    stack_arr = np.empty(2 * max_nc + 4, dtype=np.intp)
    cdef PackedNode[::1] nodes = nodes_arr
    cdef float64_t[:, ::1] values = values_arr
    cdef intp_t[::1] stack = stack_arr
    for t in range(n_trees):
        left, right, feature, threshold, missing, value = trees[t]
        nc = left.shape[0]
        if (right.shape[0] != nc or feature.shape[0] != nc or threshold.shape[0] != nc
                or missing.shape[0] != nc or value.shape[0] != nc
                or value.shape[1] != stride or nc == 0):
            raise ValueError(f"tree {t} has inconsistent node arrays.")
        with nogil:
            written = _pack_tree(&left[0], &right[0], &feature[0], &threshold[0],
                                 &missing[0], &value[0, 0], stride, nc, &nodes[0],
                                 &values[0, 0], roots[t], &stack[0])
        if written != nc:
            raise ValueError(f"tree {t} is not a binary tree rooted at node 0 whose "
                             "nodes are all reachable.")
    return roots_arr, nodes_arr, values_arr


cdef enum:
    GROUP = 8           # rows advanced together through a tree


def forest_accumulate(const floating[:, ::1] X, const intp_t[::1] roots,
                      const PackedNode[::1] nodes, const float64_t[:, ::1] values,
                      float64_t[:, ::1] out, intp_t row_start, intp_t row_end):
    """``out[i] += values[leaf_t(i)]`` summed over the trees (in order), rows
    ``row_start:row_end``.

    The trees are packed one after another in ``nodes`` (``right`` is an absolute index);
    ``roots[t]`` is the root of tree ``t``. Rows go through a tree in groups of 8 that
    advance one level at a time with a branch-free step (independent traversals overlap
    their memory latencies), and in blocks of rows so that one tree's nodes stay in cache.
    Each row's sum runs over the trees in the same order whatever the blocks, so results
    do not depend on how the rows were split among threads."""
    cdef intp_t i, g, t, k, blk, blk_end, n_trees = roots.shape[0], n_out = values.shape[1]
    cdef intp_t n_features = X.shape[1], gsize, changed
    cdef intp_t BLOCK = 32768
    cdef intp_t cur[GROUP]
    cdef intp_t nxt
    cdef int32_t f, ml
    cdef floating v
    cdef int go_left
    cdef const PackedNode* nd
    cdef const PackedNode* base
    cdef const floating* xbase
    if row_end <= row_start or n_trees == 0:
        return
    base = &nodes[0]
    with nogil:
        blk = row_start
        while blk < row_end:
            blk_end = blk + BLOCK
            if blk_end > row_end:
                blk_end = row_end
            for t in range(n_trees):
                i = blk
                while i < blk_end:
                    gsize = GROUP if blk_end - i >= GROUP else blk_end - i
                    xbase = &X[i, 0]
                    for g in range(gsize):
                        cur[g] = roots[t]
                    changed = 1
                    while changed:
                        changed = 0
                        for g in range(gsize):
                            nd = base + cur[g]
                            f = nd.feature
                            ml = f < 0
                            v = xbase[g * n_features + (f ^ -ml)]
                            go_left = (v <= nd.threshold) | ((v != v) & ml)
                            nxt = nd.right + go_left * (cur[g] + 1 - nd.right)
                            changed |= nxt != cur[g]
                            cur[g] = nxt
                    for g in range(gsize):
                        for k in range(n_out):
                            out[i + g, k] += values[cur[g], k]
                    i += gsize
            blk = blk_end


def decision_path_csr(const floating[:, ::1] X, const intp_t[::1] left,
                      const intp_t[::1] right, const intp_t[::1] feature,
                      const float64_t[::1] threshold, const uint8_t[::1] missing_left):
    """(indptr, indices) of the CSR node-indicator matrix: the nodes each row visits."""
    cdef intp_t i, node, n = X.shape[0], total = 0, pos
    cdef floating v
    indptr_arr = np.zeros(n + 1, dtype=np.intp)
    cdef intp_t[::1] indptr = indptr_arr
    with nogil:
        for i in range(n):
            node = 0
            total += 1
            while left[node] != TREE_LEAF:
                v = X[i, feature[node]]
                if isnan(v):
                    node = left[node] if missing_left[node] else right[node]
                elif v <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
                total += 1
            indptr[i + 1] = total
    indices_arr = np.empty(total, dtype=np.intp)
    cdef intp_t[::1] indices = indices_arr
    with nogil:
        pos = 0
        for i in range(n):
            node = 0
            indices[pos] = 0
            pos += 1
            while left[node] != TREE_LEAF:
                v = X[i, feature[node]]
                if isnan(v):
                    node = left[node] if missing_left[node] else right[node]
                elif v <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
                indices[pos] = node
                pos += 1
    return indptr_arr, indices_arr


# ----------------------------------------------------------------------------------------
# Minimal cost-complexity pruning
# ----------------------------------------------------------------------------------------

def ccp_prune(const intp_t[::1] left, const intp_t[::1] right,
              const float64_t[::1] weighted_n_node_samples, const float64_t[::1] impurity,
              float64_t ccp_alpha, bint path):
    """Weakest-link pruning (Breiman et al., 1984).

    R(t) = w_t / w_root * impurity_t is the cost of node t as a leaf, R(T_t) the sum over
    the leaves of its branch. Repeatedly, the internal node with the smallest effective
    alpha (R(t) - R(T_t)) / (|leaves(T_t)| - 1) is collapsed into a leaf.

    ``path=True``: returns (ccp_alphas, impurities): the effective alpha of each step
    (starting at 0 for the full tree) and the total leaf cost R(T) after it.
    ``path=False``: prunes while the weakest link's alpha is <= ``ccp_alpha`` and returns
    (keep, leaf): masks of the nodes that stay and of those that become (or are) leaves.
    """
    cdef intp_t n = left.shape[0], i, node, par, best, n_pruned, count = 0, top
    cdef float64_t total = weighted_n_node_samples[0], alpha, a, diff
    cdef float64_t max_f = 1.7976931348623157e308
    parent_arr = np.full(n, TREE_UNDEFINED, dtype=np.intp)
    r_node_arr = np.empty(n, dtype=np.float64)
    r_branch_arr = np.zeros(n, dtype=np.float64)
    n_leaves_arr = np.zeros(n, dtype=np.intp)
    keep_arr = np.ones(n, dtype=np.uint8)
    leaf_arr = np.zeros(n, dtype=np.uint8)
    cand_arr = np.zeros(n, dtype=np.uint8)
    alphas_arr = np.zeros(n, dtype=np.float64)
    imps_arr = np.zeros(n, dtype=np.float64)
    stack_arr = np.empty(n, dtype=np.intp)
    cdef intp_t[::1] parent = parent_arr
    cdef float64_t[::1] r_node = r_node_arr
    cdef float64_t[::1] r_branch = r_branch_arr
    cdef intp_t[::1] n_leaves = n_leaves_arr
    cdef uint8_t[::1] keep = keep_arr
    cdef uint8_t[::1] leaf = leaf_arr
    cdef uint8_t[::1] cand = cand_arr
    cdef float64_t[::1] alphas = alphas_arr
    cdef float64_t[::1] imps = imps_arr
    cdef intp_t[::1] stack = stack_arr
    with nogil:
        for i in range(n):
            r_node[i] = weighted_n_node_samples[i] * impurity[i] / total
            if left[i] != TREE_LEAF:
                parent[left[i]] = i
                parent[right[i]] = i
                cand[i] = 1
            else:
                leaf[i] = 1
        # nodes are in pre-order: children after parents, so a reverse sweep bubbles up
        i = n - 1
        while i >= 0:
            if leaf[i]:
                r_branch[i] = r_node[i]
                n_leaves[i] = 1
            par = parent[i]
            if par != TREE_UNDEFINED:
                r_branch[par] += r_branch[i]
                n_leaves[par] += n_leaves[i]
            i -= 1
        alphas[0] = 0.0
        imps[0] = r_branch[0]
        count = 1
        while cand[0]:
            alpha = max_f
            best = 0
            for i in range(n):
                if cand[i]:
                    a = (r_node[i] - r_branch[i]) / (n_leaves[i] - 1)
                    if a < alpha:
                        alpha = a
                        best = i
            if not path and ccp_alpha < alpha:
                break
            # remove the branch below `best`
            top = 0
            stack[top] = left[best]
            top += 1
            stack[top] = right[best]
            top += 1
            while top > 0:
                top -= 1
                node = stack[top]
                if not keep[node]:
                    continue
                keep[node] = 0
                cand[node] = 0
                leaf[node] = 0
                if left[node] != TREE_LEAF:
                    stack[top] = left[node]
                    top += 1
                    stack[top] = right[node]
                    top += 1
            cand[best] = 0
            leaf[best] = 1
            n_pruned = n_leaves[best] - 1
            diff = r_node[best] - r_branch[best]
            n_leaves[best] = 1
            r_branch[best] = r_node[best]
            node = parent[best]
            while node != TREE_UNDEFINED:
                n_leaves[node] -= n_pruned
                r_branch[node] += diff
                node = parent[node]
            alphas[count] = alpha
            imps[count] = r_branch[0]
            count += 1
    if path:
        return alphas_arr[:count].copy(), imps_arr[:count].copy()
    return keep_arr.astype(bool), leaf_arr.astype(bool)
