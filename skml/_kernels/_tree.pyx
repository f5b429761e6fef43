# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Decision trees: the depth-first builder with its best splitter, prediction, decision
paths and minimal cost-complexity pruning.

Private and dumb: the Python layer (``skml.tree._classes``) validates everything and hands
over

* ``X`` as a Fortran-ordered float32 array (one feature is one contiguous column, which is
  what the splitter gathers), ``X`` for prediction as a C-ordered float32 array;
* class codes ``0..n_classes-1`` (classification) or float64 targets (regression);
* float64 sample weights and the indices of the samples with a positive weight;
* for ``absolute_error``, the rank of every target in the whole training set.

Splitting (per node, per candidate feature): the node's non-missing values of the feature
are packed with their position into 64-bit keys (an order-preserving encoding of the
float32 value in the high 32 bits, the position in the low 32 bits), the keys are sorted
with an introsort written here, and one linear scan updates running weighted class counts
(gini / entropy / gain ratio), running weighted sums (squared error) or reads prefix and
suffix absolute errors computed with a Fenwick tree over the node's target ranks
(absolute error). Every threshold between two distinct consecutive values is evaluated;
the threshold is their midpoint, as in scikit-learn.

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

cimport numpy as cnp
from libc.math cimport INFINITY, fabs, isnan, log2
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

cnp.import_array()

ctypedef cnp.intp_t intp_t
ctypedef cnp.float32_t float32_t
ctypedef cnp.float64_t float64_t

# Criterion codes shared with skml/tree/_classes.py (keep in sync: CRITERIA there).
cdef enum:
    GINI = 0
    ENTROPY = 1
    GAIN_RATIO = 2
    SQUARED_ERROR = 3
    ABSOLUTE_ERROR = 4

cdef intp_t TREE_LEAF = -1
cdef intp_t TREE_UNDEFINED = -2
# Values closer than this are one value (as in scikit-learn); float32 arithmetic.
cdef float32_t FEATURE_THRESHOLD = 1e-7
cdef float64_t EPSILON = 2.220446049250313e-16
cdef uint64_t LOW_MASK = 0xFFFFFFFF

TREE_LEAF_ = TREE_LEAF
TREE_UNDEFINED_ = TREE_UNDEFINED


# ----------------------------------------------------------------------------------------
# Keys: float32 value (order-preserving bits) << 32 | position
# ----------------------------------------------------------------------------------------

cdef union F32Bits:
    float32_t f
    uint32_t u


cdef inline uint32_t _f2key(float32_t v) noexcept nogil:
    cdef F32Bits b
    b.f = v
    if b.u & 0x80000000u:
        return ~b.u
    return b.u | 0x80000000u


cdef inline float32_t _key2f(uint32_t k) noexcept nogil:
    cdef F32Bits b
    if k & 0x80000000u:
        b.u = k & 0x7FFFFFFFu
    else:
        b.u = ~k
    return b.f


cdef inline void _insertion_sort(uint64_t* a, intp_t n) noexcept nogil:
    cdef intp_t i, j
    cdef uint64_t t
    for i in range(1, n):
        t = a[i]
        j = i - 1
        while j >= 0 and a[j] > t:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = t


cdef inline void _sift_down(uint64_t* a, intp_t start, intp_t end) noexcept nogil:
    cdef intp_t root = start, child
    cdef uint64_t t
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and a[child] < a[child + 1]:
            child += 1
        if a[root] < a[child]:
            t = a[root]
            a[root] = a[child]
            a[child] = t
            root = child
        else:
            return


cdef void _heapsort(uint64_t* a, intp_t n) noexcept nogil:
    cdef intp_t start, end
    cdef uint64_t t
    start = (n - 2) // 2
    while start >= 0:
        _sift_down(a, start, n)
        start -= 1
    end = n - 1
    while end > 0:
        t = a[0]
        a[0] = a[end]
        a[end] = t
        _sift_down(a, 0, end)
        end -= 1


cdef void _introsort(uint64_t* a, intp_t n, int max_depth) noexcept nogil:
    """Quicksort (median of three, Hoare partition) falling back to heapsort when the
    recursion gets too deep, and to insertion sort on short runs. Keys are distinct."""
    cdef intp_t i, j, mid
    cdef uint64_t pivot, t
    while n > 16:
        if max_depth <= 0:
            _heapsort(a, n)
            return
        max_depth -= 1
        mid = n // 2
        # order a[0] <= a[mid] <= a[n-1]: sentinels for the scans below
        if a[mid] < a[0]:
            t = a[mid]; a[mid] = a[0]; a[0] = t
        if a[n - 1] < a[mid]:
            t = a[n - 1]; a[n - 1] = a[mid]; a[mid] = t
            if a[mid] < a[0]:
                t = a[mid]; a[mid] = a[0]; a[0] = t
        pivot = a[mid]
        i = -1
        j = n
        while True:
            i += 1
            while a[i] < pivot:
                i += 1
            j -= 1
            while a[j] > pivot:
                j -= 1
            if i >= j:
                break
            t = a[i]; a[i] = a[j]; a[j] = t
        # a[0..j] <= pivot <= a[j+1..n-1], both parts non-empty
        if j + 1 < n - j - 1:
            _introsort(a, j + 1, max_depth)
            a = a + j + 1
            n = n - j - 1
        else:
            _introsort(a + j + 1, n - j - 1, max_depth)
            n = j + 1
    _insertion_sort(a, n)


