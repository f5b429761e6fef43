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

cimport numpy as cnp
from cython cimport floating
from libc.math cimport INFINITY, fabs, isnan, log2
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
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

# Criterion codes shared with skml/tree/_classes.py (keep in sync: CRITERIA there).
cdef enum:
    GINI = 0
    ENTROPY = 1
    GAIN_RATIO = 2
    SQUARED_ERROR = 3
    ABSOLUTE_ERROR = 4

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
    # data (read only): X32 in Fortran order, X32[i + f * n_rows], is what the splitter
    # gathers and sorts; for float64 data it is the float32 rounding of X64 (any strides:
    # X64[i * rs64 + f * cs64]), read only where two values share a float32 image and for
    # the thresholds, so that splits and thresholds are exact in float64.
    const float32_t* X32
    const float64_t* X64
    intp_t rs64
    intp_t cs64
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
    float64_t* tmpv             # n, scratch for sorting runs of float64 values
    uint64_t* tmpk              # n, their keys
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
    float64_t s_node            # squared error: sum w*(y - min y)
    float64_t mean_node         # squared error: weighted mean
    int constant_y              # regression: every target of the node is equal
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
        # fractions first: counts of tiny weights (~1e-320) square to 0
        for k in range(K):
            p = c[k] / w
            s += p * p
        return 1.0 - s
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
    sort_u64_high(b.keys, b.tmpk, n)
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
        # two passes (mean, then squared deviations): no cancellation for targets far
        # from zero, unlike sum(w y^2)/w - mean^2
        for i in range(n1):
            wi = b.sw[ids1[i]]
            w += wi
            s += wi * b.yreg[ids1[i]]
        for i in range(n2):
            wi = b.sw[ids2[i]]
            w += wi
            s += wi * b.yreg[ids2[i]]
        s /= w
        for i in range(n1):
            y = b.yreg[ids1[i]] - s
            sq += b.sw[ids1[i]] * y * y
        for i in range(n2):
            y = b.yreg[ids2[i]] - s
            sq += b.sw[ids2[i]] * y * y
        w_out[0] = w
        return sq / w
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
    cdef float64_t w, tot = 0.0, ssum = 0.0, cum, half, ymin, ymax
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
    b.constant_y = 0
    if b.criterion >= SQUARED_ERROR:
        ymin = INFINITY
        ymax = -INFINITY
        for j in range(n):
            if b.yv[j] < ymin:
                ymin = b.yv[j]
            if b.yv[j] > ymax:
                ymax = b.yv[j]
        b.constant_y = ymin == ymax
    if b.criterion == SQUARED_ERROR:
        # the scan's sums are of w (y - min_y): exact for integer targets (as the sums of
        # w y they replace), and of the order of the node's spread, so that targets far
        # from zero do not cancel in sL^2/wL + sR^2/wR - sK^2/wK (the gain is invariant to
        # the shift)
        b.mean_node = ssum / tot
        ssum = 0.0
        for j in range(n):
            b.yv[j] -= ymin
            ssum += b.wl[j] * b.yv[j]
        b.s_node = ssum
    if b.criterion == ABSOLUTE_ERROR:
        # node-local ranks of the targets (ties in y broken by the global rank)
        for j in range(n):
            b.keys[j] = (<uint64_t>b.yrank[samples[j]] << 32) | <uint64_t>j
        sort_u64_high(b.keys, b.tmpk, n)
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
        dest[0] = b.mean_node
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

cdef void _order_f64_runs(Builder* b, intp_t nk, const float64_t* col, intp_t rs,
                          const intp_t* samples) noexcept nogil:
    """After sorting float64 keys: put each run of keys that share a float32 image in
    the order of the float64 values (a run is almost always one repeated value, checked
    in one pass; distinct values within one float32 ulp are rare)."""
    cdef intp_t a = 0, e, q
    cdef uint64_t hi
    cdef float64_t v0
    cdef int same
    while a < nk:
        hi = b.keys[a] >> 32
        e = a + 1
        while e < nk and (b.keys[e] >> 32) == hi:
            e += 1
        if e - a > 1:
            v0 = col[samples[<intp_t>(b.keys[a] & LOW_MASK)] * rs]
            same = 1
            for q in range(a + 1, e):
                if col[samples[<intp_t>(b.keys[q] & LOW_MASK)] * rs] != v0:
                    same = 0
                    break
            if not same:
                for q in range(a, e):
                    b.tmpv[q - a] = col[samples[<intp_t>(b.keys[q] & LOW_MASK)] * rs]
                    b.tmpk[q - a] = b.keys[q]
                sort_f64_u64(b.tmpv, b.tmpk, e - a)
                memcpy(b.keys + a, b.tmpk, (e - a) * sizeof(uint64_t))
        a = e


cdef inline float64_t _midpoint(float64_t lo, float64_t hi) noexcept nogil:
    """A threshold t with lo <= t < hi (lo < hi): the midpoint, or lo where the midpoint
    rounds up to hi (adjacent doubles) or overflows."""
    cdef float64_t t = lo / 2.0 + hi / 2.0
    if t >= hi or t == INFINITY or t == -INFINITY:
        return lo
    return t


