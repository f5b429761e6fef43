"""Node-by-node comparison of a skml tree with a scikit-learn tree, tolerant of ties."""
import numpy as np

LEAF = -1


def weighted_decrease(t, node):
    """w_t * impurity_t - w_L * impurity_L - w_R * impurity_R of an inner node."""
    left, right = t.children_left[node], t.children_right[node]
    w, imp = t.weighted_n_node_samples, t.impurity
    return w[node] * imp[node] - w[left] * imp[left] - w[right] * imp[right]


def compare_trees(ours, theirs, rtol=1e-9):
    """Walk both trees from the root. Where both split on the same feature and threshold,
    compare the children; where they split differently, the two splits must be a tie
    (equal impurity decrease) and the walk stops below that node. Every node compared must
    agree in samples, weight, value, impurity and leaf-ness.

    Returns (nodes compared, tie nodes)."""
    a, b = ours.tree_, theirs.tree_
    stack = [(0, 0)]
    compared = ties = 0
    while stack:
        i, j = stack.pop()
        assert a.n_node_samples[i] == b.n_node_samples[j], (i, j)
        np.testing.assert_allclose(a.weighted_n_node_samples[i], b.weighted_n_node_samples[j],
                                   rtol=1e-12)
        np.testing.assert_allclose(a.value[i], b.value[j], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.impurity[i], b.impurity[j], rtol=1e-9, atol=1e-12)
        leaf = a.children_left[i] == LEAF
        assert leaf == (b.children_left[j] == LEAF), f"node {i}: leaf in one tree only"
        compared += 1
        if leaf:
            continue
        if a.feature[i] == b.feature[j] and a.threshold[i] == b.threshold[j]:
            stack.append((a.children_right[i], b.children_right[j]))
            stack.append((a.children_left[i], b.children_left[j]))
        else:
            da, db = weighted_decrease(a, i), weighted_decrease(b, j)
            assert np.isclose(da, db, rtol=rtol, atol=1e-12), (
                f"node {i}: skml splits feature {a.feature[i]} at {a.threshold[i]} "
                f"(decrease {da}), sklearn feature {b.feature[j]} at {b.threshold[j]} "
                f"(decrease {db}): not a tie")
            ties += 1
    return compared, ties


def assert_same_tree(ours, theirs):
    """Identical structure (no ties anywhere)."""
    compared, ties = compare_trees(ours, theirs)
    assert ties == 0 and compared == ours.tree_.node_count == theirs.tree_.node_count
    a, b = ours.tree_, theirs.tree_
    np.testing.assert_array_equal(a.children_left, b.children_left)
    np.testing.assert_array_equal(a.children_right, b.children_right)
    np.testing.assert_array_equal(a.feature, b.feature)
    np.testing.assert_array_equal(a.threshold, b.threshold)