cdef inline void _sort_keys(uint64_t* a, intp_t n) noexcept nogil:
    cdef int depth = 0
    cdef intp_t m = n
    if n <= 1:
        return
    while m > 1:
        depth += 2
        m >>= 1
    _introsort(a, n, depth)


def sort_keys(cnp.uint64_t[::1] keys):
    """Sort ``keys`` in place (exposed for the tests of the sort)."""
    with nogil:
        _sort_keys(&keys[0], keys.shape[0])


# ----------------------------------------------------------------------------------------
# Random numbers (splitmix64): one stream per tree, seeded from random_state by Python
# ----------------------------------------------------------------------------------------

cdef inline uint64_t _next_rand(uint64_t* state) noexcept nogil:
    cdef uint64_t z
    state[0] += 0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline intp_t _rand_int(intp_t low, intp_t high, uint64_t* state) noexcept nogil:
    """Uniform integer in [low, high)."""
    return low + <intp_t>(_next_rand(state) % <uint64_t>(high - low))


# ----------------------------------------------------------------------------------------
# The builder
# ----------------------------------------------------------------------------------------

cdef struct StackRecord:
    intp_t start
    intp_t end
    intp_t depth
    intp_t parent
    int is_left
    float64_t impurity


cdef struct FeatureSplit:
    intp_t feature
    float64_t threshold
    float64_t gain          # C4.5 gain: known fraction x gain on the known samples
    float64_t split_info    # over left / right / missing weights
    float64_t ratio
    int valid


cdef struct Builder:
    # data (read only)
    const float32_t* X          # Fortran order: X[i + f * n_rows]
    intp_t n_rows
    intp_t n_features
    const intp_t* ycls
    const float64_t* yreg
    const float64_t* sw
    const intp_t* yrank
    # parameters
    int criterion
    intp_t n_classes            # 1 for regression
    intp_t max_depth
    intp_t min_samples_split
    intp_t min_samples_leaf
    intp_t max_features
    float64_t min_weight_leaf
    float64_t min_impurity_decrease
    float64_t w_total
    uint64_t rng
    # work buffers (sizes: n = number of active samples, K = n_classes, p = n_features)
    intp_t* samples             # n, node ranges
    intp_t n_active
    uint64_t* keys              # n
    intp_t* miss                # n
    intp_t* buf_l               # n
    intp_t* buf_r               # n
    intp_t* yl                  # n, node-local class codes
    float64_t* wl               # n, node-local weights
    float64_t* yv               # n, node-local targets
    intp_t* lrank               # n, node-local rank of the target (absolute error)
    float64_t* sorted_y         # n
    float64_t* fw               # n + 1, Fenwick tree of weights
    float64_t* fwy              # n + 1, Fenwick tree of weight * target
    float64_t* left_ae          # n
    float64_t* right_ae         # n
    float64_t* cnode            # K
    float64_t* cmiss            # K
    float64_t* cK               # K
    float64_t* cL               # K
    float64_t* ctmp             # K
    intp_t* features            # p
    FeatureSplit* fsplits       # p
    # node statistics (set by _node_reset)
    float64_t w_node
    float64_t s_node            # regression: sum w*y
    float64_t median_node       # absolute error: weighted median
    # output tree (grown by _add_node)
    intp_t node_count
    intp_t capacity
    intp_t value_stride
    intp_t* left
    intp_t* right
    intp_t* feature
    float64_t* threshold
    float64_t* impurity
    intp_t* n_node_samples
    float64_t* weighted_n_node_samples
    uint8_t* missing_left
    float64_t* value


cdef int _grow(Builder* b) noexcept nogil:
    cdef intp_t cap = 2 * b.capacity if b.capacity > 0 else 64
    cdef void* p
    p = realloc(b.left, cap * sizeof(intp_t))
    if p == NULL: return -1
    b.left = <intp_t*>p
    p = realloc(b.right, cap * sizeof(intp_t))
    if p == NULL: return -1
    b.right = <intp_t*>p
    p = realloc(b.feature, cap * sizeof(intp_t))
    if p == NULL: return -1
    b.feature = <intp_t*>p
    p = realloc(b.threshold, cap * sizeof(float64_t))
    if p == NULL: return -1
    b.threshold = <float64_t*>p
    p = realloc(b.impurity, cap * sizeof(float64_t))
    if p == NULL: return -1
    b.impurity = <float64_t*>p
    p = realloc(b.n_node_samples, cap * sizeof(intp_t))
    if p == NULL: return -1
    b.n_node_samples = <intp_t*>p
    p = realloc(b.weighted_n_node_samples, cap * sizeof(float64_t))
    if p == NULL: return -1
    b.weighted_n_node_samples = <float64_t*>p
    p = realloc(b.missing_left, cap * sizeof(uint8_t))
    if p == NULL: return -1
    b.missing_left = <uint8_t*>p
    p = realloc(b.value, cap * b.value_stride * sizeof(float64_t))
    if p == NULL: return -1
    b.value = <float64_t*>p
    b.capacity = cap
    return 0