cdef int _eval_feature(Builder* b, intp_t start, intp_t end, intp_t f,
                       FeatureSplit* out) noexcept nogil:
    """Best threshold of feature ``f`` at the node. Returns 0 when the feature is constant
    (or all missing) there, 1 otherwise; ``out.valid`` tells whether a split satisfying
    the leaf constraints exists."""
    cdef intp_t n = end - start, nk = 0, nm = 0, j, q, k, K = b.n_classes, nL, top_bit
    cdef const intp_t* samples = b.samples + start
    cdef const float32_t* col32
    cdef const float64_t* col64
    cdef float32_t v, vmin = INFINITY, vmax = -INFINITY
    cdef float64_t d, vq, vn
    cdef uint64_t ku, kn
    cdef float64_t wK, wm = 0.0, wL, wR, best = -INFINITY, gain, sL, sR, a, r
    cdef float64_t wimpK = 0.0, sK = 0.0, base = 0.0, best_wL = 0.0, best_wR = 0.0
    cdef float64_t tw, twy, aeK = 0.0
    cdef intp_t msl = b.min_samples_leaf, best_q = -1
    cdef float64_t mwl = b.min_weight_leaf
    cdef int criterion = b.criterion
    cdef bint is64 = b.X64 != NULL
    cdef intp_t rs = b.rs64

    out.valid = 0
    col32 = b.X32 + f * b.n_rows
    if is64:
        col64 = b.X64 + f * b.cs64
    for j in range(n):
        v = col32[samples[j]]
        if isnan(v):
            b.miss[nm] = j
            nm += 1
        else:
            b.keys[nk] = (<uint64_t>f32_key(v) << 32) | <uint64_t>j
            nk += 1
            if v < vmin:
                vmin = v
            if v > vmax:
                vmax = v
    if nk == 0:
        return 0
    # any two distinct values can be split (scikit-learn treats values closer than 1e-7
    # as one, which cannot split [0, 1e-7] or timestamps in float32)
    if vmax <= vmin:
        if not is64:
            return 0
        # one float32 image: the float64 values may still differ
        d = col64[samples[<intp_t>(b.keys[0] & LOW_MASK)] * rs]
        for q in range(1, nk):
            if col64[samples[<intp_t>(b.keys[q] & LOW_MASK)] * rs] != d:
                break
        else:
            return 0
    if nk < 2 * msl:
        return 1
    sort_u64_high(b.keys, b.tmpk, nk)
    if is64:
        _order_f64_runs(b, nk, col64, rs, samples)

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
        if ku == kn and (not is64 or col64[samples[<intp_t>(b.keys[q] & LOW_MASK)] * rs]
                         == col64[samples[<intp_t>(b.keys[q + 1] & LOW_MASK)] * rs]):
            continue                # no threshold between equal values
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
            best_q = q
    if best == -INFINITY:
        return 1
    if is64:
        vq = col64[samples[<intp_t>(b.keys[best_q] & LOW_MASK)] * rs]
        vn = col64[samples[<intp_t>(b.keys[best_q + 1] & LOW_MASK)] * rs]
    else:
        vq = f32_from_key(<uint32_t>(b.keys[best_q] >> 32))
        vn = f32_from_key(<uint32_t>(b.keys[best_q + 1] >> 32))
    out.threshold = _midpoint(vq, vn)
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
    cdef float64_t v
    cdef const float32_t* col32
    cdef const float64_t* col64
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
            f_j = rand_int(&b.rng, f_i)
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
    col32 = b.X32 + best.feature * b.n_rows
    col64 = b.X64 + best.feature * b.cs64
    for i in range(n):
        j = samples[i]
        v = col64[j * b.rs64] if b.X64 != NULL else col32[j]
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
                   or (b.criterion <= GAIN_RATIO and impurity <= EPSILON)
                   or (b.criterion > GAIN_RATIO and b.constant_y != 0))
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
    free(b.keys); free(b.tmpv); free(b.tmpk); free(b.miss); free(b.buf_l); free(b.buf_r); free(b.yl); free(b.wl)
    free(b.yv); free(b.lrank); free(b.sorted_y); free(b.fw); free(b.fwy); free(b.left_ae)
    free(b.right_ae); free(b.cnode); free(b.cmiss); free(b.cK); free(b.cL); free(b.ctmp)
    free(b.features); free(b.fsplits)
    free(b.left); free(b.right); free(b.feature); free(b.threshold); free(b.impurity)
    free(b.n_node_samples); free(b.weighted_n_node_samples); free(b.missing_left)
    free(b.value)


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
    two consecutive values. The GIL is released for the whole growth."""
    cdef Builder b
    cdef const float64_t[:, :] X64
    cdef intp_t n = samples.shape[0], p = X32.shape[1], K = n_classes, nc, i
    cdef int depth
    memset(&b, 0, sizeof(Builder))
    if n == 0 or p == 0:
        raise ValueError("build_tree needs at least one sample and one feature")
    if n >= 0xFFFFFFFF:
        raise ValueError("build_tree supports fewer than 2**32 samples")
    b.X32 = &X32[0, 0]
    if X64_obj is not None:
        X64 = X64_obj
        if X64.shape[0] != X32.shape[0] or X64.shape[1] != X32.shape[1]:
            raise ValueError("X64 and X32 must have the same shape")
        b.X64 = &X64[0, 0]
        b.rs64 = X64.strides[0] // sizeof(float64_t)
        b.cs64 = X64.strides[1] // sizeof(float64_t)
    b.n_rows = X32.shape[0]
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
        b.tmpv = <float64_t*>malloc(n * sizeof(float64_t))
        b.tmpk = <uint64_t*>malloc(n * sizeof(uint64_t))
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
        if (b.keys == NULL or b.tmpv == NULL or b.tmpk == NULL
                or b.miss == NULL or b.buf_l == NULL or b.buf_r == NULL
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
