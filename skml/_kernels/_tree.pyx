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
import threading

import numpy as np

cimport cython
cimport numpy as cnp
from cython cimport floating
from libc.float cimport FLT_MAX
from libc.math cimport INFINITY, NAN, fabs, isnan, log, log2, nextafterf
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memset

from skml._kernels._random cimport rand_int, rand_uniform
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
    # classification criteria first (codes <= GAIN_RATIO)
    GINI = 0
    ENTROPY = 1
    GAIN_RATIO = 2
    SQUARED_ERROR = 3
    ABSOLUTE_ERROR = 4
    FRIEDMAN_MSE = 5
    POISSON = 6

# The criterion codes, exported to the Python layer (``skml.tree._classes``).
CLASSIFICATION_CRITERIA = {"gini": GINI, "entropy": ENTROPY, "log_loss": ENTROPY,
                           "gain_ratio": GAIN_RATIO}
REGRESSION_CRITERIA = {"squared_error": SQUARED_ERROR, "absolute_error": ABSOLUTE_ERROR,
                       "friedman_mse": FRIEDMAN_MSE, "poisson": POISSON}

cdef intp_t TREE_LEAF = -1
cdef intp_t TREE_UNDEFINED = -2
cdef float64_t EPSILON = 2.220446049250313e-16
cdef uint64_t LOW_MASK = 0xFFFFFFFF

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static int skml_release_free_heap(void) { return malloc_trim(0); }
    #else
    static int skml_release_free_heap(void) { return 0; }
    #endif
    """
    int skml_release_free_heap() nogil

# A builder whose buffers exceed this many bytes gives its freed memory back to the
# system when it finishes (see ``build_tree``).
cdef intp_t RELEASE_BYTES = 1 << 20

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


cdef inline float64_t _sum_clog2c(const float64_t* c, intp_t K) noexcept nogil:
    cdef intp_t k
    cdef float64_t s = 0.0
    for k in range(K):
        if c[k] > 0.0:
            s += c[k] * log2(c[k])
    return s


cdef inline float64_t _plogp(float64_t p) noexcept nogil:
    """-p log2 p, 0 at p = 0."""
    return -p * log2(p) if p > 0.0 else 0.0


cdef inline float64_t _xlogy(float64_t x, float64_t y) noexcept nogil:
    """x log y, 0 at x = 0."""
    return x * log(y) if x != 0.0 else 0.0


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
                                     float64_t tw, float64_t twy,
                                     float64_t* median) noexcept nogil:
    """sum w |y - median| of the inserted values (total weight tw, total w*y twy); the
    lower weighted median in ``median``."""
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
    median[0] = m
    return (m * cw - cwy) + ((twy - cwy) - m * (tw - cw))


cdef inline float64_t _fen_median(const float64_t* fw, const float64_t* sorted_y, intp_t n,
                                  intp_t top_bit, float64_t tw,
                                  float64_t lower) noexcept nogil:
    """The weighted median of the inserted values as scikit-learn defines it: the midpoint
    of the two middle values when the cumulative weight hits exactly half (``lower``:
    the lower weighted median, from ``_fen_abs_error``)."""
    cdef intp_t pos = 0, nxt, bit = top_bit
    cdef float64_t cw = 0.0, half = 0.5 * tw
    while bit != 0:                 # the largest prefix of weight <= half
        nxt = pos + bit
        if nxt <= n and cw + fw[nxt] <= half:
            pos = nxt
            cw += fw[nxt]
        bit >>= 1
    if cw == half and pos < n:
        return 0.5 * (lower + sorted_y[pos])
    return lower


# ----------------------------------------------------------------------------------------
# Criteria
# ----------------------------------------------------------------------------------------

cdef enum:
    # where a scan puts the samples whose value of the feature is missing
    MISSING_EXCLUDED = 0    # left out (C4.5's rule: gain on the known samples)
    MISSING_LEFT = 1        # in the left child (scikit-learn's rule: both are tried)
    MISSING_RIGHT = 2       # in the right child


cdef class Criterion:
    """A split criterion: the statistics of one node and the running statistics of a scan
    over its samples sorted by one feature (after scikit-learn's ``_criterion.pyx``).

    The builder calls, per node, ``init(samples, n)`` (gather the node's targets and
    weights into node-local arrays, indexed by the position ``j`` in ``samples``), then
    ``node_value`` / ``node_impurity`` / ``is_pure``. The splitter calls, per candidate
    feature, ``set_missing`` (the node-local ids whose value is missing), then per scan
    ``reset(order, n_known, missing_mode)`` (``order[q] & 0xFFFFFFFF`` is the node-local
    id of the q-th smallest known value; the left child starts with the missing samples
    (``MISSING_LEFT``) or empty, the right child holds the rest of the scan's samples:
    all of the node's, or only its known ones (``MISSING_EXCLUDED``, C4.5)), then
    ``update(pos)`` (move ``order[self.pos:pos]`` to the left child) and
    ``proxy_impurity_improvement()`` at every candidate threshold. The proxy is the
    weighted impurity decrease of the scan's samples (a weight times an impurity, summed
    over the outputs), so it is comparable across features whose known samples differ
    (C4.5's gain times the known fraction). Once a split is chosen, ``children_impurity``
    computes both children from scratch and ``impurity_improvement`` the decrease.

    One class per criterion (``Gini``, ``Entropy``, ``GainRatio``, ``SquaredError``,
    ``FriedmanMSE``, ``AbsoluteError``, ``Poisson``), each final: adding one is a class
    and a line in ``_make_criterion`` and the ``ScanCriterion`` fused type.
    """
    cdef const float64_t* sw        # sample weights (global, read only)
    cdef intp_t n_outputs
    cdef intp_t n_max               # capacity of the node-local buffers
    cdef const intp_t* samples      # the node's samples (global ids)
    cdef intp_t n_node
    cdef float64_t w_node           # their total weight
    cdef float64_t* wl              # node-local weights
    # the scan
    cdef const uint64_t* order
    cdef intp_t n_known
    cdef intp_t pos
    cdef int missing_mode
    cdef float64_t w_scan           # weight of the scan's samples (node, or known only)
    cdef float64_t w_missing
    cdef float64_t w_left
    cdef float64_t w_right
    cdef bint c45_selection         # gain ratio: C4.5's missing values and selection
    # proxies closer than this are a tie, won by the first candidate: the same partition
    # reached through two features (common in sparse data) or summed in another order
    # (a sparse scan crosses its zeros in one step) differs only by rounding, which must
    # not pick the split
    cdef float64_t tie_tol
    cdef float64_t proxy_scale      # size of the proxy's terms at the node (set by init)
    cdef int code                   # the criterion's code (which class it is)

    def __cinit__(self, intp_t n_max, intp_t n_outputs, *args):
        self.n_max = n_max
        self.n_outputs = n_outputs
        safe_realloc(<void**>&self.wl, n_max, sizeof(float64_t))

    def __dealloc__(self):
        free(self.wl)

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        """Gather the node ``samples[0:n]``; compute its statistics."""
        return 0

    cdef void set_missing(self, const intp_t* miss, intp_t n_missing) noexcept nogil:
        """The node-local ids whose value of the current feature is missing."""
        pass

    cdef int reset(self, const uint64_t* order, intp_t n_known,
                   int missing_mode) except -1 nogil:
        """Start a scan over ``order`` (see the class docstring)."""
        self.order = order
        self.n_known = n_known
        self.pos = 0
        self.missing_mode = missing_mode
        self.w_scan = (self.w_node - self.w_missing if missing_mode == MISSING_EXCLUDED
                       else self.w_node)
        self.w_left = self.w_missing if missing_mode == MISSING_LEFT else 0.0
        self.w_right = self.w_scan - self.w_left
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        """Move the samples ``order[pos:new_pos]`` from the right child to the left."""
        pass

    cdef void update_complement(self, const uint64_t* rest, intp_t n_rest,
                                intp_t new_pos) noexcept nogil:
        """Make the left child every sample of the scan but ``rest`` (node-local ids in
        the low halves), and ``new_pos`` the scan's position: how a sparse column's scan
        crosses its block of zeros, which are in no ``order`` (the missing samples must
        not be in the left child: there are none in sparse data)."""
        pass

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        """Weighted impurity decrease of the current split of the scan's samples."""
        return 0.0

    cdef float64_t left_value(self) noexcept nogil:
        """The left child's value of output 0 in the current scan (monotonic
        constraints): the mean target, or the fraction of class 1."""
        return 0.0

    cdef float64_t right_value(self) noexcept nogil:
        return 0.0

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        """Impurity of the union of two lists of global sample ids (the mean over the
        outputs); their weight in w_out."""
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

    cdef float64_t impurity_improvement(self, float64_t impurity, float64_t impurity_left,
                                        float64_t impurity_right, float64_t w_left,
                                        float64_t w_right,
                                        float64_t w_total) noexcept nogil:
        """The weighted impurity decrease of the split last given to
        ``children_impurity``, as a fraction of the training weight ``w_total``:
        N_t / N * (impurity - N_t_R / N_t * right_impurity - N_t_L / N_t * left_impurity)."""
        return (self.w_node / w_total) * (
            impurity - w_right / self.w_node * impurity_right
            - w_left / self.w_node * impurity_left)

    cdef float64_t node_impurity(self) noexcept nogil:
        cdef float64_t w
        return self.samples_impurity(self.samples, self.n_node, NULL, 0, &w)

    cdef void node_value(self, float64_t* dest) noexcept nogil:
        pass

    cdef void clip_value(self, float64_t* dest, float64_t lower,
                         float64_t upper) noexcept nogil:
        """Clip the value of output 0 to [lower, upper] (monotonic constraints)."""
        if dest[0] < lower:
            dest[0] = lower
        elif dest[0] > upper:
            dest[0] = upper

    cdef bint is_pure(self, float64_t impurity) noexcept nogil:
        """Whether the node cannot be improved by any split."""
        return impurity <= EPSILON


cdef class ClassificationCriterion(Criterion):
    """Weighted class counts, per output (``K`` counts per output: the largest number
    of classes; the counts of the classes an output lacks stay 0)."""
    cdef const intp_t* ycls         # class codes (global, n_rows x n_outputs)
    cdef intp_t K
    cdef intp_t* yl                 # node-local class codes (n x n_outputs)
    cdef float64_t* cnode           # n_outputs x K, class weights of the node
    cdef float64_t* cmiss           # of its missing samples
    cdef float64_t* cT              # of the scan's samples
    cdef float64_t* cL              # of the left child
    cdef float64_t* ctmp

    def __cinit__(self, intp_t n_max, intp_t n_outputs, intp_t n_classes, *args):
        self.K = n_classes
        safe_realloc(<void**>&self.yl, n_max * n_outputs, sizeof(intp_t))
        safe_realloc(<void**>&self.cnode, n_outputs * n_classes, sizeof(float64_t))
        safe_realloc(<void**>&self.cmiss, n_outputs * n_classes, sizeof(float64_t))
        safe_realloc(<void**>&self.cT, n_outputs * n_classes, sizeof(float64_t))
        safe_realloc(<void**>&self.cL, n_outputs * n_classes, sizeof(float64_t))
        safe_realloc(<void**>&self.ctmp, n_outputs * n_classes, sizeof(float64_t))

    def __dealloc__(self):
        free(self.yl)
        free(self.cnode)
        free(self.cmiss)
        free(self.cT)
        free(self.cL)
        free(self.ctmp)

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        cdef intp_t j, s, o, no = self.n_outputs, K = self.K
        cdef float64_t w, tot = 0.0
        self.samples = samples
        self.n_node = n
        memset(self.cnode, 0, no * K * sizeof(float64_t))
        for j in range(n):
            s = samples[j]
            w = self.sw[s]
            self.wl[j] = w
            for o in range(no):
                self.yl[j * no + o] = self.ycls[s * no + o]
                self.cnode[o * K + self.yl[j * no + o]] += w
            tot += w
        self.w_node = tot
        self.proxy_scale = tot      # counts (weights) squared over weights
        return 0

    cdef void set_missing(self, const intp_t* miss, intp_t n_missing) noexcept nogil:
        cdef intp_t q, j, o, no = self.n_outputs, K = self.K
        self.w_missing = 0.0
        memset(self.cmiss, 0, no * K * sizeof(float64_t))
        for q in range(n_missing):
            j = miss[q]
            for o in range(no):
                self.cmiss[o * K + self.yl[j * no + o]] += self.wl[j]
            self.w_missing += self.wl[j]

    cdef int reset(self, const uint64_t* order, intp_t n_known,
                   int missing_mode) except -1 nogil:
        cdef intp_t i, m = self.n_outputs * self.K
        Criterion.reset(self, order, n_known, missing_mode)
        if missing_mode == MISSING_EXCLUDED:
            for i in range(m):
                self.cT[i] = self.cnode[i] - self.cmiss[i]
        else:
            memcpy(self.cT, self.cnode, m * sizeof(float64_t))
        if missing_mode == MISSING_LEFT:
            memcpy(self.cL, self.cmiss, m * sizeof(float64_t))
        else:
            memset(self.cL, 0, m * sizeof(float64_t))
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _class_update(self, new_pos)

    cdef void update_complement(self, const uint64_t* rest, intp_t n_rest,
                                intp_t new_pos) noexcept nogil:
        cdef intp_t q, j, o, no = self.n_outputs, K = self.K
        cdef float64_t w = 0.0
        memcpy(self.cL, self.cT, no * K * sizeof(float64_t))
        for q in range(n_rest):
            j = <intp_t>(rest[q] & LOW_MASK)
            w += self.wl[j]
            for o in range(no):
                self.cL[o * K + self.yl[j * no + o]] -= self.wl[j]
        self.w_left = self.w_scan - w
        self.w_right = w
        self.pos = new_pos

    cdef float64_t left_value(self) noexcept nogil:
        return self.cL[1] / self.w_left

    cdef float64_t right_value(self) noexcept nogil:
        return (self.cT[1] - self.cL[1]) / self.w_right

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        cdef intp_t i, o, no = self.n_outputs, K = self.K
        cdef float64_t w = 0.0, wi, imp = 0.0
        memset(self.ctmp, 0, no * K * sizeof(float64_t))
        for i in range(n1):
            wi = self.sw[ids1[i]]
            for o in range(no):
                self.ctmp[o * K + self.ycls[ids1[i] * no + o]] += wi
            w += wi
        for i in range(n2):
            wi = self.sw[ids2[i]]
            for o in range(no):
                self.ctmp[o * K + self.ycls[ids2[i] * no + o]] += wi
            w += wi
        w_out[0] = w
        for o in range(no):
            imp += self.counts_impurity(self.ctmp + o * K, w)
        return imp / no

    cdef float64_t counts_impurity(self, const float64_t* c, float64_t w) noexcept nogil:
        return 0.0

    cdef void node_value(self, float64_t* dest) noexcept nogil:
        cdef intp_t i
        for i in range(self.n_outputs * self.K):
            dest[i] = self.cnode[i] / self.w_node

    cdef void clip_value(self, float64_t* dest, float64_t lower,
                         float64_t upper) noexcept nogil:
        # binary, single output: the constraint bounds the fraction of class 1
        if dest[1] < lower:
            dest[1] = lower
        elif dest[1] > upper:
            dest[1] = upper
        dest[0] = 1.0 - dest[1]


cdef inline void _class_update(ClassificationCriterion c, intp_t new_pos) noexcept nogil:
    cdef intp_t q, j, o, no = c.n_outputs, K = c.K
    cdef float64_t w
    for q in range(c.pos, new_pos):
        j = <intp_t>(c.order[q] & LOW_MASK)
        w = c.wl[j]
        c.w_left += w
        for o in range(no):
            c.cL[o * K + c.yl[j * no + o]] += w
    c.pos = new_pos
    c.w_right = c.w_scan - c.w_left


# The final classes below define ``update`` and ``proxy_impurity_improvement`` themselves
# (thin wrappers of shared inline code where they share it): the scan calls them directly
# through a fused type, which only works for methods of the final class itself.

@cython.final
cdef class Gini(ClassificationCriterion):
    """CART's Gini impurity 1 - sum_k p_k^2 (averaged over the outputs)."""
    cdef float64_t base             # sum cT^2 / wT

    cdef int reset(self, const uint64_t* order, intp_t n_known,
                   int missing_mode) except -1 nogil:
        cdef intp_t i
        ClassificationCriterion.reset(self, order, n_known, missing_mode)
        self.base = 0.0
        for i in range(self.n_outputs * self.K):
            self.base += self.cT[i] * self.cT[i]
        self.base /= self.w_scan    # decrease * w = sum cL^2/wL + sum cR^2/wR - sum cT^2/wT
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _class_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        cdef intp_t i
        cdef float64_t sL = 0.0, sR = 0.0, a, r
        for i in range(self.n_outputs * self.K):
            a = self.cL[i]
            r = self.cT[i] - a
            sL += a * a
            sR += r * r
        return sL / self.w_left + sR / self.w_right - self.base

    cdef float64_t counts_impurity(self, const float64_t* c, float64_t w) noexcept nogil:
        return _gini(c, self.K, w)


cdef class _EntropyCriterion(ClassificationCriterion):
    """Shannon entropy in bits (ID3 / C4.5's information gain), averaged over outputs."""
    cdef float64_t wimp_scan        # wT * entropy of the scan's samples, summed over outputs

    cdef int reset(self, const uint64_t* order, intp_t n_known,
                   int missing_mode) except -1 nogil:
        ClassificationCriterion.reset(self, order, n_known, missing_mode)
        self.wimp_scan = (self.n_outputs * self.w_scan * log2(self.w_scan)
                          - _sum_clog2c(self.cT, self.n_outputs * self.K))
        return 0

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return _entropy_proxy(self)

    cdef float64_t counts_impurity(self, const float64_t* c, float64_t w) noexcept nogil:
        return _entropy(c, self.K, w)


cdef inline float64_t _entropy_proxy(_EntropyCriterion c) noexcept nogil:
    cdef intp_t i
    cdef float64_t sL = 0.0, sR = 0.0, a, r, wL = c.w_left, wR = c.w_right
    cdef float64_t no = c.n_outputs
    for i in range(c.n_outputs * c.K):
        a = c.cL[i]
        r = c.cT[i] - a
        if a > 0.0:
            sL += a * log2(a)
        if r > 0.0:
            sR += r * log2(r)
    return c.wimp_scan - (no * wL * log2(wL) - sL) - (no * wR * log2(wR) - sR)


@cython.final
cdef class Entropy(_EntropyCriterion):
    """Shannon entropy in bits: ID3 / C4.5's information gain."""

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _class_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return _entropy_proxy(self)


@cython.final
cdef class GainRatio(_EntropyCriterion):
    """C4.5's gain ratio: the entropy criterion with C4.5's rules, which the splitter
    applies when ``c45_selection`` is set: missing values left out of each feature's gain
    (which is weighted by the known fraction), and among the features of at least average
    gain, the best gain / split information."""

    def __cinit__(self, *args):
        self.c45_selection = True

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _class_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return _entropy_proxy(self)


cdef class RegressionCriterion(Criterion):
    """Weighted sums of the targets, per output."""
    cdef const float64_t* yreg      # targets (global, n_rows x n_outputs, |y| < 1)
    cdef float64_t* yv              # node-local targets (n x n_outputs), minus ``shift``
    cdef float64_t* shift           # n_outputs: subtracted from the node's targets
    cdef float64_t* mean_node       # n_outputs
    cdef float64_t* s_node          # n_outputs: sum w yv over the node
    cdef float64_t* s_miss          # over its missing samples
    cdef float64_t* sT              # over the scan's samples
    cdef float64_t* sL              # over the left child
    cdef bint constant_y            # every target of the node is equal

    def __cinit__(self, intp_t n_max, intp_t n_outputs, *args):
        safe_realloc(<void**>&self.yv, n_max * n_outputs, sizeof(float64_t))
        safe_realloc(<void**>&self.shift, n_outputs, sizeof(float64_t))
        safe_realloc(<void**>&self.mean_node, n_outputs, sizeof(float64_t))
        safe_realloc(<void**>&self.s_node, n_outputs, sizeof(float64_t))
        safe_realloc(<void**>&self.s_miss, n_outputs, sizeof(float64_t))
        safe_realloc(<void**>&self.sT, n_outputs, sizeof(float64_t))
        safe_realloc(<void**>&self.sL, n_outputs, sizeof(float64_t))

    def __dealloc__(self):
        free(self.yv)
        free(self.shift)
        free(self.mean_node)
        free(self.s_node)
        free(self.s_miss)
        free(self.sT)
        free(self.sL)

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        """Gather; means; constancy; the node's targets minus ``shift_targets()``."""
        cdef intp_t j, s, o, no = self.n_outputs
        cdef float64_t w, tot = 0.0, ymin, ymax, s_abs
        self.samples = samples
        self.n_node = n
        for o in range(no):
            self.s_node[o] = 0.0
        for j in range(n):
            s = samples[j]
            w = self.sw[s]
            self.wl[j] = w
            for o in range(no):
                self.yv[j * no + o] = self.yreg[s * no + o]
                self.s_node[o] += w * self.yv[j * no + o]
            tot += w
        self.w_node = tot
        self.constant_y = True
        for o in range(no):
            ymin = INFINITY
            ymax = -INFINITY
            for j in range(n):
                if self.yv[j * no + o] < ymin:
                    ymin = self.yv[j * no + o]
                if self.yv[j * no + o] > ymax:
                    ymax = self.yv[j * no + o]
            self.constant_y = self.constant_y and ymin == ymax
            self.mean_node[o] = self.s_node[o] / tot
            self.shift[o] = ymin if self.shift_targets() else 0.0
            if self.shift[o] != 0.0:
                self.s_node[o] = 0.0
                for j in range(n):
                    self.yv[j * no + o] -= self.shift[o]
                    self.s_node[o] += self.wl[j] * self.yv[j * no + o]
        # the proxies' terms: s^2 / w (squared errors, on shifted targets), s log(s / w)
        # (Poisson, unshifted)
        self.proxy_scale = 0.0
        for o in range(no):
            s_abs = fabs(self.s_node[o])
            if s_abs > 0.0 and tot > 0.0:
                self.proxy_scale += s_abs * (s_abs / tot if self.shift_targets()
                                             else fabs(log(s_abs / tot)) + 1.0)
        return 0

    cdef bint shift_targets(self) noexcept nogil:
        """Whether the scan works on targets minus the node's smallest one."""
        return False

    cdef void set_missing(self, const intp_t* miss, intp_t n_missing) noexcept nogil:
        cdef intp_t q, j, o, no = self.n_outputs
        self.w_missing = 0.0
        for o in range(no):
            self.s_miss[o] = 0.0
        for q in range(n_missing):
            j = miss[q]
            self.w_missing += self.wl[j]
            for o in range(no):
                self.s_miss[o] += self.wl[j] * self.yv[j * no + o]

    cdef int reset(self, const uint64_t* order, intp_t n_known,
                   int missing_mode) except -1 nogil:
        cdef intp_t o
        Criterion.reset(self, order, n_known, missing_mode)
        for o in range(self.n_outputs):
            self.sT[o] = (self.s_node[o] - self.s_miss[o]
                          if missing_mode == MISSING_EXCLUDED else self.s_node[o])
            self.sL[o] = self.s_miss[o] if missing_mode == MISSING_LEFT else 0.0
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _reg_update(self, new_pos)

    cdef void update_complement(self, const uint64_t* rest, intp_t n_rest,
                                intp_t new_pos) noexcept nogil:
        cdef intp_t q, j, o, no = self.n_outputs
        cdef float64_t w = 0.0
        for o in range(no):
            self.sL[o] = self.sT[o]
        for q in range(n_rest):
            j = <intp_t>(rest[q] & LOW_MASK)
            w += self.wl[j]
            for o in range(no):
                self.sL[o] -= self.wl[j] * self.yv[j * no + o]
        self.w_left = self.w_scan - w
        self.w_right = w
        self.pos = new_pos

    cdef float64_t left_value(self) noexcept nogil:
        return self.sL[0] / self.w_left + self.shift[0]

    cdef float64_t right_value(self) noexcept nogil:
        return (self.sT[0] - self.sL[0]) / self.w_right + self.shift[0]

    cdef void node_value(self, float64_t* dest) noexcept nogil:
        memcpy(dest, self.mean_node, self.n_outputs * sizeof(float64_t))

    cdef bint is_pure(self, float64_t impurity) noexcept nogil:
        return self.constant_y


cdef inline void _reg_update(RegressionCriterion c, intp_t new_pos) noexcept nogil:
    cdef intp_t q, j, o, no = c.n_outputs
    cdef float64_t w
    for q in range(c.pos, new_pos):
        j = <intp_t>(c.order[q] & LOW_MASK)
        w = c.wl[j]
        c.w_left += w
        for o in range(no):
            c.sL[o] += w * c.yv[j * no + o]
    c.pos = new_pos
    c.w_right = c.w_scan - c.w_left


cdef inline float64_t _squared_error_proxy(RegressionCriterion c) noexcept nogil:
    """sum over outputs of sL^2/wL + sR^2/wR - sT^2/wT."""
    cdef intp_t o
    cdef float64_t g = 0.0, base = 0.0, sR
    for o in range(c.n_outputs):
        sR = c.sT[o] - c.sL[o]
        g += c.sL[o] * c.sL[o] / c.w_left + sR * sR / c.w_right
        base += c.sT[o] * c.sT[o] / c.w_scan
    return g - base


cdef inline float64_t _variance(RegressionCriterion c, const intp_t* ids1, intp_t n1,
                                const intp_t* ids2, intp_t n2,
                                float64_t* w_out) noexcept nogil:
    """Mean over the outputs of the weighted variance; two passes (mean, then squared
    deviations): no cancellation for targets far from zero, unlike E[y^2] - mean^2."""
    cdef intp_t i, o, no = c.n_outputs
    cdef float64_t w = 0.0, s, sq, y, wi, total = 0.0
    for i in range(n1):
        w += c.sw[ids1[i]]
    for i in range(n2):
        w += c.sw[ids2[i]]
    for o in range(no):
        s = 0.0
        sq = 0.0
        for i in range(n1):
            s += c.sw[ids1[i]] * c.yreg[ids1[i] * no + o]
        for i in range(n2):
            s += c.sw[ids2[i]] * c.yreg[ids2[i] * no + o]
        s /= w
        for i in range(n1):
            y = c.yreg[ids1[i] * no + o] - s
            sq += c.sw[ids1[i]] * y * y
        for i in range(n2):
            y = c.yreg[ids2[i] * no + o] - s
            sq += c.sw[ids2[i]] * y * y
        total += sq / w
    w_out[0] = w
    return total / no


@cython.final
cdef class SquaredError(RegressionCriterion):
    """Variance reduction; leaves hold the weighted mean. The scan's sums are of
    w (y - min y): exact for integer targets (as the sums of w y they replace), and of
    the order of the node's spread, so that targets far from zero do not cancel in
    sL^2/wL + sR^2/wR - sT^2/wT (which is invariant to the shift)."""

    cdef bint shift_targets(self) noexcept nogil:
        return True

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _reg_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return _squared_error_proxy(self)

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        return _variance(self, ids1, n1, ids2, n2, w_out)


@cython.final
cdef class FriedmanMSE(RegressionCriterion):
    """Friedman's improvement score (Friedman, "Greedy function approximation", 2001):
    wL wR (meanL - meanR)^2 / (wL + wR), which orders the splits of a node exactly as the
    variance reduction does; the improvement reported (for ``min_impurity_decrease``) is
    wL wR (meanL - meanR)^2 / (w_node W) with W the training weight (the diff of the sums
    of the outputs, as scikit-learn <= 1.8 computed it). Impurities are variances."""
    cdef float64_t sum_left         # of the children given to children_impurity: sum w y
    cdef float64_t sum_right        # over their samples and the outputs

    cdef bint shift_targets(self) noexcept nogil:
        return True

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _reg_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        cdef intp_t o
        cdef float64_t tl = 0.0, tr = 0.0, diff
        for o in range(self.n_outputs):
            tl += self.sL[o]
            tr += self.sT[o] - self.sL[o]
        diff = self.w_right * tl - self.w_left * tr
        return diff * diff / (self.w_left * self.w_right)

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        return _variance(self, ids1, n1, ids2, n2, w_out)

    cdef void children_impurity(self, const intp_t* left, intp_t n_left,
                                const intp_t* right, intp_t n_right, const intp_t* extra,
                                intp_t n_extra, bint extra_left, float64_t* impurity_left,
                                float64_t* impurity_right, float64_t* w_left,
                                float64_t* w_right) noexcept nogil:
        cdef intp_t i, o, no = self.n_outputs
        RegressionCriterion.children_impurity(
            self, left, n_left, right, n_right, extra, n_extra, extra_left,
            impurity_left, impurity_right, w_left, w_right)
        self.sum_left = 0.0
        self.sum_right = 0.0
        for i in range(n_left):
            for o in range(no):
                self.sum_left += self.sw[left[i]] * self.yreg[left[i] * no + o]
        for i in range(n_right):
            for o in range(no):
                self.sum_right += self.sw[right[i]] * self.yreg[right[i] * no + o]
        for i in range(n_extra):
            for o in range(no):
                if extra_left:
                    self.sum_left += self.sw[extra[i]] * self.yreg[extra[i] * no + o]
                else:
                    self.sum_right += self.sw[extra[i]] * self.yreg[extra[i] * no + o]

    cdef float64_t impurity_improvement(self, float64_t impurity, float64_t impurity_left,
                                        float64_t impurity_right, float64_t w_left,
                                        float64_t w_right,
                                        float64_t w_total) noexcept nogil:
        cdef float64_t diff = (w_right * self.sum_left - w_left * self.sum_right) / self.n_outputs
        return diff * diff / (w_left * w_right * w_total)


@cython.final
cdef class Poisson(RegressionCriterion):
    """Half Poisson deviance, sum w (y log(y / mean) - y + mean) / sum w (targets >= 0);
    leaves hold the weighted mean. A split leaving a child whose targets sum to (almost)
    zero is not allowed (its prediction would be 0, of infinite deviance)."""

    cdef void update(self, intp_t new_pos) noexcept nogil:
        _reg_update(self, new_pos)

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        # decrease * w = sum_children s log(s / w) - sT log(sT / wT)
        cdef intp_t o
        cdef float64_t g = 0.0, sR
        for o in range(self.n_outputs):
            sR = self.sT[o] - self.sL[o]
            if self.sL[o] <= EPSILON or sR <= EPSILON:
                return -INFINITY
            g += (self.sL[o] * log(self.sL[o] / self.w_left)
                  + sR * log(sR / self.w_right)
                  - self.sT[o] * log(self.sT[o] / self.w_scan))
        return g

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        cdef intp_t i, o, no = self.n_outputs
        cdef float64_t w = 0.0, s, mean, loss = 0.0, y
        for i in range(n1):
            w += self.sw[ids1[i]]
        for i in range(n2):
            w += self.sw[ids2[i]]
        w_out[0] = w
        for o in range(no):
            s = 0.0
            for i in range(n1):
                s += self.sw[ids1[i]] * self.yreg[ids1[i] * no + o]
            for i in range(n2):
                s += self.sw[ids2[i]] * self.yreg[ids2[i] * no + o]
            if s <= EPSILON:
                return INFINITY
            mean = s / w
            for i in range(n1):
                y = self.yreg[ids1[i] * no + o]
                loss += self.sw[ids1[i]] * _xlogy(y, y / mean)
            for i in range(n2):
                y = self.yreg[ids2[i] * no + o]
                loss += self.sw[ids2[i]] * _xlogy(y, y / mean)
        return loss / (w * no)


@cython.final
cdef class AbsoluteError(RegressionCriterion):
    """Reduction of the weighted absolute deviation from the weighted median (summed over
    the outputs); leaves hold the weighted medians. Prefix and suffix deviations of a
    scan come from a Fenwick tree over the node's target ranks (O(n log n) per node,
    feature and output)."""
    cdef const intp_t* yrank        # rank of every target in the training set (global)
    cdef intp_t* lrank              # node-local rank of the target (n x n_outputs)
    cdef float64_t* sorted_y        # the node's targets of each output in increasing order
    cdef float64_t* fw              # n + 1, Fenwick tree of weights
    cdef float64_t* fwy             # n + 1, Fenwick tree of weight * target
    cdef float64_t* left_ae         # n, absolute deviation of each prefix of the scan
    cdef float64_t* right_ae        # n + 1, of each suffix
    cdef float64_t* left_med        # n, output 0's median of each prefix (monotonic)
    cdef float64_t* right_med       # n + 1
    cdef float64_t* median_node     # n_outputs
    cdef uint64_t* keys             # n
    cdef uint64_t* tmpk             # n
    cdef float64_t ae_scan
    cdef const intp_t* miss
    cdef intp_t n_missing
    cdef bint need_medians          # monotonic constraints read the children's medians

    def __cinit__(self, intp_t n_max, intp_t n_outputs, *args):
        safe_realloc(<void**>&self.lrank, n_max * n_outputs, sizeof(intp_t))
        safe_realloc(<void**>&self.sorted_y, n_max * n_outputs, sizeof(float64_t))
        safe_realloc(<void**>&self.fw, n_max + 1, sizeof(float64_t))
        safe_realloc(<void**>&self.fwy, n_max + 1, sizeof(float64_t))
        safe_realloc(<void**>&self.left_ae, n_max + 1, sizeof(float64_t))
        safe_realloc(<void**>&self.right_ae, n_max + 1, sizeof(float64_t))
        safe_realloc(<void**>&self.left_med, n_max + 1, sizeof(float64_t))
        safe_realloc(<void**>&self.right_med, n_max + 1, sizeof(float64_t))
        safe_realloc(<void**>&self.median_node, n_outputs, sizeof(float64_t))
        safe_realloc(<void**>&self.keys, n_max, sizeof(uint64_t))
        safe_realloc(<void**>&self.tmpk, n_max, sizeof(uint64_t))

    def __dealloc__(self):
        free(self.lrank)
        free(self.sorted_y)
        free(self.fw)
        free(self.fwy)
        free(self.left_ae)
        free(self.right_ae)
        free(self.left_med)
        free(self.right_med)
        free(self.median_node)
        free(self.keys)
        free(self.tmpk)

    cdef int init(self, const intp_t* samples, intp_t n) except -1 nogil:
        cdef intp_t j, q, o, no = self.n_outputs
        cdef float64_t half, cum
        RegressionCriterion.init(self, samples, n)
        # its scans are the same on sparse and dense data (a dense node-local column):
        # exact ties only
        self.proxy_scale = 0.0
        half = 0.5 * self.w_node
        for o in range(no):
            # node-local ranks of the targets (ties in y broken by the global rank)
            for j in range(n):
                self.keys[j] = (<uint64_t>self.yrank[samples[j] * no + o] << 32) | <uint64_t>j
            sort_u64_high(self.keys, self.tmpk, n)
            cum = 0.0
            self.median_node[o] = INFINITY
            for q in range(n):
                j = <intp_t>(self.keys[q] & LOW_MASK)
                self.lrank[j * no + o] = q
                self.sorted_y[o * n + q] = self.yv[j * no + o]
                if self.median_node[o] == INFINITY:
                    cum += self.wl[j]
                    if cum >= half:
                        self.median_node[o] = self.yv[j * no + o]
                        if cum == half and q + 1 < n:
                            self.median_node[o] = 0.5 * (
                                self.yv[j * no + o]
                                + self.yv[<intp_t>(self.keys[q + 1] & LOW_MASK) * no + o])
        return 0

    cdef void set_missing(self, const intp_t* miss, intp_t n_missing) noexcept nogil:
        RegressionCriterion.set_missing(self, miss, n_missing)
        self.miss = miss
        self.n_missing = n_missing

    cdef void _fen_insert(self, intp_t j, intp_t o, float64_t* tw,
                          float64_t* twy) noexcept nogil:
        cdef intp_t no = self.n_outputs
        cdef float64_t w = self.wl[j], y = self.yv[j * no + o]
        _fen_add(self.fw, self.fwy, self.n_node, self.lrank[j * no + o], w, w * y)
        tw[0] += w
        twy[0] += w * y

    cdef int reset(self, const uint64_t* order, intp_t n_known,
                   int missing_mode) except -1 nogil:
        cdef intp_t q, j, o, n = self.n_node, top_bit = 1, no = self.n_outputs
        cdef float64_t tw, twy, med, ae
        cdef const float64_t* sy
        Criterion.reset(self, order, n_known, missing_mode)
        while top_bit * 2 <= n:
            top_bit *= 2
        memset(self.left_ae, 0, (n_known + 1) * sizeof(float64_t))
        memset(self.right_ae, 0, (n_known + 1) * sizeof(float64_t))
        for o in range(no):
            sy = self.sorted_y + o * n
            # prefixes: the missing samples first when they go left
            memset(self.fw, 0, (n + 1) * sizeof(float64_t))
            memset(self.fwy, 0, (n + 1) * sizeof(float64_t))
            tw = 0.0
            twy = 0.0
            if missing_mode == MISSING_LEFT:
                for q in range(self.n_missing):
                    self._fen_insert(self.miss[q], o, &tw, &twy)
            for q in range(n_known):
                self._fen_insert(<intp_t>(order[q] & LOW_MASK), o, &tw, &twy)
                ae = _fen_abs_error(self.fw, self.fwy, sy, n, top_bit, tw, twy, &med)
                self.left_ae[q] += ae
                if o == 0 and self.need_medians:
                    self.left_med[q] = _fen_median(self.fw, sy, n, top_bit, tw, med)
            # suffixes: the missing samples first when they go right (right_ae[n_known]:
            # the missing samples alone)
            memset(self.fw, 0, (n + 1) * sizeof(float64_t))
            memset(self.fwy, 0, (n + 1) * sizeof(float64_t))
            tw = 0.0
            twy = 0.0
            if missing_mode == MISSING_RIGHT and self.n_missing > 0:
                for q in range(self.n_missing):
                    self._fen_insert(self.miss[q], o, &tw, &twy)
                ae = _fen_abs_error(self.fw, self.fwy, sy, n, top_bit, tw, twy, &med)
                self.right_ae[n_known] += ae
                if o == 0 and self.need_medians:
                    self.right_med[n_known] = _fen_median(self.fw, sy, n, top_bit, tw, med)
            q = n_known - 1
            while q >= 0:
                self._fen_insert(<intp_t>(order[q] & LOW_MASK), o, &tw, &twy)
                ae = _fen_abs_error(self.fw, self.fwy, sy, n, top_bit, tw, twy, &med)
                self.right_ae[q] += ae
                if o == 0 and self.need_medians:
                    self.right_med[q] = _fen_median(self.fw, sy, n, top_bit, tw, med)
                q -= 1
        self.ae_scan = (self.right_ae[0]
                        if missing_mode == MISSING_RIGHT and self.n_missing > 0
                        else self.left_ae[n_known - 1])
        return 0

    cdef void update(self, intp_t new_pos) noexcept nogil:
        cdef intp_t q
        for q in range(self.pos, new_pos):
            self.w_left += self.wl[<intp_t>(self.order[q] & LOW_MASK)]
        self.pos = new_pos
        self.w_right = self.w_scan - self.w_left

    cdef float64_t proxy_impurity_improvement(self) noexcept nogil:
        return self.ae_scan - self.left_ae[self.pos - 1] - self.right_ae[self.pos]

    cdef float64_t left_value(self) noexcept nogil:
        return self.left_med[self.pos - 1]

    cdef float64_t right_value(self) noexcept nogil:
        return self.right_med[self.pos]

    cdef float64_t samples_impurity(self, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                                    intp_t n2, float64_t* w_out) noexcept nogil:
        """Mean over the outputs of the mean absolute deviation from the weighted median
        (the midpoint of the two middle values when the cumulative weight hits exactly
        half)."""
        cdef intp_t i, q, n = n1 + n2, s, s2, o, no = self.n_outputs
        cdef float64_t w = 0.0, half, cum, med, ae = 0.0
        for i in range(n1):
            w += self.sw[ids1[i]]
        for i in range(n2):
            w += self.sw[ids2[i]]
        half = 0.5 * w
        for o in range(no):
            for i in range(n1):
                self.keys[i] = (<uint64_t>self.yrank[ids1[i] * no + o] << 32) | <uint64_t>i
            for i in range(n2):
                self.keys[n1 + i] = ((<uint64_t>self.yrank[ids2[i] * no + o] << 32)
                                     | <uint64_t>(n1 + i))
            sort_u64_high(self.keys, self.tmpk, n)
            med = 0.0
            cum = 0.0
            for q in range(n):
                i = <intp_t>(self.keys[q] & LOW_MASK)
                s = ids1[i] if i < n1 else ids2[i - n1]
                cum += self.sw[s]
                if cum >= half:
                    med = self.yreg[s * no + o]
                    if cum == half and q + 1 < n:
                        i = <intp_t>(self.keys[q + 1] & LOW_MASK)
                        s2 = ids1[i] if i < n1 else ids2[i - n1]
                        med = 0.5 * (med + self.yreg[s2 * no + o])
                    break
            for i in range(n1):
                ae += self.sw[ids1[i]] * fabs(self.yreg[ids1[i] * no + o] - med)
            for i in range(n2):
                ae += self.sw[ids2[i]] * fabs(self.yreg[ids2[i] * no + o] - med)
        w_out[0] = w
        return ae / w / no

    cdef void node_value(self, float64_t* dest) noexcept nogil:
        memcpy(dest, self.median_node, self.n_outputs * sizeof(float64_t))


cdef Criterion _make_criterion(int code, intp_t n_max, intp_t n_outputs, intp_t n_classes,
                               const intp_t[:, ::1] y_codes,
                               const float64_t[:, ::1] y_values,
                               const float64_t[::1] sample_weight,
                               const intp_t[:, ::1] y_rank):
    """The criterion object of ``code``, bound to the targets and weights (the memoryviews
    are kept alive by the caller for the whole build)."""
    cdef Criterion crit
    if code == GINI:
        crit = Gini(n_max, n_outputs, n_classes)
    elif code == ENTROPY:
        crit = Entropy(n_max, n_outputs, n_classes)
    elif code == GAIN_RATIO:
        crit = GainRatio(n_max, n_outputs, n_classes)
    elif code == SQUARED_ERROR:
        crit = SquaredError(n_max, n_outputs)
    elif code == FRIEDMAN_MSE:
        crit = FriedmanMSE(n_max, n_outputs)
    elif code == POISSON:
        crit = Poisson(n_max, n_outputs)
    elif code == ABSOLUTE_ERROR:
        crit = AbsoluteError(n_max, n_outputs)
        (<AbsoluteError>crit).yrank = &y_rank[0, 0]
    else:
        raise ValueError(f"unknown criterion code {code}")
    crit.code = code
    crit.sw = &sample_weight[0]
    if code <= GAIN_RATIO:
        (<ClassificationCriterion>crit).ycls = &y_codes[0, 0]
    else:
        (<RegressionCriterion>crit).yreg = &y_values[0, 0]
    return crit


# ----------------------------------------------------------------------------------------
# The scan
# ----------------------------------------------------------------------------------------

# The scan below is compiled once per criterion class (a fused type over the final
# classes), so that ``update`` and ``proxy_impurity_improvement`` are direct calls the C
# compiler inlines, rather than two virtual calls per candidate threshold.
ctypedef fused ScanCriterion:
    Gini
    Entropy
    GainRatio
    SquaredError
    FriedmanMSE
    Poisson
    AbsoluteError


cdef struct ScanBest:
    float64_t proxy         # -inf: no valid split
    intp_t pos              # the first pos samples of the sorted known ones go left
    float64_t w_left
    float64_t w_right
    float64_t value_left    # output 0's values of the children (monotonic constraints)
    float64_t value_right
    float64_t lo            # sparse scans: the values on each side of the threshold
    float64_t hi


cdef inline bint _better(float64_t gain, float64_t best, float64_t tol) noexcept nogil:
    """``gain`` beats ``best`` by more than a tie (``tol``, from the size of the proxies'
    terms, see ``Splitter.node_split``): the first of tied candidates wins."""
    return gain > best + tol


cdef inline bint _consider(Criterion crit, intp_t pos, float64_t mwl, int8_t cst,
                           float64_t lower, float64_t upper, ScanBest* best) noexcept nogil:
    """The candidate the criterion was just updated to (``pos`` samples left), recorded
    in ``best`` if it is admissible (``min_weight_leaf`` on both sides, the monotonic
    constraint) and better than a tie; True when recorded. One place for the dense and
    the sparse scans."""
    cdef float64_t gain
    if crit.w_left < mwl or crit.w_right < mwl:
        return False
    if cst != 0 and not _monotonic_ok(cst, lower, upper, crit.left_value(),
                                      crit.right_value()):
        return False
    gain = crit.proxy_impurity_improvement()
    if not _better(gain, best.proxy, crit.tie_tol):
        return False
    best.proxy = gain
    best.pos = pos
    best.w_left = crit.w_left
    best.w_right = crit.w_right
    best.value_left = crit.left_value() if cst != 0 else 0.0
    best.value_right = crit.right_value() if cst != 0 else 0.0
    return True


cdef inline bint _monotonic_ok(int8_t cst, float64_t lower, float64_t upper,
                               float64_t value_left, float64_t value_right) noexcept nogil:
    """Both children within the node's bounds, and ordered as the constraint says."""
    return (value_left >= lower and value_right >= lower and value_left <= upper
            and value_right <= upper and (value_left - value_right) * cst <= 0)


cdef void _scan(ScanCriterion crit, const uint64_t* keys, intp_t nk, intp_t nm,
                int missing_mode, const float64_t* col64, const intp_t* samples, intp_t rs,
                intp_t msl, float64_t mwl, int8_t cst, float64_t lower, float64_t upper,
                ScanBest* best) noexcept nogil:
    """Evaluate every threshold between two distinct consecutive values of the sorted
    ``keys`` (float32 keys; ``col64`` the float64 column, or NULL for float32 data) that
    leaves ``msl`` samples and ``mwl`` weight in each child (and respects a monotonic
    constraint ``cst``); with the missing samples on the right, also the split of the
    known samples from the missing ones (pos = nk). Updates ``best`` where the proxy is
    strictly larger (the first of equal ones wins)."""
    cdef intp_t q, p, n_left, n_right
    cdef intp_t extra_left = nm if missing_mode == MISSING_LEFT else 0
    cdef intp_t extra_right = nm if missing_mode == MISSING_RIGHT else 0
    cdef intp_t last = nk if extra_right > 0 else nk - 1
    cdef uint64_t ku, kn
    cdef float64_t gain
    for q in range(last):
        p = q + 1
        if p < nk:
            ku = keys[q] >> 32
            kn = keys[q + 1] >> 32
            if ku == kn and (col64 == NULL
                             or col64[samples[<intp_t>(keys[q] & LOW_MASK)] * rs]
                             == col64[samples[<intp_t>(keys[q + 1] & LOW_MASK)] * rs]):
                continue            # no threshold between equal values
        n_left = p + extra_left
        if n_left < msl:
            continue
        n_right = nk - p + extra_right
        if n_right < msl:
            break
        crit.update(p)
        _consider(crit, p, mwl, cst, lower, upper, best)


cdef void _scan_dispatch(Criterion crit, const uint64_t* keys, intp_t nk, intp_t nm,
                         int missing_mode, const float64_t* col64, const intp_t* samples,
                         intp_t rs, intp_t msl, float64_t mwl, int8_t cst, float64_t lower,
                         float64_t upper, ScanBest* best) noexcept nogil:
    if crit.code == GINI:
        _scan(<Gini>crit, keys, nk, nm, missing_mode, col64, samples, rs, msl, mwl, cst,
              lower, upper, best)
    elif crit.code == ENTROPY:
        _scan(<Entropy>crit, keys, nk, nm, missing_mode, col64, samples, rs, msl, mwl, cst,
              lower, upper, best)
    elif crit.code == GAIN_RATIO:
        _scan(<GainRatio>crit, keys, nk, nm, missing_mode, col64, samples, rs, msl, mwl,
              cst, lower, upper, best)
    elif crit.code == SQUARED_ERROR:
        _scan(<SquaredError>crit, keys, nk, nm, missing_mode, col64, samples, rs, msl, mwl,
              cst, lower, upper, best)
    elif crit.code == FRIEDMAN_MSE:
        _scan(<FriedmanMSE>crit, keys, nk, nm, missing_mode, col64, samples, rs, msl, mwl,
              cst, lower, upper, best)
    elif crit.code == POISSON:
        _scan(<Poisson>crit, keys, nk, nm, missing_mode, col64, samples, rs, msl, mwl, cst,
              lower, upper, best)
    else:
        _scan(<AbsoluteError>crit, keys, nk, nm, missing_mode, col64, samples, rs, msl,
              mwl, cst, lower, upper, best)


cdef inline float64_t _key_value(uint64_t key, const float64_t* vals64) noexcept nogil:
    """The value of a sorted key: exact float32, or the node-local float64 value."""
    if vals64 != NULL:
        return vals64[<intp_t>(key & LOW_MASK)]
    return f32_from_key(<uint32_t>(key >> 32))


cdef inline bint _same_value(uint64_t a, uint64_t b, const float64_t* vals64) noexcept nogil:
    if (a >> 32) != (b >> 32):
        return False
    return vals64 == NULL or vals64[<intp_t>(a & LOW_MASK)] == vals64[<intp_t>(b & LOW_MASK)]


cdef void _scan_sparse(ScanCriterion crit, const uint64_t* keys, intp_t cnt,
                       intp_t n_neg, intp_t n_zero, const float64_t* vals64, intp_t msl,
                       float64_t mwl, int8_t cst, float64_t lower, float64_t upper,
                       ScanBest* best) noexcept nogil:
    """``_scan`` over a sparse column: ``keys`` holds the ``cnt`` nonzero values sorted,
    the first ``n_neg`` negative; ``n_zero`` zeros sit between the negative and the
    positive ones. The thresholds are those between two distinct consecutive values,
    zero included (``best.lo`` / ``best.hi`` get the two values of the best one)."""
    cdef intp_t q, k, n_left, n_total = cnt + n_zero, n_pos = cnt - n_neg
    cdef float64_t gain, lo, hi
    cdef bint crossed = n_zero == 0
    for q in range(cnt + (1 if n_zero > 0 and n_pos > 0 else 0)):
        # the boundary after the q-th entry of the virtual order; past the negative
        # ones, one extra boundary (zeros | first positive) comes first
        if q < n_neg:
            n_left = q + 1
            if q + 1 < n_neg:
                if _same_value(keys[q], keys[q + 1], vals64):
                    continue
                hi = _key_value(keys[q + 1], vals64)
            elif n_zero > 0:
                hi = 0.0
            elif n_pos > 0:
                hi = _key_value(keys[q + 1], vals64)
            else:
                break
            lo = _key_value(keys[q], vals64)
        elif not crossed:
            # zeros | first positive: the left child is everything but the positive ones
            n_left = n_neg + n_zero
            crit.update_complement(keys + n_neg, n_pos, n_neg)
            crossed = True
            lo = 0.0
            hi = _key_value(keys[n_neg], vals64)
        else:
            k = q - (0 if n_zero == 0 else 1)   # the entry the boundary follows
            if k + 1 >= cnt:
                break
            if _same_value(keys[k], keys[k + 1], vals64):
                continue
            n_left = n_zero + k + 1
            lo = _key_value(keys[k], vals64)
            hi = _key_value(keys[k + 1], vals64)
        if n_left < msl:
            continue
        if n_total - n_left < msl:
            break
        if q < n_neg:
            crit.update(q + 1)
        elif n_left > n_neg + n_zero or n_zero == 0:
            crit.update(n_left - n_zero)
        if _consider(crit, n_left, mwl, cst, lower, upper, best):
            best.lo = lo
            best.hi = hi


cdef void _scan_sparse_dispatch(Criterion crit, const uint64_t* keys, intp_t cnt,
                                intp_t n_neg, intp_t n_zero, const float64_t* vals64,
                                intp_t msl, float64_t mwl, int8_t cst, float64_t lower,
                                float64_t upper, ScanBest* best) noexcept nogil:
    if crit.code == GINI:
        _scan_sparse(<Gini>crit, keys, cnt, n_neg, n_zero, vals64, msl, mwl, cst, lower,
                     upper, best)
    elif crit.code == ENTROPY:
        _scan_sparse(<Entropy>crit, keys, cnt, n_neg, n_zero, vals64, msl, mwl, cst, lower,
                     upper, best)
    elif crit.code == GAIN_RATIO:
        _scan_sparse(<GainRatio>crit, keys, cnt, n_neg, n_zero, vals64, msl, mwl, cst,
                     lower, upper, best)
    elif crit.code == SQUARED_ERROR:
        _scan_sparse(<SquaredError>crit, keys, cnt, n_neg, n_zero, vals64, msl, mwl, cst,
                     lower, upper, best)
    elif crit.code == FRIEDMAN_MSE:
        _scan_sparse(<FriedmanMSE>crit, keys, cnt, n_neg, n_zero, vals64, msl, mwl, cst,
                     lower, upper, best)
    elif crit.code == POISSON:
        _scan_sparse(<Poisson>crit, keys, cnt, n_neg, n_zero, vals64, msl, mwl, cst, lower,
                     upper, best)


# ----------------------------------------------------------------------------------------
# The splitter
# ----------------------------------------------------------------------------------------

cdef struct FeatureSplit:
    intp_t feature
    float64_t threshold
    int missing_left        # -1: decided after the partition (C4.5)
    float64_t gain          # weighted decrease / w_node (C4.5: known fraction x gain)
    float64_t split_info    # over left / right / missing weights (C4.5)
    float64_t ratio
    float64_t value_left
    float64_t value_right
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
    float64_t middle        # between the children's values (monotonic constraints)


cdef inline float64_t _midpoint(float64_t lo, float64_t hi) noexcept nogil:
    """A threshold t with lo <= t < hi (lo < hi): the midpoint, or lo where the midpoint
    rounds up to hi (adjacent doubles) or overflows."""
    cdef float64_t t = lo / 2.0 + hi / 2.0
    if t >= hi or t == INFINITY or t == -INFINITY:
        return lo
    return t


cdef class Splitter:
    """Finds the split of a node: for each candidate feature (all, in index order, or
    ``max_features`` drawn at random), either sort the node's known values and scan them
    with the criterion (the best split), or draw one threshold uniformly between their
    minimum and maximum (``random_splits``, the extremely randomized trees of Geurts et
    al., 2006). Owns its work buffers.

    Missing values: with C4.5's rule (``criterion.c45_selection``) they are left out of
    each feature's gain and sent, once the split is chosen, to the child that gives the
    lower impurity; otherwise (scikit-learn's rule) each feature is scanned with the
    missing samples in the right child (including the split of the known values from the
    missing ones) and in the left child, and the better split keeps its direction."""
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
    cdef bint random_splits
    cdef const int8_t* monotonic_cst    # n_features, or NULL
    # sparse data (CSC; the splitter reads X32/X64 when ``is_sparse`` is false): column f
    # holds rows sp_indices[k] (increasing) with values sp_data32[k] (and sp_data64[k],
    # for float64 data) for k in [sp_indptr[f], sp_indptr[f + 1])
    cdef bint is_sparse
    cdef const float32_t* sp_data32
    cdef const float64_t* sp_data64
    cdef const int32_t* sp_indices
    cdef const intp_t* sp_indptr
    cdef intp_t* pos_of             # n_rows: position of each row in ``samples`` (-1: none)
    # work buffers (n: number of active samples, p: number of features)
    cdef uint64_t* keys             # n
    cdef uint64_t* tmpk             # n
    cdef float64_t* tmpv            # n
    cdef intp_t* miss               # n
    cdef intp_t* buf_l              # n
    cdef intp_t* buf_r              # n
    cdef intp_t* features           # p
    cdef FeatureSplit* fsplits      # p
    cdef float64_t* vals64          # n: a node's values of one feature, by node-local id
    cdef float32_t* vals32          # n
    cdef intp_t* nz_ids             # n, sparse: node-local ids of the nonzero entries
    cdef intp_t* nz_entry           # n, sparse: their index in sp_data
    cdef intp_t* ident              # n: 0, 1, 2, ...

    def __cinit__(self, Criterion crit, intp_t n_max, intp_t n_features, intp_t n_rows):
        cdef intp_t i
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
        safe_realloc(<void**>&self.vals64, n_max, sizeof(float64_t))
        safe_realloc(<void**>&self.vals32, n_max, sizeof(float32_t))
        safe_realloc(<void**>&self.nz_ids, n_max, sizeof(intp_t))
        safe_realloc(<void**>&self.nz_entry, n_max, sizeof(intp_t))
        safe_realloc(<void**>&self.ident, n_max, sizeof(intp_t))
        safe_realloc(<void**>&self.pos_of, n_rows, sizeof(intp_t))
        for i in range(n_max):
            self.ident[i] = i

    def __dealloc__(self):
        free(self.keys)
        free(self.tmpk)
        free(self.tmpv)
        free(self.miss)
        free(self.buf_l)
        free(self.buf_r)
        free(self.features)
        free(self.fsplits)
        free(self.vals64)
        free(self.vals32)
        free(self.nz_ids)
        free(self.nz_entry)
        free(self.ident)
        free(self.pos_of)

    cdef inline float64_t value(self, intp_t s, intp_t f) noexcept nogil:
        """X[s, f] in the data's precision (dense data)."""
        if self.X64 != NULL:
            return self.X64[s * self.rs64 + f * self.cs64]
        return self.X32[s + f * self.n_rows]

    cdef intp_t extract_nonzeros(self, intp_t start, intp_t end, intp_t f,
                                 intp_t* n_negative) noexcept nogil:
        """Sparse data: the node's nonzero entries of feature ``f`` (their node-local ids
        in ``nz_ids``, their entries in ``nz_entry[id]``); returns how many, and how many
        are negative in ``n_negative``. Walks the column's entries, or looks each of the
        node's samples up in the column (binary search), whichever is cheaper, so a node
        costs O(min(nnz of the column, n log nnz)). Explicit zeros count as zeros."""
        cdef intp_t lo = self.sp_indptr[f], hi = self.sp_indptr[f + 1], n = end - start
        cdef intp_t k, j, r, p, cnt = 0, neg = 0, a, b, mid
        cdef float64_t v
        n_negative[0] = 0
        if hi <= lo:
            return 0
        if n * log2(<float64_t>(hi - lo + 1)) < hi - lo:
            for j in range(n):
                r = self.samples[start + j]
                a = lo
                b = hi
                while a < b:
                    mid = (a + b) >> 1
                    if self.sp_indices[mid] < r:
                        a = mid + 1
                    else:
                        b = mid
                if a < hi and self.sp_indices[a] == r:
                    v = self.sp_data64[a] if self.sp_data64 != NULL else self.sp_data32[a]
                    if v != 0.0:
                        self.nz_ids[cnt] = j
                        self.nz_entry[j] = a
                        cnt += 1
                        neg += v < 0.0
        else:
            for k in range(lo, hi):
                p = self.pos_of[self.sp_indices[k]]
                if start <= p < end:
                    v = self.sp_data64[k] if self.sp_data64 != NULL else self.sp_data32[k]
                    if v != 0.0:
                        j = p - start
                        self.nz_ids[cnt] = j
                        self.nz_entry[j] = k
                        cnt += 1
                        neg += v < 0.0
        n_negative[0] = neg
        return cnt

    cdef void gather_values(self, intp_t start, intp_t end, intp_t f) noexcept nogil:
        """The node's values of feature ``f`` by node-local id: ``vals64`` in the data's
        precision (NaN: missing) and, for sparse data, ``vals32`` (their float32 keys'
        values)."""
        cdef intp_t j, q, k, n = end - start, neg
        if not self.is_sparse:
            for j in range(n):
                self.vals64[j] = self.value(self.samples[start + j], f)
            return
        for j in range(n):
            self.vals64[j] = 0.0
            self.vals32[j] = 0.0
        for q in range(self.extract_nonzeros(start, end, f, &neg)):
            j = self.nz_ids[q]
            k = self.nz_entry[j]
            self.vals32[j] = self.sp_data32[k]
            self.vals64[j] = self.sp_data64[k] if self.sp_data64 != NULL else self.sp_data32[k]

    cdef void order_f64_runs(self, intp_t nk, const float64_t* col, intp_t rs,
                             const intp_t* samples) noexcept nogil:
        """After sorting float64 data by its float32 keys: put each run of keys that share
        a float32 image in the order of the float64 values (a run is almost always one
        repeated value, checked in one pass; distinct values within one float32 ulp are
        rare)."""
        cdef intp_t a = 0, e, q
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

    cdef void finish(self, FeatureSplit* out, intp_t f, ScanBest* best) noexcept nogil:
        out.valid = 1
        out.feature = f
        out.gain = best.proxy / self.crit.w_node
        out.split_info = (_plogp(best.w_left / self.crit.w_node)
                          + _plogp(best.w_right / self.crit.w_node)
                          + (_plogp(self.crit.w_missing / self.crit.w_node)
                             if self.crit.c45_selection else 0.0))
        out.ratio = out.gain / out.split_info if out.split_info > 1e-12 else 0.0
        out.value_left = best.value_left
        out.value_right = best.value_right

    cdef int eval_feature(self, intp_t start, intp_t end, intp_t f, float64_t lower,
                          float64_t upper, FeatureSplit* out) except -1 nogil:
        """Best threshold of feature ``f`` at the node. Returns 0 when the feature is
        constant there (or all missing, or, under C4.5's rule, constant where known), 1
        otherwise; ``out.valid`` tells whether a split satisfying the constraints
        exists."""
        if not self.is_sparse:
            return self.eval_sorted(end - start, self.samples + start,
                                    self.X32 + f * self.n_rows,
                                    self.X64 + f * self.cs64 if self.X64 != NULL else NULL,
                                    self.rs64, f, lower, upper, out)
        if self.crit.code != ABSOLUTE_ERROR:
            return self.eval_sparse(start, end, f, lower, upper, out)
        # absolute error needs every sample in the scan's order: the node's column, zeros
        # included, as a dense node-local column
        self.gather_values(start, end, f)
        return self.eval_sorted(end - start, self.ident, self.vals32,
                                self.vals64 if self.sp_data64 != NULL else NULL, 1, f,
                                lower, upper, out)

    cdef int eval_sorted(self, intp_t n, const intp_t* samples, const float32_t* col32,
                         const float64_t* col64, intp_t rs, intp_t f, float64_t lower,
                         float64_t upper, FeatureSplit* out) except -1 nogil:
        """``eval_feature`` on a dense column: node-local id j has the value
        ``col32[samples[j]]`` (and ``col64[samples[j] * rs]`` for float64 data)."""
        cdef intp_t nk = 0, nm = 0, j, q, m, n_modes
        cdef float32_t v, vmin = INFINITY, vmax = -INFINITY
        cdef float64_t d, vq, vn
        cdef intp_t msl = self.min_samples_leaf
        cdef bint c45 = self.crit.c45_selection, known_constant = False
        cdef int8_t cst = self.monotonic_cst[f] if self.monotonic_cst != NULL else 0
        cdef int modes[2]
        cdef int best_mode
        cdef float64_t before
        cdef ScanBest best

        out.valid = 0
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
            known_constant = True
            if col64 != NULL:
                # one float32 image: the float64 values may still differ
                d = col64[samples[<intp_t>(self.keys[0] & LOW_MASK)] * rs]
                for q in range(1, nk):
                    if col64[samples[<intp_t>(self.keys[q] & LOW_MASK)] * rs] != d:
                        known_constant = False
                        break
            if known_constant and (c45 or nm == 0):
                return 0
        if c45 and nk < 2 * msl:
            return 1
        if not known_constant:
            sort_u64_high(self.keys, self.tmpk, nk)
            if col64 != NULL:
                self.order_f64_runs(nk, col64, rs, samples)

        self.crit.set_missing(self.miss, nm)
        if c45:
            modes[0] = MISSING_EXCLUDED
            n_modes = 1
        else:
            # scikit-learn's order: missing values right first (with the split of the
            # known values from the missing ones), then left
            modes[0] = MISSING_RIGHT
            modes[1] = MISSING_LEFT
            n_modes = 2 if nm > 0 else 1
        best.proxy = -INFINITY
        best_mode = -1
        for m in range(n_modes):
            before = best.proxy
            self.crit.reset(self.keys, nk, modes[m])
            _scan_dispatch(self.crit, self.keys, nk, nm, modes[m], col64, samples, rs, msl,
                           self.min_weight_leaf, cst, lower, upper, &best)
            if best.proxy > before:
                best_mode = modes[m]
        # -1: decided at the partition (C4.5, or no missing value: the larger child)
        out.missing_left = best_mode == MISSING_LEFT if (not c45 and nm > 0) else -1
        if best.proxy == -INFINITY:
            return 1
        if best.pos == nk:
            out.threshold = INFINITY        # known values left, missing ones right
        else:
            if col64 != NULL:
                vq = col64[samples[<intp_t>(self.keys[best.pos - 1] & LOW_MASK)] * rs]
                vn = col64[samples[<intp_t>(self.keys[best.pos] & LOW_MASK)] * rs]
            else:
                vq = f32_from_key(<uint32_t>(self.keys[best.pos - 1] >> 32))
                vn = f32_from_key(<uint32_t>(self.keys[best.pos] >> 32))
            out.threshold = _midpoint(vq, vn)
        self.finish(out, f, &best)
        return 1

    cdef int eval_sparse(self, intp_t start, intp_t end, intp_t f, float64_t lower,
                         float64_t upper, FeatureSplit* out) except -1 nogil:
        """``eval_feature`` on sparse data in O(nnz log nnz) of the node: only the nonzero
        entries are sorted (negative ones, then positive ones); the zeros form one block
        between them, which the scan crosses in one step (the left child becomes every
        sample but the positive ones)."""
        cdef intp_t n = end - start, cnt, n_neg, j, q, k
        cdef float32_t v, vmin = INFINITY, vmax = -INFINITY
        cdef float64_t d
        cdef bint same
        cdef int8_t cst = self.monotonic_cst[f] if self.monotonic_cst != NULL else 0
        cdef ScanBest best
        out.valid = 0
        cnt = self.extract_nonzeros(start, end, f, &n_neg)
        if cnt == 0:
            return 0                    # all zero
        for q in range(cnt):
            j = self.nz_ids[q]
            v = self.sp_data32[self.nz_entry[j]]
            self.keys[q] = (<uint64_t>f32_key(v) << 32) | <uint64_t>j
            if v < vmin:
                vmin = v
            if v > vmax:
                vmax = v
        if cnt == n and vmax <= vmin:
            same = True             # no zero, one float32 image: maybe one value
            if self.sp_data64 != NULL:
                d = self.sp_data64[self.nz_entry[self.nz_ids[0]]]
                for q in range(1, cnt):
                    if self.sp_data64[self.nz_entry[self.nz_ids[q]]] != d:
                        same = False
                        break
            if same:
                return 0
        sort_u64_high(self.keys, self.tmpk, cnt)
        if self.sp_data64 != NULL:
            # node-local float64 values of the nonzero entries, for the runs' order
            for q in range(cnt):
                j = self.nz_ids[q]
                self.vals64[j] = self.sp_data64[self.nz_entry[j]]
            self.order_f64_runs(cnt, self.vals64, 1, self.ident)
        self.crit.set_missing(self.miss, 0)
        self.crit.reset(self.keys, cnt, MISSING_RIGHT)
        best.proxy = -INFINITY
        _scan_sparse_dispatch(self.crit, self.keys, cnt, n_neg, n - cnt,
                              self.vals64 if self.sp_data64 != NULL else NULL,
                              self.min_samples_leaf, self.min_weight_leaf, cst, lower,
                              upper, &best)
        if best.proxy == -INFINITY:
            return 1
        out.threshold = _midpoint(best.lo, best.hi)
        out.missing_left = -1
        self.finish(out, f, &best)
        return 1

    cdef int eval_feature_random(self, intp_t start, intp_t end, intp_t f, float64_t lower,
                                 float64_t upper, FeatureSplit* out) except -1 nogil:
        """One random threshold of feature ``f``, uniform between the node's smallest and
        largest known values; with missing values (scikit-learn's rule) they go to a
        random side. Returns 0 when the feature is constant (as ``eval_feature``)."""
        cdef intp_t n = end - start, nk = 0, nm = 0, j, s, n_left = 0, a, b, n_l, n_r
        cdef float64_t d, vmin = INFINITY, vmax = -INFINITY, thr
        cdef bint c45 = self.crit.c45_selection
        cdef int mode = MISSING_EXCLUDED
        cdef int8_t cst = self.monotonic_cst[f] if self.monotonic_cst != NULL else 0
        cdef ScanBest best

        out.valid = 0
        self.gather_values(start, end, f)
        for j in range(n):
            d = self.vals64[j]
            if isnan(d):
                self.miss[nm] = j
                nm += 1
            else:
                nk += 1
                if d < vmin:
                    vmin = d
                if d > vmax:
                    vmax = d
        if nk == 0 or (vmax <= vmin and (c45 or nm == 0)):
            return 0
        thr = rand_uniform(&self.rng, vmin, vmax)
        if thr >= vmax:
            thr = vmin
        if nm > 0 and not c45:
            mode = MISSING_LEFT if rand_int(&self.rng, 2) else MISSING_RIGHT
            if vmax <= vmin:
                # one known value: the only split is the known values from the missing ones
                mode = MISSING_RIGHT
        # the known samples, those that go left first
        a = 0
        b = nk - 1
        for j in range(n):
            d = self.vals64[j]
            if isnan(d):
                continue
            if d <= thr:
                self.keys[a] = <uint64_t>j
                a += 1
            else:
                self.keys[b] = <uint64_t>j
                b -= 1
        n_left = a
        n_l = n_left + (nm if mode == MISSING_LEFT else 0)
        n_r = nk - n_left + (nm if mode == MISSING_RIGHT else 0)
        if n_l < self.min_samples_leaf or n_r < self.min_samples_leaf:
            return 1
        self.crit.set_missing(self.miss, nm)
        self.crit.reset(self.keys, nk, mode)
        self.crit.update(n_left)
        if (self.crit.w_left < self.min_weight_leaf
                or self.crit.w_right < self.min_weight_leaf):
            return 1
        best.value_left = self.crit.left_value() if cst != 0 else 0.0
        best.value_right = self.crit.right_value() if cst != 0 else 0.0
        if cst != 0 and not _monotonic_ok(cst, lower, upper, best.value_left,
                                          best.value_right):
            return 1
        best.proxy = self.crit.proxy_impurity_improvement()
        if best.proxy == -INFINITY:
            return 1
        best.w_left = self.crit.w_left
        best.w_right = self.crit.w_right
        out.threshold = thr
        out.missing_left = (-1 if c45 or nm == 0 else mode == MISSING_LEFT)
        self.finish(out, f, &best)
        return 1

    cdef int node_split(self, intp_t start, intp_t end, float64_t impurity,
                        float64_t w_total, float64_t lower, float64_t upper,
                        SplitResult* res) except -1 nogil:
        """Split of the node ``samples[start:end]`` (``crit.init`` done); partitions the
        node's samples into [left | right] and fills ``res``."""
        cdef intp_t p = self.n_features, f_i, f_j, f, visited = 0, n_const = 0, i, j, tmp
        cdef intp_t n_valid = 0, n = end - start, nl = 0, nr = 0, nm = 0, best_i = -1
        cdef int deterministic = self.max_features >= p, status
        cdef FeatureSplit fs
        cdef FeatureSplit* best = NULL
        cdef float64_t avg = 0.0, tol, best_ratio = -INFINITY, best_gain = -INFINITY
        cdef float64_t w_a1, w_a2, w_b1, w_b2, imp_a1, imp_a2, imp_b1, imp_b2, wl, wr
        cdef float64_t v
        cdef intp_t* samples = self.samples + start
        # ties (proxy units): 1e-13 of the size of the proxies' terms (their rounding is
        # ~1e-16 of it); per unit weight for the features' gains
        cdef float64_t tie_gain

        self.crit.tie_tol = 1e-13 * self.crit.proxy_scale
        tie_gain = self.crit.tie_tol / self.crit.w_node if self.crit.w_node > 0 else 0.0
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
            if self.random_splits:
                status = self.eval_feature_random(start, end, f, lower, upper, &fs)
            else:
                status = self.eval_feature(start, end, f, lower, upper, &fs)
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
                if _better(self.fsplits[i].gain, best_gain, tie_gain):
                    best_gain = self.fsplits[i].gain
                    best_i = i
        best = &self.fsplits[best_i]

        # partition the node's samples on the chosen feature
        self.gather_values(start, end, best.feature)
        for i in range(n):
            j = samples[i]
            v = self.vals64[i]
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
            # at prediction, missing values follow the larger child
            res.missing_left = nl > nr
            self.crit.children_impurity(self.buf_l, nl, self.buf_r, nr, NULL, 0, False,
                                        &res.impurity_left, &res.impurity_right, &wl, &wr)
        elif best.missing_left >= 0:
            res.missing_left = best.missing_left
            self.crit.children_impurity(self.buf_l, nl, self.buf_r, nr, self.miss, nm,
                                        res.missing_left, &res.impurity_left,
                                        &res.impurity_right, &wl, &wr)
        else:
            # C4.5: the missing samples join the child that gives the lower impurity
            self.crit.children_impurity(self.buf_l, nl, self.buf_r, nr, self.miss, nm,
                                        True, &imp_a1, &imp_a2, &w_a1, &w_a2)
            self.crit.children_impurity(self.buf_l, nl, self.buf_r, nr, self.miss, nm,
                                        False, &imp_b1, &imp_b2, &w_b1, &w_b2)
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
        if self.is_sparse:
            for i in range(n):
                self.pos_of[samples[i]] = start + i
        res.found = 1
        res.feature = best.feature
        res.threshold = best.threshold
        res.improvement = self.crit.impurity_improvement(
            impurity, res.impurity_left, res.impurity_right, wl, wr, w_total)
        res.middle = 0.5 * best.value_left + 0.5 * best.value_right
        return 0


# ----------------------------------------------------------------------------------------
# The tree under construction
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
    cdef intp_t n_outputs
    cdef intp_t value_stride

    def __cinit__(self, intp_t n_outputs, intp_t n_classes):
        self.n_outputs = n_outputs
        self.value_stride = n_outputs * n_classes

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
        if node_id >= self.capacity:
            self.grow()
        if parent != TREE_UNDEFINED:
            if is_left:
                self.nodes[parent].left_child = node_id
            else:
                self.nodes[parent].right_child = node_id
        self.nodes[node_id].left_child = TREE_LEAF
        self.nodes[node_id].right_child = TREE_LEAF
        self.nodes[node_id].impurity = impurity
        self.nodes[node_id].n_node_samples = n_samples
        self.nodes[node_id].weighted_n_node_samples = weight
        if is_leaf:
            self.make_leaf(node_id)
        else:
            self.nodes[node_id].feature = feature
            self.nodes[node_id].threshold = threshold
            self.nodes[node_id].missing_go_to_left = missing_left
        self.node_count += 1
        return node_id

    cdef void make_leaf(self, intp_t node_id) noexcept nogil:
        self.nodes[node_id].left_child = TREE_LEAF
        self.nodes[node_id].right_child = TREE_LEAF
        self.nodes[node_id].feature = TREE_UNDEFINED
        self.nodes[node_id].threshold = TREE_UNDEFINED
        self.nodes[node_id].missing_go_to_left = 0

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
            "value": np.empty((nc, self.n_outputs, stride // self.n_outputs),
                              dtype=np.float64),
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


# ----------------------------------------------------------------------------------------
# Growth: depth first (pre-order numbering) or best first (max_leaf_nodes)
# ----------------------------------------------------------------------------------------

cdef struct GrowthParams:
    intp_t max_depth
    intp_t min_samples_split
    intp_t min_samples_leaf
    float64_t min_weight_leaf
    float64_t min_impurity_decrease
    float64_t w_total
    intp_t max_leaf_nodes       # best-first growth when > 0


cdef struct NodeRecord:
    # a node to add (depth first), or a node added and waiting in the frontier (best
    # first) with its split already computed
    intp_t start
    intp_t end
    intp_t depth
    intp_t parent
    int is_left
    float64_t impurity
    float64_t lower             # bounds of the node's value (monotonic constraints)
    float64_t upper
    # filled when the node is added
    intp_t node_id
    int is_leaf
    intp_t pos
    intp_t feature
    float64_t improvement
    float64_t impurity_left
    float64_t impurity_right
    float64_t middle


cdef class _Records:
    """A growable array of node records: the stack of depth-first growth, or the
    max-heap (by improvement, then smaller node id) of best-first growth's frontier."""
    cdef NodeRecord* records
    cdef intp_t size
    cdef intp_t capacity

    def __dealloc__(self):
        free(self.records)

    cdef int push(self, NodeRecord* rec) except -1 nogil:
        if self.size >= self.capacity:
            self.capacity = 2 * self.capacity if self.capacity > 0 else 64
            safe_realloc(<void**>&self.records, self.capacity, sizeof(NodeRecord))
        self.records[self.size] = rec[0]
        self.size += 1
        return 0

    cdef inline bint _before(self, intp_t a, intp_t b) noexcept nogil:
        cdef NodeRecord* ra = &self.records[a]
        cdef NodeRecord* rb = &self.records[b]
        return (ra.improvement > rb.improvement
                or (ra.improvement == rb.improvement and ra.node_id < rb.node_id))

    cdef int heap_push(self, NodeRecord* rec) except -1 nogil:
        cdef intp_t i, parent
        cdef NodeRecord tmp
        self.push(rec)
        i = self.size - 1
        while i > 0:
            parent = (i - 1) // 2
            if not self._before(i, parent):
                break
            tmp = self.records[i]
            self.records[i] = self.records[parent]
            self.records[parent] = tmp
            i = parent
        return 0

    cdef NodeRecord heap_pop(self) noexcept nogil:
        cdef NodeRecord top = self.records[0], tmp
        cdef intp_t i = 0, child
        self.size -= 1
        self.records[0] = self.records[self.size]
        while True:
            child = 2 * i + 1
            if child >= self.size:
                break
            if child + 1 < self.size and self._before(child + 1, child):
                child += 1
            if not self._before(child, i):
                break
            tmp = self.records[i]
            self.records[i] = self.records[child]
            self.records[child] = tmp
            i = child
        return top


cdef int _add_node(Splitter splitter, Criterion crit, NodeStore store,
                   const GrowthParams* prm, NodeRecord* rec, bint is_first) except -1 nogil:
    """Evaluate the node ``rec`` describes (its split, unless it must be a leaf), add it
    to ``store`` and fill in the rest of ``rec``."""
    cdef SplitResult split
    cdef intp_t n = rec.end - rec.start
    cdef bint is_leaf
    crit.init(splitter.samples + rec.start, n)
    if is_first:
        rec.impurity = crit.node_impurity()
    is_leaf = (rec.depth >= prm.max_depth or n < prm.min_samples_split
               or n < 2 * prm.min_samples_leaf or crit.w_node < 2 * prm.min_weight_leaf
               or crit.is_pure(rec.impurity))
    split.found = 0
    split.feature = 0
    split.threshold = 0.0
    split.missing_left = 0
    if not is_leaf:
        splitter.node_split(rec.start, rec.end, rec.impurity, prm.w_total, rec.lower,
                            rec.upper, &split)
        is_leaf = (not split.found
                   or split.improvement + EPSILON < prm.min_impurity_decrease)
    rec.node_id = store.add_node(rec.parent, rec.is_left, is_leaf, split.feature,
                                 split.threshold, rec.impurity, n, crit.w_node,
                                 split.missing_left)
    crit.node_value(store.values + rec.node_id * store.value_stride)
    if splitter.monotonic_cst != NULL:
        crit.clip_value(store.values + rec.node_id * store.value_stride, rec.lower,
                        rec.upper)
    rec.is_leaf = is_leaf
    if not is_leaf:
        rec.pos = split.pos
        rec.feature = split.feature
        rec.improvement = split.improvement
        rec.impurity_left = split.impurity_left
        rec.impurity_right = split.impurity_right
        rec.middle = split.middle
    else:
        rec.improvement = 0.0
    return 0


cdef inline void _child_record(NodeRecord* parent, bint left, const int8_t* cst,
                               NodeRecord* child) noexcept nogil:
    """The record of a child of a split node (its bounds follow a monotonic constraint
    on the split feature: the left child below the middle value for an increasing one)."""
    cdef int8_t c = cst[parent.feature] if cst != NULL else 0
    child.start = parent.start if left else parent.pos
    child.end = parent.pos if left else parent.end
    child.depth = parent.depth + 1
    child.parent = parent.node_id
    child.is_left = left
    child.impurity = parent.impurity_left if left else parent.impurity_right
    child.lower = parent.lower
    child.upper = parent.upper
    if c == 1:
        if left:
            child.upper = parent.middle
        else:
            child.lower = parent.middle
    elif c == -1:
        if left:
            child.lower = parent.middle
        else:
            child.upper = parent.middle


cdef intp_t _grow_depth_first(Splitter splitter, Criterion crit, NodeStore store,
                              _Records stack, const GrowthParams* prm,
                              intp_t n_active) except -1 nogil:
    """Depth-first growth with an explicit stack; nodes are numbered in pre-order, left
    child first. Returns the maximal depth."""
    cdef NodeRecord rec, child
    cdef intp_t max_depth_seen = 0
    cdef bint first = True
    rec.start = 0
    rec.end = n_active
    rec.depth = 0
    rec.parent = TREE_UNDEFINED
    rec.is_left = 0
    rec.impurity = INFINITY
    rec.lower = -INFINITY
    rec.upper = INFINITY
    stack.push(&rec)
    while stack.size > 0:
        stack.size -= 1
        rec = stack.records[stack.size]
        _add_node(splitter, crit, store, prm, &rec, first)
        first = False
        if rec.depth > max_depth_seen:
            max_depth_seen = rec.depth
        if not rec.is_leaf:
            # right first, so that the left child is popped (and numbered) next
            _child_record(&rec, False, splitter.monotonic_cst, &child)
            stack.push(&child)
            _child_record(&rec, True, splitter.monotonic_cst, &child)
            stack.push(&child)
    return max_depth_seen


cdef intp_t _grow_best_first(Splitter splitter, Criterion crit, NodeStore store,
                             _Records frontier, const GrowthParams* prm,
                             intp_t n_active) except -1 nogil:
    """Best-first growth (``max_leaf_nodes``): the frontier node whose split decreases
    the impurity most is split next, until ``max_leaf_nodes`` leaves; each node's split
    is computed when it is added. Nodes are numbered in the order they are added (a
    split's two children together). Returns the maximal depth."""
    cdef NodeRecord rec, child
    cdef intp_t max_depth_seen = 0, max_split_nodes = prm.max_leaf_nodes - 1
    rec.start = 0
    rec.end = n_active
    rec.depth = 0
    rec.parent = TREE_UNDEFINED
    rec.is_left = 0
    rec.impurity = INFINITY
    rec.lower = -INFINITY
    rec.upper = INFINITY
    _add_node(splitter, crit, store, prm, &rec, True)
    frontier.heap_push(&rec)
    while frontier.size > 0:
        rec = frontier.heap_pop()
        if rec.is_leaf or max_split_nodes <= 0:
            store.make_leaf(rec.node_id)
        else:
            max_split_nodes -= 1
            _child_record(&rec, True, splitter.monotonic_cst, &child)
            _add_node(splitter, crit, store, prm, &child, False)
            frontier.heap_push(&child)
            _child_record(&rec, False, splitter.monotonic_cst, &child)
            _add_node(splitter, crit, store, prm, &child, False)
            frontier.heap_push(&child)
        if rec.depth > max_depth_seen:
            max_depth_seen = rec.depth
    return max_depth_seen


def build_tree(object data, const intp_t[:, ::1] y_codes,
               const float64_t[:, ::1] y_values, const float64_t[::1] sample_weight,
               const intp_t[:, ::1] y_rank, intp_t[::1] samples, int criterion,
               intp_t n_classes, intp_t max_depth, intp_t min_samples_split,
               intp_t min_samples_leaf, float64_t min_weight_leaf,
               float64_t min_impurity_decrease, intp_t max_features, uint64_t seed,
               bint random_splits=False, intp_t max_leaf_nodes=-1,
               object monotonic_cst=None):
    """Grow a tree; returns a dict of the flat node arrays and ``max_depth``.

    ``data`` is dense, ``(X32, X64)``: the data in float32 (Fortran order) and, for
    float64 data, the data itself (any strides; ``X32`` its rounding; else None), or
    sparse, ``(data32, data64, indices, indptr, n_rows, n_features)``: a CSC matrix with
    sorted int32 row indices, its values in float32 and, for float64 data, in float64
    (else None). Splits and thresholds are exact in the data's precision; thresholds are
    midpoints (float64) of two consecutive values. ``samples`` (modified) lists the
    samples with a positive weight; ``y_codes`` / ``y_values`` / ``y_rank`` have one row
    per row of ``X`` and one column per output (unused ones may hold anything).
    ``criterion`` is a code of ``CLASSIFICATION_CRITERIA`` / ``REGRESSION_CRITERIA``;
    ``n_classes`` the largest number of classes of an output (1 for regression).
    ``random_splits``: one random threshold per feature (extremely randomized trees);
    ``max_leaf_nodes`` > 0: best-first growth; ``monotonic_cst``: int8 array (n_features,)
    of -1 / 0 / 1 (single output; binary classification). The GIL is released for the
    whole growth."""
    cdef const float32_t[::1, :] X32
    cdef const float64_t[:, :] X64
    cdef const float32_t[::1] sp32
    cdef const float64_t[::1] sp64
    cdef const int32_t[::1] sp_indices
    cdef const intp_t[::1] sp_indptr
    cdef const int8_t[::1] cst
    cdef intp_t n = samples.shape[0], p, n_rows, n_outputs, depth, i
    cdef Criterion crit
    cdef Splitter splitter
    cdef NodeStore store
    cdef _Records records
    cdef GrowthParams prm
    n_outputs = y_values.shape[1] if criterion > GAIN_RATIO else y_codes.shape[1]
    sparse = len(data) == 6
    if sparse:
        n_rows, p = data[4], data[5]
    else:
        n_rows, p = data[0].shape
    if n == 0 or p == 0:
        raise ValueError("build_tree needs at least one sample and one feature")
    if n_rows >= 0x7FFFFFFF:
        raise ValueError("build_tree supports fewer than 2**31 - 1 samples")
    crit = _make_criterion(criterion, n, n_outputs, n_classes, y_codes, y_values,
                           sample_weight, y_rank)
    splitter = Splitter(crit, n, p, n_rows)
    splitter.n_rows = n_rows
    if sparse:
        sp32, sp_indices, sp_indptr = data[0], data[2], data[3]
        if sp_indptr.shape[0] != p + 1 or sp_indices.shape[0] != sp32.shape[0]:
            raise ValueError("inconsistent CSC arrays")
        splitter.is_sparse = True
        splitter.sp_data32 = &sp32[0] if sp32.shape[0] else NULL
        splitter.sp_indices = &sp_indices[0] if sp_indices.shape[0] else NULL
        splitter.sp_indptr = &sp_indptr[0]
        if data[1] is not None:
            sp64 = data[1]
            if sp64.shape[0] != sp32.shape[0]:
                raise ValueError("inconsistent CSC arrays")
            splitter.sp_data64 = &sp64[0] if sp64.shape[0] else NULL
            if sp64.shape[0] == 0:
                splitter.sp_data64 = NULL
        for i in range(n_rows):
            splitter.pos_of[i] = -1
        for i in range(n):
            splitter.pos_of[samples[i]] = i
    else:
        X32 = data[0]
        splitter.X32 = &X32[0, 0]
        if data[1] is not None:
            X64 = data[1]
            if X64.shape[0] != X32.shape[0] or X64.shape[1] != X32.shape[1]:
                raise ValueError("X64 and X32 must have the same shape")
            splitter.X64 = &X64[0, 0]
            splitter.rs64 = X64.strides[0] // sizeof(float64_t)
            splitter.cs64 = X64.strides[1] // sizeof(float64_t)
    if monotonic_cst is not None:
        cst = monotonic_cst
        if cst.shape[0] != p:
            raise ValueError("monotonic_cst must have one entry per feature")
        splitter.monotonic_cst = &cst[0]
        if criterion == ABSOLUTE_ERROR:
            (<AbsoluteError>crit).need_medians = True
    splitter.samples = &samples[0]
    splitter.min_samples_leaf = min_samples_leaf
    splitter.max_features = max_features
    splitter.min_weight_leaf = min_weight_leaf
    splitter.rng = seed
    splitter.random_splits = random_splits
    store = NodeStore(n_outputs, n_classes)
    prm.max_depth = max_depth
    prm.min_samples_split = min_samples_split
    prm.min_samples_leaf = min_samples_leaf
    prm.min_weight_leaf = min_weight_leaf
    prm.min_impurity_decrease = min_impurity_decrease
    prm.max_leaf_nodes = max_leaf_nodes
    prm.w_total = 0.0
    for i in range(n):
        prm.w_total += sample_weight[samples[i]]
    records = _Records()
    with nogil:
        if max_leaf_nodes > 0:
            depth = _grow_best_first(splitter, crit, store, records, &prm, n)
        else:
            depth = _grow_depth_first(splitter, crit, store, records, &prm, n)
    out = store.arrays()
    out["max_depth"] = depth
    # Trees grown in worker threads (forests, n_jobs > 1) allocate in one malloc arena
    # per thread, where freed builder buffers stay resident between the fitted trees'
    # arrays; over a forest that is ~1 MB per 1000 rows per thread. Freed, then trimmed
    # (glibc: free pages handed back), the peak is the live memory. The main thread's
    # heap does not pile up so, and skips the trim (its pages would be faulted in again
    # by the next tree: ~3% of a forest's fit).
    bytes_used = (n * 96 + n_rows * sizeof(intp_t)
                  + store.capacity * (sizeof(Node) + store.value_stride * sizeof(float64_t)))
    splitter = crit = store = records = None
    if (bytes_used > RELEASE_BYTES
            and threading.current_thread() is not threading.main_thread()):
        with nogil:
            skml_release_free_heap()
    return out


# ----------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------

cdef inline intp_t _child(floating v, intp_t node, const intp_t* left, const intp_t* right,
                          const float64_t* threshold,
                          const uint8_t* missing_left) noexcept nogil:
    """The child of the split ``node`` where the value ``v`` of its feature goes."""
    if isnan(v):
        return left[node] if missing_left[node] else right[node]
    return left[node] if v <= threshold[node] else right[node]


cdef inline intp_t _leaf_of(const floating* x, intp_t node, const intp_t* left,
                            const intp_t* right, const intp_t* feature,
                            const float64_t* threshold, const uint8_t* missing_left) noexcept nogil:
    while left[node] != TREE_LEAF:
        node = _child(x[feature[node]], node, left, right, threshold, missing_left)
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


# The packed forest: every tree renumbered in pre-order (the left child of a node is the
# next node) and written one after another, so that a step of the walk reads one 16-
# or 24-byte record. The threshold is stored in the precision of the rows that will be
# compared with it: for float32 rows, the largest float32 <= the tree's float64
# threshold, which gives the same decision as the float64 threshold for every float32
# x (x <= t64 implies x <= that float32 by maximality; the converse as it is <= t64),
# and NaN the same route (every comparison with NaN is false). A leaf is a fixed point
# of the step: threshold NaN (no x goes left, not even -inf), missing_left 0, feature 0
# and right = the leaf itself.
cdef struct PackedNode32:
    float32_t threshold
    int32_t feature
    int32_t right
    int32_t missing_left


cdef struct PackedNode64:
    float64_t threshold
    int32_t feature
    int32_t right
    int32_t missing_left
    int32_t unused


ctypedef fused packed_node_t:
    PackedNode32
    PackedNode64


PACKED_NODE_DTYPES = {
    np.dtype(np.float32): np.dtype([("threshold", np.float32), ("feature", np.int32),
                                    ("right", np.int32), ("missing_left", np.int32)]),
    np.dtype(np.float64): np.dtype([("threshold", np.float64), ("feature", np.int32),
                                    ("right", np.int32), ("missing_left", np.int32),
                                    ("unused", np.int32)]),
}
assert PACKED_NODE_DTYPES[np.dtype(np.float32)].itemsize == sizeof(PackedNode32)
assert PACKED_NODE_DTYPES[np.dtype(np.float64)].itemsize == sizeof(PackedNode64)


cdef inline float32_t _float32_at_most(float64_t t) noexcept nogil:
    """The largest float32 <= t (t not NaN)."""
    cdef float32_t r
    if t >= FLT_MAX:
        return INFINITY if t == INFINITY else FLT_MAX
    if t < -FLT_MAX:
        return -INFINITY
    r = <float32_t>t
    if r > t:
        r = nextafterf(r, -INFINITY)
    return r


cdef intp_t _pack_tree(const intp_t* left, const intp_t* right, const intp_t* feature,
                       const float64_t* threshold, const uint8_t* missing_left,
                       intp_t node_count, intp_t n_features, packed_node_t* out,
                       int32_t* node_ids, intp_t offset, intp_t* stack) noexcept nogil:
    """Write one tree in pre-order at ``out[offset:]`` (and the tree's id of each node
    at ``node_ids[offset:]``); returns the number of nodes written, or -1 if the tree is
    malformed (a child out of range, a cycle: more nodes visited than it has, or a split
    feature outside 0..n_features-1)."""
    cdef intp_t top = 0, node, pos = offset, written = 0
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        if node < 0 or node >= node_count or written >= node_count:
            return -1
        node_ids[pos] = <int32_t>node
        out[pos].missing_left = 0
        if left[node] == TREE_LEAF:
            out[pos].threshold = NAN
            out[pos].feature = 0
            out[pos].right = <int32_t>pos
        else:
            if (left[node] < 0 or left[node] >= node_count or right[node] < 0
                    or right[node] >= node_count or feature[node] < 0
                    or feature[node] >= n_features or isnan(threshold[node])):
                return -1
            if packed_node_t is PackedNode32:
                out[pos].threshold = _float32_at_most(threshold[node])
            else:
                out[pos].threshold = threshold[node]
            out[pos].feature = <int32_t>feature[node]
            out[pos].missing_left = missing_left[node] != 0
            out[pos].right = -1             # set when the right child is written
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


def pack_forest(list trees, intp_t stride, dtype=np.float64, n_features=None):
    """Pack fitted trees for ``forest_accumulate``: (roots, nodes, node_ids).

    ``trees`` is a list of (children_left, children_right, feature, threshold,
    missing_go_to_left, value) with ``value`` of shape (node_count, stride). Each tree is
    renumbered in pre-order, so the left child of a node is the next node; ``roots[t]``
    is where tree ``t`` starts and ``node_ids`` gives, for every packed node, its id in
    its own tree (the row of its ``value``: the values are read from the trees' own
    arrays at each prediction, never copied). ``nodes`` has the record type
    ``PACKED_NODE_DTYPES[dtype]``: the thresholds for rows of that dtype (float32 rows:
    each threshold rounded down to a float32, the same decisions). With ``n_features``,
    a split feature outside 0..n_features-1 is an error (the kernels read
    ``x[feature]``). O(total nodes) without the GIL."""
    cdef intp_t n_trees = len(trees), t, total = 0, nc, written, max_nc = 0
    cdef intp_t p = np.iinfo(np.int32).max if n_features is None else n_features
    cdef const intp_t[::1] left, right, feature
    cdef const float64_t[::1] threshold
    cdef const uint8_t[::1] missing
    cdef PackedNode32[::1] nodes32
    cdef PackedNode64[::1] nodes64
    cdef bint is32
    dtype = np.dtype(dtype)
    if dtype not in PACKED_NODE_DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
    roots_arr = np.empty(n_trees, dtype=np.intp)
    cdef intp_t[::1] roots = roots_arr
    for t in range(n_trees):
        nc = trees[t][0].shape[0]
        roots[t] = total
        total += nc
        max_nc = max(max_nc, nc)
    if total >= 2**31:
        raise ValueError("the forest has too many nodes (>= 2**31) to be packed.")
    nodes_arr = np.empty(total, dtype=PACKED_NODE_DTYPES[dtype])
    is32 = dtype == np.float32
    if is32:
        nodes32 = nodes_arr
    else:
        nodes64 = nodes_arr
    ids_arr = np.empty(total, dtype=np.int32)
    stack_arr = np.empty(2 * max_nc + 4, dtype=np.intp)
    cdef int32_t[::1] ids = ids_arr
    cdef intp_t[::1] stack = stack_arr
    for t in range(n_trees):
        left, right, feature, threshold, missing, value = trees[t]
        nc = left.shape[0]
        if (right.shape[0] != nc or feature.shape[0] != nc or threshold.shape[0] != nc
                or missing.shape[0] != nc or value.shape != (nc, stride) or nc == 0):
            raise ValueError(f"tree {t} has inconsistent node arrays.")
        with nogil:
            if is32:
                written = _pack_tree(&left[0], &right[0], &feature[0], &threshold[0],
                                     &missing[0], nc, p, &nodes32[0], &ids[0], roots[t],
                                     &stack[0])
            else:
                written = _pack_tree(&left[0], &right[0], &feature[0], &threshold[0],
                                     &missing[0], nc, p, &nodes64[0], &ids[0], roots[t],
                                     &stack[0])
        if written != nc:
            raise ValueError(f"tree {t} is not a binary tree rooted at node 0 whose "
                             "nodes are all reachable, with split features in range.")
    return roots_arr, nodes_arr, ids_arr


cdef const float64_t** _forest_arrays(object nodes, bint single, const intp_t[::1] roots,
                                      const int32_t[::1] node_ids, list values,
                                      intp_t n_out, const void** base) except NULL:
    """Check a packing against the kernel's row type (``single``: float32 rows want
    ``PackedNode32`` records) and against its node ids; set ``base`` to the first
    record. Returns the address of every tree's ``value`` rows (C-contiguous float64
    arrays of shape (node_count, n_out): ``values``, which holds them alive for the
    call) in a malloc'ed array that the caller frees."""
    cdef const PackedNode32[::1] nodes32
    cdef const PackedNode64[::1] nodes64
    cdef const float64_t[:, ::1] v
    cdef const float64_t** rows = NULL
    cdef intp_t t, n_trees = roots.shape[0], n_nodes, nc
    if single:
        nodes32 = nodes
        n_nodes = nodes32.shape[0]
        base[0] = &nodes32[0] if n_nodes else NULL
    else:
        nodes64 = nodes
        n_nodes = nodes64.shape[0]
        base[0] = &nodes64[0] if n_nodes else NULL
    if node_ids.shape[0] != n_nodes or len(values) != n_trees:
        raise ValueError("the packed forest's node ids or values do not match its nodes.")
    safe_realloc(<void**>&rows, max(n_trees, 1), sizeof(float64_t*))
    try:
        for t in range(n_trees):
            nc = (roots[t + 1] if t + 1 < n_trees else n_nodes) - roots[t]
            v = values[t]
            if (roots[0] != 0 or nc <= 0 or v.shape[0] != nc or v.shape[1] != n_out):
                raise ValueError(f"the value array of tree {t} does not match its nodes.")
            rows[t] = &v[0, 0]
    except BaseException:
        free(rows)
        raise
    return rows


cdef enum:
    GROUP = 8           # rows advanced together through a tree


cdef inline void _walk_group(const floating* x, intp_t n_features, intp_t root,
                             const packed_node_t* base, intp_t* cur,
                             intp_t n_group) noexcept nogil:
    """``cur[g]`` = the leaf reached by row ``g`` of the ``n_group`` rows at ``x``: the
    rows advance one level per pass with a branch-free step (independent walks overlap
    their memory latencies) until all of them stand on their leaf (a fixed point)."""
    cdef intp_t g, nxt, moved = 1
    cdef const packed_node_t* nd
    cdef floating v
    cdef int go_left
    for g in range(n_group):
        cur[g] = root
    while moved:
        moved = 0
        for g in range(n_group):
            nd = base + cur[g]
            v = x[g * n_features + nd.feature]
            go_left = (v <= nd.threshold) | ((v != v) & nd.missing_left)
            nxt = nd.right + go_left * (cur[g] + 1 - nd.right)
            moved |= nxt != cur[g]
            cur[g] = nxt


cdef inline void _add_leaves(const intp_t* cur, intp_t n_group, const int32_t* node_ids,
                             const float64_t* values, intp_t n_out,
                             float64_t* out) noexcept nogil:
    cdef intp_t g, k
    cdef const float64_t* row
    for g in range(n_group):
        row = values + node_ids[cur[g]] * n_out
        for k in range(n_out):
            out[g * n_out + k] += row[k]


cdef void _accumulate_rows(const floating* X, intp_t n_rows, intp_t n_features,
                           const intp_t* roots, intp_t n_trees, const packed_node_t* base,
                           const int32_t* node_ids, const float64_t** values,
                           intp_t n_out, float64_t* out) noexcept nogil:
    """``out[i] += values[t][leaf_t(i)]`` over the trees (in order) for the ``n_rows``
    C-ordered rows of ``X``, GROUP rows at a time (a group of constant size, which the
    compiler unrolls; the last rows in a smaller one)."""
    cdef intp_t i, t
    cdef intp_t cur[GROUP]
    for t in range(n_trees):
        i = 0
        while i + GROUP <= n_rows:
            _walk_group(X + i * n_features, n_features, roots[t], base, cur, GROUP)
            _add_leaves(cur, GROUP, node_ids, values[t], n_out, out + i * n_out)
            i += GROUP
        if i < n_rows:
            _walk_group(X + i * n_features, n_features, roots[t], base, cur, n_rows - i)
            _add_leaves(cur, n_rows - i, node_ids, values[t], n_out, out + i * n_out)


def forest_accumulate(const floating[:, ::1] X, const intp_t[::1] roots, nodes,
                      const int32_t[::1] node_ids, list values, float64_t[:, ::1] out,
                      intp_t row_start, intp_t row_end):
    """``out[i] += values[t][leaf_t(i)]`` summed over the trees (in order), rows
    ``row_start:row_end``.

    ``(roots, nodes, node_ids)`` is what ``pack_forest`` returns for X's dtype (with
    ``n_features`` = X's width): the trees one after another in ``nodes`` (``right`` is
    an absolute index), ``roots[t]`` the root of tree ``t``; ``values[t]`` is tree
    ``t``'s value array (node_count, out.shape[1]), read where it is (edits of a leaf's
    value show at the next call). Rows go in blocks so that one tree's nodes stay in
    cache. Each row's sum runs over the trees in the same order whatever the blocks, so
    results do not depend on how the rows were split among threads."""
    cdef const void* base = NULL
    cdef const float64_t** rows
    cdef intp_t blk, blk_end, n_trees = roots.shape[0], n_out = out.shape[1]
    cdef intp_t n_features = X.shape[1]
    # rows per block: as many as keep ~2 MB of rows in cache (32768 rows of 20 float32
    # features), at least GROUP; wide rows get few rows per block
    cdef intp_t BLOCK = max(GROUP, min(32768, (1 << 21) // (max(n_features, 1)
                                                           * sizeof(floating))))
    if row_end <= row_start or n_trees == 0:
        return
    if not (0 <= row_start and row_end <= X.shape[0] <= out.shape[0]) or n_features == 0:
        raise ValueError("forest_accumulate: rows out of range or no features.")
    rows = _forest_arrays(nodes, floating is float, roots, node_ids, values, n_out, &base)
    try:
        with nogil:
            blk = row_start
            while blk < row_end:
                blk_end = min(blk + BLOCK, row_end)
                if floating is float:
                    _accumulate_rows(&X[blk, 0], blk_end - blk, n_features, &roots[0],
                                     n_trees, <const PackedNode32*>base, &node_ids[0], rows,
                                     n_out, &out[blk, 0])
                else:
                    _accumulate_rows(&X[blk, 0], blk_end - blk, n_features, &roots[0],
                                     n_trees, <const PackedNode64*>base, &node_ids[0], rows,
                                     n_out, &out[blk, 0])
                blk = blk_end
    finally:
        free(rows)


cdef inline void _densify(const floating* data, const int32_t* indices,
                          const intp_t* indptr, intp_t row, floating* dense) noexcept nogil:
    cdef intp_t k
    for k in range(indptr[row], indptr[row + 1]):
        dense[indices[k]] = data[k]


cdef inline void _clear(const int32_t* indices, const intp_t* indptr, intp_t row,
                        floating* dense) noexcept nogil:
    cdef intp_t k
    for k in range(indptr[row], indptr[row + 1]):
        dense[indices[k]] = 0


cdef inline intp_t _leaf_packed(const floating* x, const packed_node_t* base,
                                intp_t node) noexcept nogil:
    """The leaf of the dense row ``x`` in the packed tree whose root is ``node``: a plain
    loop with a branch per level. On the long, lopsided paths of trees grown on sparse
    data (hundreds of levels where a zero goes the same way) the branch is predicted
    and the next node is fetched before the comparison resolves, which a branch-free
    step would wait for."""
    cdef const packed_node_t* nd
    cdef floating v
    while True:
        nd = base + node
        v = x[nd.feature]
        if v <= nd.threshold or (v != v and nd.missing_left):
            node = node + 1
        elif nd.right == node:      # a leaf (its own right child)
            return node
        else:
            node = nd.right


cdef void _accumulate_csr_rows(const floating* data, const int32_t* ind,
                               const intp_t* indptr, intp_t row_start, intp_t row_end,
                               const intp_t* roots, intp_t n_trees,
                               const packed_node_t* base, const int32_t* node_ids,
                               const float64_t** values, intp_t n_out, float64_t* out,
                               floating* buf, intp_t block) noexcept nogil:
    cdef intp_t blk = row_start, blk_end, t, i, k
    cdef const float64_t* row
    while blk < row_end:
        blk_end = min(blk + block, row_end)
        for t in range(n_trees):
            for i in range(blk, blk_end):
                _densify(data, ind, indptr, i, buf)
                row = values[t] + node_ids[_leaf_packed(buf, base, roots[t])] * n_out
                _clear(ind, indptr, i, buf)
                for k in range(n_out):
                    out[i * n_out + k] += row[k]
        blk = blk_end


def forest_accumulate_csr(const floating[::1] data, const int32_t[::1] indices,
                          const intp_t[::1] indptr, intp_t n_features,
                          const intp_t[::1] roots, nodes, const int32_t[::1] node_ids,
                          list values, float64_t[:, ::1] out, intp_t row_start,
                          intp_t row_end):
    """``forest_accumulate`` for CSR rows (canonical: no duplicate entries; ``nodes``
    packed for the data's dtype), rows ``row_start:row_end``. Blocks of rows go through
    the trees one tree at a time (one tree's nodes stay in cache while the block goes
    through it, as scikit-learn's tree-by-tree prediction has them); each row is written
    into a dense buffer of one row (never the whole matrix) for its walk down the tree,
    and its entries are zeroed again after it (O(nnz) per row and tree, against hundreds
    of levels per walk on sparse data). Each row adds its leaves in tree order: the same
    sums as ``forest_accumulate`` on the dense copy, to the last bit."""
    cdef const void* base = NULL
    cdef const float64_t** rows = NULL
    cdef intp_t n_trees = roots.shape[0], n_out = out.shape[1]
    cdef floating* buf = NULL
    cdef const floating* d = &data[0] if data.shape[0] else NULL
    cdef const int32_t* ind = &indices[0] if indices.shape[0] else NULL
    # rows per block: their stored entries (~12 bytes each) well inside L2 next to a
    # tree
    cdef intp_t mean_nnz = max(1, data.shape[0] // max(1, indptr.shape[0] - 1))
    cdef intp_t BLOCK = max(1, min(4096, (1 << 17) // (12 * mean_nnz)))
    if row_end <= row_start or n_trees == 0:
        return
    if (not (0 <= row_start and row_end < indptr.shape[0]) or row_end > out.shape[0]
            or n_features <= 0):
        raise ValueError("forest_accumulate_csr: rows out of range or no features.")
    rows = _forest_arrays(nodes, floating is float, roots, node_ids, values, n_out, &base)
    try:
        safe_realloc(<void**>&buf, n_features, sizeof(floating))
        with nogil:
            memset(buf, 0, n_features * sizeof(floating))
            if floating is float:
                _accumulate_csr_rows(d, ind, &indptr[0], row_start, row_end, &roots[0],
                                     n_trees, <const PackedNode32*>base, &node_ids[0], rows,
                                     n_out, &out[0, 0], buf, BLOCK)
            else:
                _accumulate_csr_rows(d, ind, &indptr[0], row_start, row_end, &roots[0],
                                     n_trees, <const PackedNode64*>base, &node_ids[0], rows,
                                     n_out, &out[0, 0], buf, BLOCK)
    finally:
        free(buf)
        free(rows)


def apply_tree_csr(const floating[::1] data, const int32_t[::1] indices,
                   const intp_t[::1] indptr, intp_t n_features, const intp_t[::1] left,
                   const intp_t[::1] right, const intp_t[::1] feature,
                   const float64_t[::1] threshold, const uint8_t[::1] missing_left,
                   intp_t[::1] out):
    """``out[i]`` = the leaf of CSR row ``i`` (one dense row buffer, cleared after each
    row)."""
    cdef intp_t i, n = indptr.shape[0] - 1
    cdef floating* buf = NULL
    if n <= 0:
        return
    safe_realloc(<void**>&buf, max(n_features, 1), sizeof(floating))
    try:
        with nogil:
            memset(buf, 0, max(n_features, 1) * sizeof(floating))
            for i in range(n):
                _densify(&data[0] if data.shape[0] else NULL,
                         &indices[0] if indices.shape[0] else NULL, &indptr[0], i, buf)
                out[i] = _leaf_of(buf, 0, &left[0], &right[0], &feature[0], &threshold[0],
                                  &missing_left[0])
                _clear(&indices[0] if indices.shape[0] else NULL, &indptr[0], i, buf)
    finally:
        free(buf)


cdef inline intp_t _path(const floating* x, const intp_t* left, const intp_t* right,
                        const intp_t* feature, const float64_t* threshold,
                        const uint8_t* missing_left, intp_t* dest) noexcept nogil:
    """The number of nodes on the root-to-leaf path of row ``x``, written to ``dest``
    unless it is NULL."""
    cdef intp_t node = 0, length = 1
    if dest != NULL:
        dest[0] = 0
    while left[node] != TREE_LEAF:
        node = _child(x[feature[node]], node, left, right, threshold, missing_left)
        if dest != NULL:
            dest[length] = node
        length += 1
    return length


def decision_path_csr(const floating[:, ::1] X, const intp_t[::1] left,
                      const intp_t[::1] right, const intp_t[::1] feature,
                      const float64_t[::1] threshold, const uint8_t[::1] missing_left):
    """(indptr, indices) of the CSR node-indicator matrix: the nodes each row visits
    (one pass to size it, one to fill it)."""
    cdef intp_t i, n = X.shape[0]
    indptr_arr = np.zeros(n + 1, dtype=np.intp)
    cdef intp_t[::1] indptr = indptr_arr
    with nogil:
        for i in range(n):
            indptr[i + 1] = indptr[i] + _path(&X[i, 0], &left[0], &right[0], &feature[0],
                                              &threshold[0], &missing_left[0], NULL)
    indices_arr = np.empty(indptr[n], dtype=np.intp)
    cdef intp_t[::1] indices = indices_arr
    with nogil:
        for i in range(n):
            _path(&X[i, 0], &left[0], &right[0], &feature[0], &threshold[0],
                  &missing_left[0], &indices[indptr[i]])
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