cdef intp_t _add_node(Builder* b, intp_t parent, int is_left, int is_leaf, intp_t feature,
                      float64_t threshold, float64_t impurity, intp_t n_samples,
                      float64_t w, int missing_left) noexcept nogil:
    cdef intp_t node = b.node_count
    if node >= b.capacity:
        if _grow(b) != 0:
            return -1
    if parent != TREE_UNDEFINED:
        if is_left:
            b.left[parent] = node
        else:
            b.right[parent] = node
    b.left[node] = TREE_LEAF
    b.right[node] = TREE_LEAF
    if is_leaf:
        b.feature[node] = TREE_UNDEFINED
        b.threshold[node] = TREE_UNDEFINED
        b.missing_left[node] = 0
    else:
        b.feature[node] = feature
        b.threshold[node] = threshold
        b.missing_left[node] = missing_left
    b.impurity[node] = impurity
    b.n_node_samples[node] = n_samples
    b.weighted_n_node_samples[node] = w
    b.node_count += 1
    return node


# --- impurity helpers --------------------------------------------------------------------

cdef inline float64_t _class_impurity(int criterion, const float64_t* c, intp_t K,
                                      float64_t w) noexcept nogil:
    """Gini or entropy (bits) of weighted class counts ``c`` with total ``w``."""
    cdef intp_t k
    cdef float64_t s = 0.0, p
    if criterion == GINI:
        for k in range(K):
            s += c[k] * c[k]
        return 1.0 - s / (w * w)
    for k in range(K):
        if c[k] > 0.0:
            p = c[k] / w
            s -= p * log2(p)
    return s


cdef inline float64_t _class_wimp(int criterion, const float64_t* c, intp_t K,
                                  float64_t w) noexcept nogil:
    """Weight times impurity, in the form the scans use (no division by w inside)."""
    cdef intp_t k
    cdef float64_t s = 0.0
    if criterion == GINI:
        for k in range(K):
            s += c[k] * c[k]
        return w - s / w
    for k in range(K):
        if c[k] > 0.0:
            s += c[k] * log2(c[k])
    return w * log2(w) - s


cdef float64_t _set_abs_error(Builder* b, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                              intp_t n2, float64_t* w_out, float64_t* median_out) noexcept nogil:
    """Sum of w * |y - median| over the union of two lists of sample ids (global ids).
    Uses ``b.keys``. Also returns the total weight and the weighted median (midpoint of
    the two middle values when the cumulative weight hits exactly half)."""
    cdef intp_t i, q, n = n1 + n2, s, s2
    cdef float64_t w = 0.0, half, cum = 0.0, med, ae = 0.0
    for i in range(n1):
        b.keys[i] = (<uint64_t>b.yrank[ids1[i]] << 32) | <uint64_t>i
        w += b.sw[ids1[i]]
    for i in range(n2):
        b.keys[n1 + i] = (<uint64_t>b.yrank[ids2[i]] << 32) | <uint64_t>(n1 + i)
        w += b.sw[ids2[i]]
    _sort_keys(b.keys, n)
    half = 0.5 * w
    med = 0.0
    for q in range(n):
        i = <intp_t>(b.keys[q] & LOW_MASK)
        s = ids1[i] if i < n1 else ids2[i - n1]
        cum += b.sw[s]
        if cum >= half:
            med = b.yreg[s]
            if cum == half and q + 1 < n:
                i = <intp_t>(b.keys[q + 1] & LOW_MASK)
                s2 = ids1[i] if i < n1 else ids2[i - n1]
                med = 0.5 * (med + b.yreg[s2])
            break
    for i in range(n1):
        ae += b.sw[ids1[i]] * fabs(b.yreg[ids1[i]] - med)
    for i in range(n2):
        ae += b.sw[ids2[i]] * fabs(b.yreg[ids2[i]] - med)
    w_out[0] = w
    median_out[0] = med
    return ae


cdef float64_t _set_impurity(Builder* b, const intp_t* ids1, intp_t n1, const intp_t* ids2,
                             intp_t n2, float64_t* w_out) noexcept nogil:
    """Impurity of the union of two lists of global sample ids; total weight in w_out."""
    cdef intp_t i, k, K = b.n_classes
    cdef float64_t w = 0.0, s = 0.0, sq = 0.0, y, wi, med, ae
    if b.criterion == ABSOLUTE_ERROR:
        ae = _set_abs_error(b, ids1, n1, ids2, n2, w_out, &med)
        return ae / w_out[0]
    if b.criterion == SQUARED_ERROR:
        for i in range(n1):
            wi = b.sw[ids1[i]]
            y = b.yreg[ids1[i]]
            w += wi
            s += wi * y
            sq += wi * y * y
        for i in range(n2):
            wi = b.sw[ids2[i]]
            y = b.yreg[ids2[i]]
            w += wi
            s += wi * y
            sq += wi * y * y
        w_out[0] = w
        return sq / w - (s / w) * (s / w)
    memset(b.ctmp, 0, K * sizeof(float64_t))
    for i in range(n1):
        wi = b.sw[ids1[i]]
        b.ctmp[b.ycls[ids1[i]]] += wi
        w += wi
    for i in range(n2):
        wi = b.sw[ids2[i]]
        b.ctmp[b.ycls[ids2[i]]] += wi
        w += wi
    w_out[0] = w
    return _class_impurity(GINI if b.criterion == GINI else ENTROPY, b.ctmp, K, w)


# --- node set-up ---------------------------------------------------------------------------

cdef void _node_reset(Builder* b, intp_t start, intp_t end) noexcept nogil:
    """Gather the node's targets and weights into node-local arrays and compute the node
    statistics (weight, class counts or sums, the median for absolute error)."""
    cdef intp_t j, s, q, n = end - start, K = b.n_classes
    cdef float64_t w, tot = 0.0, ssum = 0.0, cum, half
    cdef const intp_t* samples = b.samples + start
    if b.criterion <= GAIN_RATIO:
        memset(b.cnode, 0, K * sizeof(float64_t))
        for j in range(n):
            s = samples[j]
            w = b.sw[s]
            b.yl[j] = b.ycls[s]
            b.wl[j] = w
            b.cnode[b.yl[j]] += w
            tot += w
    else:
        for j in range(n):
            s = samples[j]
            w = b.sw[s]
            b.yv[j] = b.yreg[s]
            b.wl[j] = w
            ssum += w * b.yv[j]
            tot += w
    b.w_node = tot
    b.s_node = ssum
    if b.criterion == ABSOLUTE_ERROR:
        # node-local ranks of the targets (ties in y broken by the global rank)
        for j in range(n):
            b.keys[j] = (<uint64_t>b.yrank[samples[j]] << 32) | <uint64_t>j
        _sort_keys(b.keys, n)
        half = 0.5 * tot
        cum = 0.0
        b.median_node = INFINITY
        for q in range(n):
            j = <intp_t>(b.keys[q] & LOW_MASK)
            b.lrank[j] = q
            b.sorted_y[q] = b.yv[j]
            if b.median_node == INFINITY:
                cum += b.wl[j]
                if cum >= half:
                    b.median_node = b.yv[j]
                    if cum == half and q + 1 < n:
                        b.median_node = 0.5 * (
                            b.yv[j] + b.yv[<intp_t>(b.keys[q + 1] & LOW_MASK)])


cdef void _node_value(Builder* b, float64_t* dest) noexcept nogil:
    cdef intp_t k
    if b.criterion <= GAIN_RATIO:
        for k in range(b.n_classes):
            dest[k] = b.cnode[k] / b.w_node
    elif b.criterion == SQUARED_ERROR:
        dest[0] = b.s_node / b.w_node
    else:
        dest[0] = b.median_node


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


cdef inline float64_t _plogp(float64_t p) noexcept nogil:
    """-p log2 p, 0 at p = 0."""
    return -p * log2(p) if p > 0.0 else 0.0


# --- evaluating one feature ------------------------------------------------------------------

cdef int _eval_feature(Builder* b, intp_t start, intp_t end, intp_t f,
                       FeatureSplit* out) noexcept nogil:
    """Best threshold of feature ``f`` at the node. Returns 0 when the feature is constant
    (or all missing) there, 1 otherwise; ``out.valid`` tells whether a split satisfying
    the leaf constraints exists."""
    cdef intp_t n = end - start, nk = 0, nm = 0, j, q, k, K = b.n_classes, nL, top_bit
    cdef const float32_t* col = b.X + f * b.n_rows
    cdef const intp_t* samples = b.samples + start
    cdef float32_t v, vmin = INFINITY, vmax = -INFINITY, vq, vn
    cdef uint64_t ku, kn
    cdef float64_t wK, wm = 0.0, wL, wR, best = -INFINITY, gain, sL, sR, a, r
    cdef float64_t wimpK = 0.0, sK = 0.0, base = 0.0, best_wL = 0.0, best_wR = 0.0
    cdef float64_t tw, twy, aeK = 0.0
    cdef intp_t msl = b.min_samples_leaf
    cdef float64_t mwl = b.min_weight_leaf
    cdef int criterion = b.criterion

    out.valid = 0
    for j in range(n):
        v = col[samples[j]]
        if isnan(v):
            b.miss[nm] = j
            nm += 1
        else:
            b.keys[nk] = (<uint64_t>_f2key(v) << 32) | <uint64_t>j
            nk += 1
            if v < vmin:
                vmin = v
            if v > vmax:
                vmax = v
    if nk == 0 or vmax <= vmin + FEATURE_THRESHOLD:
        return 0
    if nk < 2 * msl:
        return 1
    _sort_keys(b.keys, nk)

    # statistics of the known (non-missing) samples
    if criterion <= GAIN_RATIO:
        memcpy(b.cK, b.cnode, K * sizeof(float64_t))
        if nm > 0:
            memset(b.cmiss, 0, K * sizeof(float64_t))
            for q in range(nm):
                j = b.miss[q]
                b.cmiss[b.yl[j]] += b.wl[j]
                wm += b.wl[j]
            for k in range(K):
                b.cK[k] -= b.cmiss[k]
        wK = b.w_node - wm
        memset(b.cL, 0, K * sizeof(float64_t))
        if criterion == GINI:
            base = 0.0
            for k in range(K):
                base += b.cK[k] * b.cK[k]
            base /= wK          # gain * w = sum cL^2/wL + sum cR^2/wR - sum cK^2/wK
        else:
            wimpK = _class_wimp(ENTROPY, b.cK, K, wK)
    else:
        sK = b.s_node
        if nm > 0:
            for q in range(nm):
                j = b.miss[q]
                wm += b.wl[j]
                sK -= b.wl[j] * b.yv[j]
        wK = b.w_node - wm
        base = sK * sK / wK
    if criterion == ABSOLUTE_ERROR:
        top_bit = 1
        while top_bit * 2 <= n:
            top_bit *= 2
        memset(b.fw, 0, (n + 1) * sizeof(float64_t))
        memset(b.fwy, 0, (n + 1) * sizeof(float64_t))
        tw = 0.0
        twy = 0.0
        for q in range(nk):
            j = <intp_t>(b.keys[q] & LOW_MASK)
            _fen_add(b.fw, b.fwy, n, b.lrank[j], b.wl[j], b.wl[j] * b.yv[j])
            tw += b.wl[j]
            twy += b.wl[j] * b.yv[j]
            b.left_ae[q] = _fen_abs_error(b.fw, b.fwy, b.sorted_y, n, top_bit, tw, twy)
        aeK = b.left_ae[nk - 1]
        memset(b.fw, 0, (n + 1) * sizeof(float64_t))
        memset(b.fwy, 0, (n + 1) * sizeof(float64_t))
        tw = 0.0
        twy = 0.0
        q = nk - 1
        while q >= 0:
            j = <intp_t>(b.keys[q] & LOW_MASK)
            _fen_add(b.fw, b.fwy, n, b.lrank[j], b.wl[j], b.wl[j] * b.yv[j])
            tw += b.wl[j]
            twy += b.wl[j] * b.yv[j]
            b.right_ae[q] = _fen_abs_error(b.fw, b.fwy, b.sorted_y, n, top_bit, tw, twy)
            q -= 1

    wL = 0.0
    sL = 0.0
    for q in range(nk - 1):
        j = <intp_t>(b.keys[q] & LOW_MASK)
        wL += b.wl[j]
        if criterion <= GAIN_RATIO:
            b.cL[b.yl[j]] += b.wl[j]
        else:
            sL += b.wl[j] * b.yv[j]
        ku = b.keys[q] >> 32
        kn = b.keys[q + 1] >> 32
        if ku == kn:
            continue
        vq = _key2f(<uint32_t>ku)
        vn = _key2f(<uint32_t>kn)
        if vn <= vq + FEATURE_THRESHOLD:
            continue
        nL = q + 1
        if nL < msl:
            continue
        if nk - nL < msl:
            break
        wR = wK - wL
        if wL < mwl or wR < mwl:
            continue
        if criterion == GINI:
            sL = 0.0
            sR = 0.0
            for k in range(K):
                a = b.cL[k]
                r = b.cK[k] - a
                sL += a * a
                sR += r * r
            gain = sL / wL + sR / wR - base
        elif criterion <= GAIN_RATIO:
            sL = 0.0
            sR = 0.0
            for k in range(K):
                a = b.cL[k]
                r = b.cK[k] - a
                if a > 0.0:
                    sL += a * log2(a)
                if r > 0.0:
                    sR += r * log2(r)
            gain = wimpK - (wL * log2(wL) - sL) - (wR * log2(wR) - sR)
        elif criterion == SQUARED_ERROR:
            sR = sK - sL
            gain = sL * sL / wL + sR * sR / wR - base
        else:
            gain = aeK - b.left_ae[q] - b.right_ae[q + 1]
        if gain > best:
            best = gain
            best_wL = wL
            best_wR = wR
            out.threshold = vq / 2.0 + vn / 2.0
    if best == -INFINITY:
        return 1
    out.valid = 1
    out.feature = f
    out.gain = best / b.w_node
    out.split_info = _plogp(best_wL / b.w_node) + _plogp(best_wR / b.w_node) + _plogp(wm / b.w_node)
    out.ratio = out.gain / out.split_info if out.split_info > 1e-12 else 0.0
    return 1


# --- the node split ----------------------------------------------------------------------------

cdef struct SplitResult:
    int found
    intp_t feature
    float64_t threshold
    int missing_left
    intp_t pos
    float64_t improvement
    float64_t impurity_left
    float64_t impurity_right


cdef void _node_split(Builder* b, intp_t start, intp_t end, float64_t impurity,
                      SplitResult* res) noexcept nogil:
    cdef intp_t p = b.n_features, f_i, f_j, f, visited = 0, n_const = 0, i, j, tmp
    cdef intp_t n_valid = 0, n = end - start, nl = 0, nr = 0, nm = 0, best_i = -1
    cdef int deterministic = b.max_features >= p, status
    cdef FeatureSplit fs
    cdef FeatureSplit* best = NULL
    cdef float64_t avg = 0.0, tol, best_ratio = -INFINITY, best_gain = -INFINITY
    cdef float64_t w_a1, w_a2, w_b1, w_b2, imp_a1, imp_a2, imp_b1, imp_b2, wl, wr
    cdef float32_t v
    cdef const float32_t* col
    cdef intp_t* samples = b.samples + start

    res.found = 0
    for i in range(p):
        b.features[i] = i
    f_i = p
    while f_i > 0 and (visited < b.max_features or visited <= n_const):
        if deterministic:
            f_j = p - f_i           # index order
            f = f_j
        else:
            f_j = _rand_int(0, f_i, &b.rng)
            f = b.features[f_j]
            b.features[f_j] = b.features[f_i - 1]
            b.features[f_i - 1] = f
        f_i -= 1
        visited += 1
        status = _eval_feature(b, start, end, f, &fs)
        if status == 0:
            n_const += 1
            continue
        if not fs.valid:
            continue
        b.fsplits[n_valid] = fs
        n_valid += 1
    if n_valid == 0:
        return

    if b.criterion == GAIN_RATIO:
        # C4.5: the best gain ratio among the features whose gain is at least average
        for i in range(n_valid):
            avg += b.fsplits[i].gain
        avg /= n_valid
        tol = avg - 1e-10 * fabs(avg)
        for i in range(n_valid):
            if b.fsplits[i].gain >= tol and b.fsplits[i].ratio > best_ratio:
                best_ratio = b.fsplits[i].ratio
                best_i = i
        if best_i < 0:
            best_i = 0
    else:
        for i in range(n_valid):
            if b.fsplits[i].gain > best_gain:
                best_gain = b.fsplits[i].gain
                best_i = i
    best = &b.fsplits[best_i]

    # partition the node's samples on the chosen feature; decide where missing ones go
    col = b.X + best.feature * b.n_rows
    for i in range(n):
        j = samples[i]
        v = col[j]
        if isnan(v):
            b.miss[nm] = j
            nm += 1
        elif v <= best.threshold:
            b.buf_l[nl] = j
            nl += 1
        else:
            b.buf_r[nr] = j
            nr += 1
    if nm == 0:
        res.missing_left = nl > nr
        res.impurity_left = _set_impurity(b, b.buf_l, nl, NULL, 0, &wl)
        res.impurity_right = _set_impurity(b, b.buf_r, nr, NULL, 0, &wr)
    else:
        imp_a1 = _set_impurity(b, b.buf_l, nl, b.miss, nm, &w_a1)
        imp_a2 = _set_impurity(b, b.buf_r, nr, NULL, 0, &w_a2)
        imp_b1 = _set_impurity(b, b.buf_l, nl, NULL, 0, &w_b1)
        imp_b2 = _set_impurity(b, b.buf_r, nr, b.miss, nm, &w_b2)
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
    tmp = 0
    memcpy(samples, b.buf_l, nl * sizeof(intp_t))
    tmp = nl
    if nm > 0 and res.missing_left:
        memcpy(samples + tmp, b.miss, nm * sizeof(intp_t))
        tmp += nm
    res.pos = start + tmp
    memcpy(samples + tmp, b.buf_r, nr * sizeof(intp_t))
    tmp += nr
    if nm > 0 and not res.missing_left:
        memcpy(samples + tmp, b.miss, nm * sizeof(intp_t))
    res.found = 1
    res.feature = best.feature
    res.threshold = best.threshold
    res.improvement = (b.w_node / b.w_total) * (
        impurity - wr / b.w_node * res.impurity_right - wl / b.w_node * res.impurity_left)


cdef int _build(Builder* b) noexcept nogil:
    """Depth-first growth with an explicit stack; nodes are numbered in pre-order, left
    child first. Returns the maximal depth, or -1 when memory ran out."""
    cdef StackRecord* stack = NULL
    cdef intp_t stack_cap = 64, top = 0, node, n, max_depth_seen = 0
    cdef StackRecord rec
    cdef SplitResult split
    cdef int is_leaf, first = 1
    cdef float64_t impurity
    cdef void* p
    stack = <StackRecord*>malloc(stack_cap * sizeof(StackRecord))
    if stack == NULL:
        return -1
    stack[0].start = 0
    stack[0].end = b.n_active
    stack[0].depth = 0
    stack[0].parent = TREE_UNDEFINED
    stack[0].is_left = 0
    stack[0].impurity = INFINITY
    top = 1
    while top > 0:
        top -= 1
        rec = stack[top]
        n = rec.end - rec.start
        _node_reset(b, rec.start, rec.end)
        if first:
            rec.impurity = _set_impurity(b, b.samples, n, NULL, 0, &impurity)
            first = 0
        impurity = rec.impurity
        is_leaf = (rec.depth >= b.max_depth or n < b.min_samples_split
                   or n < 2 * b.min_samples_leaf or b.w_node < 2 * b.min_weight_leaf
                   or impurity <= EPSILON)
        split.found = 0
        if not is_leaf:
            _node_split(b, rec.start, rec.end, impurity, &split)
            is_leaf = (not split.found
                       or split.improvement + EPSILON < b.min_impurity_decrease)
        node = _add_node(b, rec.parent, rec.is_left, is_leaf, split.feature, split.threshold,
                         impurity, n, b.w_node, split.missing_left)
        if node < 0:
            free(stack)
            return -1
        _node_value(b, b.value + node * b.value_stride)
        if rec.depth > max_depth_seen:
            max_depth_seen = rec.depth
        if not is_leaf:
            if top + 2 > stack_cap:
                stack_cap *= 2
                p = realloc(stack, stack_cap * sizeof(StackRecord))
                if p == NULL:
                    free(stack)
                    return -1
                stack = <StackRecord*>p
            # right first, so that the left child is popped (and numbered) next
            stack[top].start = split.pos
            stack[top].end = rec.end
            stack[top].depth = rec.depth + 1
            stack[top].parent = node
            stack[top].is_left = 0
            stack[top].impurity = split.impurity_right
            top += 1
            stack[top].start = rec.start
            stack[top].end = split.pos
            stack[top].depth = rec.depth + 1
            stack[top].parent = node
            stack[top].is_left = 1
            stack[top].impurity = split.impurity_left
            top += 1
    free(stack)
    return <int>max_depth_seen


cdef void _free_builder(Builder* b) noexcept nogil:
    free(b.keys); free(b.miss); free(b.buf_l); free(b.buf_r); free(b.yl); free(b.wl)
    free(b.yv); free(b.lrank); free(b.sorted_y); free(b.fw); free(b.fwy); free(b.left_ae)
    free(b.right_ae); free(b.cnode); free(b.cmiss); free(b.cK); free(b.cL); free(b.ctmp)
    free(b.features); free(b.fsplits)
    free(b.left); free(b.right); free(b.feature); free(b.threshold); free(b.impurity)
    free(b.n_node_samples); free(b.weighted_n_node_samples); free(b.missing_left)
    free(b.value)


def build_tree(const float32_t[::1, :] X, const intp_t[::1] y_codes,
               const float64_t[::1] y_values, const float64_t[::1] sample_weight,
               const intp_t[::1] y_rank, intp_t[::1] samples, int criterion,
               intp_t n_classes, intp_t max_depth, intp_t min_samples_split,
               intp_t min_samples_leaf, float64_t min_weight_leaf,
               float64_t min_impurity_decrease, intp_t max_features, uint64_t seed):
    """Grow a tree; returns a dict of the flat node arrays and ``max_depth``.

    ``samples`` (modified) lists the samples with a positive weight; ``y_codes`` /
    ``y_values`` / ``y_rank`` have one entry per row of ``X`` (unused ones may hold
    anything). The GIL is released for the whole growth."""
    cdef Builder b
    cdef intp_t n = samples.shape[0], p = X.shape[1], K = n_classes, nc, i
    cdef int depth
    memset(&b, 0, sizeof(Builder))
    if n == 0 or p == 0:
        raise ValueError("build_tree needs at least one sample and one feature")
    if n >= 0xFFFFFFFF:
        raise ValueError("build_tree supports fewer than 2**32 samples")
    b.X = &X[0, 0]
    b.n_rows = X.shape[0]
    b.n_features = p
    b.ycls = &y_codes[0]
    b.yreg = &y_values[0]
    b.sw = &sample_weight[0]
    b.yrank = &y_rank[0]
    b.criterion = criterion
    b.n_classes = K
    b.max_depth = max_depth
    b.min_samples_split = min_samples_split
    b.min_samples_leaf = min_samples_leaf
    b.max_features = max_features
    b.min_weight_leaf = min_weight_leaf
    b.min_impurity_decrease = min_impurity_decrease
    b.rng = seed
    b.samples = &samples[0]
    b.n_active = n
    b.value_stride = K
    with nogil:
        b.w_total = 0.0
        for i in range(n):
            b.w_total += b.sw[b.samples[i]]
        b.keys = <uint64_t*>malloc(n * sizeof(uint64_t))
        b.miss = <intp_t*>malloc(n * sizeof(intp_t))
        b.buf_l = <intp_t*>malloc(n * sizeof(intp_t))
        b.buf_r = <intp_t*>malloc(n * sizeof(intp_t))
        b.yl = <intp_t*>malloc(n * sizeof(intp_t))
        b.wl = <float64_t*>malloc(n * sizeof(float64_t))
        b.yv = <float64_t*>malloc(n * sizeof(float64_t))
        b.lrank = <intp_t*>malloc(n * sizeof(intp_t))
        b.sorted_y = <float64_t*>malloc(n * sizeof(float64_t))
        b.fw = <float64_t*>malloc((n + 1) * sizeof(float64_t))
        b.fwy = <float64_t*>malloc((n + 1) * sizeof(float64_t))
        b.left_ae = <float64_t*>malloc(n * sizeof(float64_t))
        b.right_ae = <float64_t*>malloc(n * sizeof(float64_t))
        b.cnode = <float64_t*>malloc(K * sizeof(float64_t))
        b.cmiss = <float64_t*>malloc(K * sizeof(float64_t))
        b.cK = <float64_t*>malloc(K * sizeof(float64_t))
        b.cL = <float64_t*>malloc(K * sizeof(float64_t))
        b.ctmp = <float64_t*>malloc(K * sizeof(float64_t))
        b.features = <intp_t*>malloc(p * sizeof(intp_t))
        b.fsplits = <FeatureSplit*>malloc(p * sizeof(FeatureSplit))
        if (b.keys == NULL or b.miss == NULL or b.buf_l == NULL or b.buf_r == NULL
                or b.yl == NULL or b.wl == NULL or b.yv == NULL or b.lrank == NULL
                or b.sorted_y == NULL or b.fw == NULL or b.fwy == NULL
                or b.left_ae == NULL or b.right_ae == NULL or b.cnode == NULL
                or b.cmiss == NULL or b.cK == NULL or b.cL == NULL or b.ctmp == NULL
                or b.features == NULL or b.fsplits == NULL):
            depth = -1
        else:
            depth = _build(&b)
    if depth < 0:
        _free_builder(&b)
        raise MemoryError("could not allocate the tree")
    nc = b.node_count
    try:
        out = {
            "children_left": np.empty(nc, dtype=np.intp),
            "children_right": np.empty(nc, dtype=np.intp),
            "feature": np.empty(nc, dtype=np.intp),
            "threshold": np.empty(nc, dtype=np.float64),
            "impurity": np.empty(nc, dtype=np.float64),
            "n_node_samples": np.empty(nc, dtype=np.intp),
            "weighted_n_node_samples": np.empty(nc, dtype=np.float64),
            "missing_go_to_left": np.empty(nc, dtype=np.uint8),
            "value": np.empty((nc, 1, K), dtype=np.float64),
            "max_depth": depth,
        }
        _copy_out(out, &b, nc)
    finally:
        _free_builder(&b)
    return out


cdef void _copy_out(dict out, Builder* b, intp_t nc):
    cdef intp_t[::1] left = out["children_left"]
    cdef intp_t[::1] right = out["children_right"]
    cdef intp_t[::1] feature = out["feature"]
    cdef float64_t[::1] threshold = out["threshold"]
    cdef float64_t[::1] impurity = out["impurity"]
    cdef intp_t[::1] nns = out["n_node_samples"]
    cdef float64_t[::1] wns = out["weighted_n_node_samples"]
    cdef uint8_t[::1] ml = out["missing_go_to_left"]
    cdef float64_t[:, :, ::1] value = out["value"]
    if nc == 0:
        return
    memcpy(&left[0], b.left, nc * sizeof(intp_t))
    memcpy(&right[0], b.right, nc * sizeof(intp_t))
    memcpy(&feature[0], b.feature, nc * sizeof(intp_t))
    memcpy(&threshold[0], b.threshold, nc * sizeof(float64_t))
    memcpy(&impurity[0], b.impurity, nc * sizeof(float64_t))
    memcpy(&nns[0], b.n_node_samples, nc * sizeof(intp_t))
    memcpy(&wns[0], b.weighted_n_node_samples, nc * sizeof(float64_t))
    memcpy(&ml[0], b.missing_left, nc * sizeof(uint8_t))
    memcpy(&value[0, 0, 0], b.value, nc * b.value_stride * sizeof(float64_t))


# ----------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------

cdef inline intp_t _leaf_of(const float32_t* x, intp_t node, const intp_t* left,
                            const intp_t* right, const intp_t* feature,
                            const float64_t* threshold, const uint8_t* missing_left) noexcept nogil:
    cdef float32_t v
    while left[node] != TREE_LEAF:
        v = x[feature[node]]
        if isnan(v):
            node = left[node] if missing_left[node] else right[node]
        elif v <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return node


def apply_tree(const float32_t[:, ::1] X, const intp_t[::1] left, const intp_t[::1] right,
               const intp_t[::1] feature, const float64_t[::1] threshold,
               const uint8_t[::1] missing_left, intp_t[::1] out):
    """``out[i]`` = the leaf that row ``i`` of ``X`` falls into."""
    cdef intp_t i, n = X.shape[0], p = X.shape[1]
    if n == 0:
        return
    with nogil:
        for i in range(n):
            out[i] = _leaf_of(&X[i, 0] if p > 0 else NULL, 0, &left[0], &right[0],
                              &feature[0], &threshold[0], &missing_left[0])


cdef struct PackedNode:
    # One node of a packed forest, 16 bytes. The left child is always the next node
    # (pre-order numbering); ``threshold`` is the largest float32 <= the float64
    # threshold, so ``x <= threshold`` is the same test for a float32 x. A leaf is a
    # fixed point of the step below: threshold -inf, missing_left 0 and right = itself.
    float32_t threshold
    int32_t feature
    int32_t right
    int32_t missing_left


PACKED_NODE_DTYPE = np.dtype([("threshold", np.float32), ("feature", np.int32),
                              ("right", np.int32), ("missing_left", np.int32)])

cdef enum:
    GROUP = 8           # rows advanced together through a tree


def forest_accumulate(const float32_t[:, ::1] X, const intp_t[::1] roots,
                      const PackedNode[::1] nodes, const float64_t[:, ::1] values,
                      float64_t[:, ::1] out, intp_t row_start, intp_t row_end):
    """``out[i] += values[leaf_t(i)]`` summed over the trees (in order), rows
    ``row_start:row_end``.

    The trees are packed one after another in ``nodes`` (``right`` is an absolute index);
    ``roots[t]`` is the root of tree ``t``. Rows go through a tree in groups of 16 that
    advance one level at a time with a branch-free step (independent traversals overlap
    their memory latencies), and in blocks of rows so that one tree's nodes stay in cache.
    Each row's sum runs over the trees in the same order whatever the blocks, so results
    do not depend on how the rows were split among threads."""
    cdef intp_t i, g, t, k, blk, blk_end, n_trees = roots.shape[0], n_out = values.shape[1]
    cdef intp_t n_features = X.shape[1], gsize, changed
    cdef intp_t BLOCK = 32768
    cdef intp_t cur[GROUP]
    cdef intp_t nxt
    cdef float32_t v
    cdef int go_left
    cdef const PackedNode* nd
    cdef const PackedNode* base = &nodes[0]
    cdef const float32_t* xbase
    if row_end <= row_start or n_trees == 0:
        return
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
                            v = xbase[g * n_features + nd.feature]
                            go_left = (v <= nd.threshold) | ((v != v) & nd.missing_left)
                            nxt = nd.right + go_left * (cur[g] + 1 - nd.right)
                            changed |= nxt != cur[g]
                            cur[g] = nxt
                    for g in range(gsize):
                        for k in range(n_out):
                            out[i + g, k] += values[cur[g], k]
                    i += gsize
            blk = blk_end


def decision_path_csr(const float32_t[:, ::1] X, const intp_t[::1] left,
                      const intp_t[::1] right, const intp_t[::1] feature,
                      const float64_t[::1] threshold, const uint8_t[::1] missing_left):
    """(indptr, indices) of the CSR node-indicator matrix: the nodes each row visits."""
    cdef intp_t i, node, n = X.shape[0], total = 0, pos
    cdef float32_t v
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
