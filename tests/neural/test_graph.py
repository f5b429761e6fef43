"""Graph neural networks (issue 20, skml.neural.graph): the message-passing base and its
layers against NumPy and PyTorch Geometric, pooling, block-diagonal batching, the
input contract and its errors, and learning with margins (stochastic block model
nodes, cycles vs trees, held-out links)."""
import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.utils import get_tags

torch = pytest.importorskip("torch")

from skml.neural import (  # noqa: E402
    GNNEdgePredictor,
    GNNGraphClassifier,
    GNNGraphRegressor,
    GNNNodeClassifier,
    MLPClassifier,
)
from skml.neural._modules.graph import (  # noqa: E402
    GCNConv,
    GINConv,
    GraphBatch,
    gcn_adjacency,
    global_pool,
    pool_edges_to_global,
    pool_edges_to_nodes,
    pool_nodes_to_edges,
    scatter,
)
from skml.neural.graph import GraphInputTags, check_graph  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ------------------------------------------------------------------ data


def sbm(sizes, p_in, p_out, n_features, signal, seed):
    """A stochastic block model (symmetric, no self-loops) with Gaussian node features
    whose class means are ``signal`` apart: weakly informative on their own."""
    rng = np.random.RandomState(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    n = len(labels)
    prob = np.where(labels[:, None] == labels[None, :], p_in, p_out)
    upper = np.triu(rng.rand(n, n) < prob, 1)
    A = sparse.csr_array((upper | upper.T).astype(np.float64))
    means = rng.randn(len(sizes), n_features)
    means *= signal / np.linalg.norm(means, axis=1, keepdims=True)
    X = means[labels] + rng.randn(n, n_features)
    return A, X, labels


def cycle(n):
    i = np.arange(n)
    A = sparse.coo_array((np.ones(n), (i, (i + 1) % n)), shape=(n, n))
    return (A + A.T).tocsr()


def random_tree(n, rng):
    parent = np.array([rng.randint(k) for k in range(1, n)])
    child = np.arange(1, n)
    A = sparse.coo_array((np.ones(n - 1), (parent, child)), shape=(n, n))
    return (A + A.T).tocsr()


def cycles_and_trees(n_pairs, seed):
    """For each size, a cycle and a tree of the same number of nodes, with constant
    node features: only the structure tells them apart."""
    rng = np.random.RandomState(seed)
    graphs, y = [], []
    for k in range(n_pairs):
        n = 5 + k % 8
        graphs += [(cycle(n), np.ones((n, 1))), (random_tree(n, rng), np.ones((n, 1)))]
        y += [1, 0]
    return graphs, np.array(y)


def _edge_list(A):
    coo = sparse.coo_array(A)
    return np.vstack([coo.row, coo.col]), coo.data


def _batch(A, X, E=None):
    (src, dst), w = _edge_list(A)
    return GraphBatch(torch.tensor(X, dtype=torch.float32),
                      torch.tensor(np.vstack([src, dst]), dtype=torch.long),
                      torch.tensor(w, dtype=torch.float32),
                      None if E is None else torch.tensor(E, dtype=torch.float32))


# ------------------------------------------------------------------ the modules


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_scatter_reduces_rows_by_index_as_a_numpy_loop(reduce):
    rng = np.random.RandomState(0)
    src = rng.randn(40, 3)
    index = rng.randint(0, 7, 40)
    index[index == 5] = 6  # node 5 receives nothing: 0
    got = scatter(torch.tensor(src), torch.tensor(index), 8, reduce).numpy()
    ref = np.zeros((8, 3))
    for k in range(8):
        rows = src[index == k]
        if len(rows):
            ref[k] = {"sum": rows.sum(0), "mean": rows.mean(0), "max": rows.max(0)}[reduce]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def _random_graph(n, density, seed, self_loops=False):
    A = sparse.random(n, n, density=density, random_state=seed, format="csr")
    A = (A + A.T).tocsr()
    if not self_loops:
        A.setdiag(0)
    A.eliminate_zeros()
    return A


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("self_loops", [False, True])
def test_gcn_layer_matches_torch_geometric_gcnconv(weighted, self_loops):
    pyg = pytest.importorskip("torch_geometric.nn")
    A = _random_graph(30, 0.1, 1, self_loops=self_loops).tocoo()
    ei = torch.tensor(np.vstack([A.row, A.col]), dtype=torch.long)
    w = torch.tensor(A.data, dtype=torch.float32) if weighted else None
    x = torch.randn(30, 5, generator=torch.Generator().manual_seed(0))
    ref, mine = pyg.GCNConv(5, 7), GCNConv(5, 7)
    with torch.no_grad():
        ref.bias.normal_()
        mine.lin.weight.copy_(ref.lin.weight)
        mine.bias.copy_(ref.bias)
        expected = ref(x, ei, w).numpy()
        np.testing.assert_allclose(mine(x, ei, w).numpy(), expected, rtol=1e-5, atol=1e-6)
        # the fused path: one sparse product with the normalised adjacency
        adj = gcn_adjacency(ei, w, 30)
        np.testing.assert_allclose(mine(x, adj).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("edge_dim", [None, 3])
def test_gin_layer_matches_torch_geometric_ginconv_and_gineconv(edge_dim):
    pyg = pytest.importorskip("torch_geometric.nn")
    A = _random_graph(20, 0.2, 6).tocoo()
    ei = torch.tensor(np.vstack([A.row, A.col]), dtype=torch.long)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(20, 4, generator=gen)
    e = None if edge_dim is None else torch.randn(A.nnz, edge_dim, generator=gen)
    mine = GINConv(4, 6, eps=0.5, edge_dim=edge_dim)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 6))
    ref = (pyg.GINConv(mlp, eps=0.5) if edge_dim is None
           else pyg.GINEConv(mlp, eps=0.5, edge_dim=edge_dim))
    ref.nn.load_state_dict(mine.mlp.state_dict())  # (PyG re-initialises the MLP)
    if edge_dim is not None:
        ref.lin.load_state_dict(mine.edge_lin.state_dict())
    with torch.no_grad():
        expected = ref(x, ei) if edge_dim is None else ref(x, ei, e)
        np.testing.assert_allclose(mine(x, ei, None, e).numpy(), expected.numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_gcn_layer_matches_the_dense_normalised_adjacency():
    A = _random_graph(25, 0.15, 2)
    x = np.random.RandomState(0).randn(25, 4)
    layer = GCNConv(4, 3)
    W = layer.lin.weight.detach().numpy().astype(np.float64)
    At = A.toarray() + np.eye(25)
    dinv = 1 / np.sqrt(At.sum(0))
    # messages flow j -> i along A[j, i]: node i sums column i
    ref = (dinv[:, None] * At.T * dinv[None, :]) @ x @ W.T
    (src, dst), w = _edge_list(A)
    ei, w = torch.tensor(np.vstack([src, dst])), torch.tensor(w, dtype=torch.float32)
    x = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    got = layer(x, ei, w)
    np.testing.assert_allclose(got.detach().numpy(), ref, rtol=1e-4, atol=1e-5)
    # the fused sparse product and the edge list agree, gradients included
    fused = layer(x, gcn_adjacency(ei, w, 25))
    np.testing.assert_allclose(fused.detach().numpy(), ref, rtol=1e-4, atol=1e-5)
    g_list = torch.autograd.grad(got.square().sum(), x)[0]
    g_fused = torch.autograd.grad(fused.square().sum(), x)[0]
    np.testing.assert_allclose(g_fused.numpy(), g_list.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_gin_layer_matches_a_numpy_reference(aggr):
    A = sparse.csr_array(np.triu(np.random.RandomState(3).rand(12, 12) < 0.3, 1) * 1.0)
    A = (A + A.T).tocsr()  # node 11 may be isolated: its pooled message is 0
    x = np.random.RandomState(4).randn(12, 3)
    layer = GINConv(3, 5, aggr=aggr, eps=0.25)
    (src, dst), w = _edge_list(A)
    got = layer(torch.tensor(x, dtype=torch.float32), torch.tensor(np.vstack([src, dst])),
                torch.tensor(w, dtype=torch.float32)).detach().numpy()
    pooled = np.zeros_like(x)
    for i in range(12):
        msgs = x[src[dst == i]]
        if len(msgs):
            pooled[i] = {"sum": msgs.sum(0), "mean": msgs.mean(0), "max": msgs.max(0)}[aggr]
    h = 1.25 * x + pooled
    lin1, lin2 = layer.mlp[0], layer.mlp[2]
    h = np.maximum(h @ lin1.weight.detach().numpy().T + lin1.bias.detach().numpy(), 0)
    ref = h @ lin2.weight.detach().numpy().T + lin2.bias.detach().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_pooling_between_nodes_edges_and_the_global_context():
    rng = np.random.RandomState(0)
    A = _random_graph(10, 0.3, 5)
    (src, dst), _ = _edge_list(A)
    x, e = rng.randn(10, 2), rng.randn(len(src), 3)
    ei = torch.tensor(np.vstack([src, dst]))
    to_nodes = pool_edges_to_nodes(torch.tensor(e), ei, 10).numpy()
    np.testing.assert_allclose(to_nodes, [e[dst == i].sum(0) for i in range(10)])
    to_edges = pool_nodes_to_edges(torch.tensor(x), ei).numpy()
    np.testing.assert_allclose(to_edges, x[src] + x[dst])
    batch = torch.tensor([0] * 4 + [1] * 6)
    np.testing.assert_allclose(global_pool(torch.tensor(x), batch, 2, "max").numpy(),
                               [x[:4].max(0), x[4:].max(0)])
    g_of_e = np.where(src < 4, 0, 1)
    np.testing.assert_allclose(
        pool_edges_to_global(torch.tensor(e), ei, batch, 2, "sum").numpy(),
        [e[g_of_e == 0].sum(0), e[g_of_e == 1].sum(0)])


# ------------------------------------------------------------------ input contract


def test_check_graph_reads_edges_in_coo_order_with_their_features():
    A = sparse.coo_array((np.array([2.0, 1.0, 3.0]), (np.array([2, 0, 1]),
                                                       np.array([0, 1, 2]))), shape=(3, 3))
    E = np.array([[20.0], [1.0], [12.0]])
    g = check_graph((A, np.ones((3, 2)), E))
    np.testing.assert_array_equal(g.edge_index, [[2, 0, 1], [0, 1, 2]])
    np.testing.assert_array_equal(g.edge_weight, [2, 1, 3])
    np.testing.assert_array_equal(g.edge_attr[:, 0], [20, 1, 12])
    # CSR: row by row
    g = check_graph((A.tocsr(), np.ones((3, 2))))
    np.testing.assert_array_equal(g.edge_index, [[0, 1, 2], [1, 2, 0]])


@pytest.mark.parametrize("graph, error, match", [
    ((sparse.csr_array((3, 4)), np.ones((3, 2))), ValueError, "must be square"),
    ((sparse.eye(4, format="csr"), np.ones((3, 2))), ValueError,
     "3 rows but the adjacency has 4 nodes"),
    ((sparse.eye(3, format="csr"), np.array([[1.0, np.nan]] * 3)), ValueError, "NaN"),
    ((sparse.eye(3, format="csr"), np.array([[1.0, np.inf]] * 3)), ValueError, "infinity"),
    ((-sparse.eye(3, format="csr"), np.ones((3, 2))), ValueError, "negative edge weights"),
    ((sparse.csr_array(np.array([[0, np.nan], [1, 0]])), np.ones((2, 1))), ValueError,
     "NaN or infinite edge weights"),
    ((sparse.eye(3, format="csr"), np.ones((3, 2)), np.ones((2, 1))), ValueError,
     "edge features have 2 rows but the adjacency stores 3 edges"),
    ((sparse.eye(3, format="csr"), np.ones((3, 2)), np.full((3, 1), np.nan)), ValueError,
     "NaN"),
    ((np.ones(3), np.ones((3, 2))), ValueError, "2-D"),
    (np.ones((3, 2)), TypeError, "must be a graph"),
])
def test_malformed_graphs_get_clear_errors(graph, error, match):
    with pytest.raises(error, match=match):
        check_graph(graph)
    if isinstance(graph, tuple):
        with pytest.raises(error, match=match):
            GNNNodeClassifier(max_iter=1).fit(graph, np.zeros(graph[1].shape[0]))
        with pytest.raises(error, match=match):
            GNNGraphClassifier(max_iter=1).fit([graph, graph], [0, 1])


def test_fit_and_predict_errors_name_the_problem():
    A, X, y = sbm([10, 10], 0.5, 0.05, 3, 1.0, 0)
    clf = GNNNodeClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="y has 19 labels but the graph has 20 nodes"):
        clf.fit((A, X), y[:-1])
    with pytest.raises(ValueError, match="no labelled node"):
        clf.fit((A, X), np.full(20, -1))
    clf.fit((A, X), y)
    with pytest.raises(ValueError, match="has 2 node features, but .* expecting 3"):
        clf.predict((A, X[:, :2]))
    graphs, gy = cycles_and_trees(3, 0)
    with pytest.raises(ValueError, match="X has 6 graphs but y has 5"):
        GNNGraphClassifier(max_iter=1).fit(graphs, gy[:5])
    mixed = [graphs[0], (graphs[1][0], np.ones((graphs[1][1].shape[0], 2)))]
    with pytest.raises(ValueError, match="same numbers of node and edge features"):
        GNNGraphClassifier(max_iter=1).fit(mixed, [0, 1])
    link = GNNEdgePredictor(hidden_layer_sizes=(4,), n_components=2, max_iter=2,
                            random_state=0).fit((A, X))
    with pytest.raises(ValueError, match=r"index the 20 nodes .* \[0, 19\]"):
        link.predict_proba(np.array([[0, 20]]))
    with pytest.raises(ValueError, match=r"shape \(n_pairs, 2\)"):
        link.predict_proba(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="early_stopping"):
        GNNEdgePredictor(early_stopping=True).fit((A, X))


def test_graph_estimators_declare_their_input_in_the_tags():
    kinds = {GNNNodeClassifier: "node", GNNGraphClassifier: "graph",
             GNNGraphRegressor: "graph", GNNEdgePredictor: "edge"}
    for cls, kind in kinds.items():
        tags = get_tags(cls())
        assert isinstance(tags.input_tags, GraphInputTags)
        assert tags.input_tags.graph == kind
        assert tags.input_tags.two_d_array is (kind != "edge")


# ------------------------------------------------------------------ structure


def test_a_batch_of_graphs_gives_each_graph_its_own_output():
    graphs, y = cycles_and_trees(6, 1)
    clf = GNNGraphClassifier(hidden_layer_sizes=(8, 8), max_iter=3, batch_size=4,
                             random_state=0).fit(graphs, y)
    together = clf.decision_function(graphs)
    alone = np.array([clf.decision_function([g])[0] for g in graphs])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_outputs_follow_a_permutation_of_the_nodes_and_of_the_stored_edges():
    # Definition 3.101: node outputs are permutation-equivariant, graph outputs
    # invariant; edge features follow their edges whatever the storage order
    A, X, y = sbm([12, 12], 0.4, 0.05, 3, 1.0, 1)
    coo = A.tocoo()
    E = np.random.RandomState(0).rand(coo.nnz, 2)
    perm = np.random.RandomState(1).permutation(24)
    inv = np.argsort(perm)
    order = np.random.RandomState(2).permutation(coo.nnz)
    Ap = sparse.coo_array((coo.data[order], (inv[coo.row[order]], inv[coo.col[order]])),
                          shape=A.shape)
    Ep = E[order]
    for conv in ("gcn", "gin"):
        clf = GNNNodeClassifier(hidden_layer_sizes=(8,), conv=conv, max_iter=3,
                                random_state=0).fit((coo, X, E), y)
        np.testing.assert_allclose(clf.predict_proba((Ap, X[perm], Ep)),
                                   clf.predict_proba((coo, X, E))[perm], rtol=1e-5,
                                   atol=1e-6)
        reg = GNNGraphRegressor(hidden_layer_sizes=(8,), conv=conv, max_iter=3,
                                random_state=0).fit([(coo, X, E)] * 2, [0.0, 1.0])
        np.testing.assert_allclose(reg.predict([(Ap, X[perm], Ep)]),
                                   reg.predict([(coo, X, E)]), rtol=1e-5)


def test_unlabelled_nodes_count_as_nodes_but_not_in_the_loss():
    A, X, y = sbm([15, 15], 0.3, 0.05, 3, 1.0, 2)
    hidden = np.random.RandomState(0).rand(30) < 0.5
    hidden[[0, 29]] = False  # both classes stay labelled
    y_partial = np.where(hidden, -1, y)
    params = dict(hidden_layer_sizes=(6,), max_iter=4, random_state=0, shuffle=False)
    a = GNNNodeClassifier(**params).fit((A, X), y_partial)
    b = GNNNodeClassifier(**params).fit((A, X), y, sample_weight=(~hidden).astype(float))
    np.testing.assert_array_equal(a.decision_function((A, X)), b.decision_function((A, X)))
    np.testing.assert_array_equal(a.classes_, [0, 1])


# ------------------------------------------------------------------ learning


def test_node_classification_on_a_block_model_with_ten_percent_labels():
    A, X, y = sbm([100, 100, 100], 0.08, 0.004, 8, 1.0, 0)
    rng = np.random.RandomState(0)
    labelled = np.zeros(300, bool)
    for c in range(3):  # 10% of the nodes, 10 per class
        labelled[rng.choice(np.flatnonzero(y == c), 10, replace=False)] = True
    y_train = np.where(labelled, y, -1)
    gnn = GNNNodeClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                            max_iter=100, alpha=1e-2, random_state=0).fit((A, X), y_train)
    acc = np.mean(gnn.predict((A, X))[~labelled] == y[~labelled])
    mlp = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100,
                        random_state=0).fit(X[labelled], y[labelled])
    acc_mlp = np.mean(mlp.predict(X[~labelled]) == y[~labelled])
    assert acc >= 0.9, acc
    assert acc >= acc_mlp + 0.15, (acc, acc_mlp)  # the edges carry what features lack


def test_graph_classification_of_cycles_versus_trees():
    graphs, y = cycles_and_trees(60, 0)
    test, ty = cycles_and_trees(30, 1)
    clf = GNNGraphClassifier(hidden_layer_sizes=(16, 16), learning_rate_init=0.01,
                             max_iter=60, batch_size=32, random_state=0).fit(graphs, y)
    assert clf.score(test, ty) >= 0.95
    # the same node counts and features: without message passing, chance
    flat = GNNGraphClassifier(hidden_layer_sizes=(), max_iter=20,
                              random_state=0).fit(graphs, y)
    assert flat.score(test, ty) <= 0.6


def test_link_prediction_auc_on_held_out_edges():
    # eight tight communities: a pair inside one is likely an edge, so the task's best
    # AUC (knowing the communities) is ~0.95
    A, X, _ = sbm([20] * 8, 0.4, 0.002, 8, 1.0, 3)
    rng = np.random.RandomState(0)
    upper = sparse.triu(A, 1).tocoo()
    held = rng.rand(upper.nnz) < 0.15
    keep = sparse.coo_array((upper.data[~held], (upper.row[~held], upper.col[~held])),
                            shape=A.shape)
    A_train = (keep + keep.T).tocsr()
    pos = np.column_stack([upper.row[held], upper.col[held]])
    dense = A.toarray()
    neg = []
    while len(neg) < len(pos):
        i, j = rng.randint(160, size=2)
        if i != j and not dense[i, j]:
            neg.append((i, j))
    pairs = np.vstack([pos, np.array(neg)])
    truth = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    est = GNNEdgePredictor(hidden_layer_sizes=(32,), conv="gin", n_components=16,
                           learning_rate_init=0.01, max_iter=100,
                           random_state=0).fit((A_train, X))
    auc = roc_auc_score(truth, est.decision_function(pairs))
    assert auc >= 0.85, auc
    np.testing.assert_allclose(est.predict_proba(pairs)[:, 1],
                               1 / (1 + np.exp(-est.decision_function(pairs))))
    assert est.embedding_.shape == (160, 16)
    # a graph given instead of pairs: its stored edges, scored on its own embeddings
    coo = A_train.tocoo()
    Z = est.transform((A_train, X))
    np.testing.assert_allclose(est.decision_function((A_train, X)),
                               (Z[coo.row] * Z[coo.col]).sum(1), rtol=1e-10)


def test_graph_regression_learns_a_structural_target():
    rng = np.random.RandomState(0)
    graphs, y = [], []
    for _ in range(80):
        n = rng.randint(4, 12)
        A = _random_graph(n, 0.4, rng.randint(1 << 30))
        A.data[:] = 1.0
        graphs.append((A, np.ones((n, 1))))
        y.append(A.nnz / n)  # the mean degree
    reg = GNNGraphRegressor(hidden_layer_sizes=(16,), readout="mean", normalize_y=True,
                            learning_rate_init=0.01, max_iter=100,
                            random_state=0).fit(graphs[:60], y[:60])
    assert reg.score(graphs[60:], y[60:]) >= 0.9


# ------------------------------------------------------------------ estimator contract


def _small_fits():
    A, X, y = sbm([10, 10], 0.4, 0.05, 3, 1.0, 4)
    graphs, gy = cycles_and_trees(4, 2)
    return [
        (GNNNodeClassifier(hidden_layer_sizes=(4,), max_iter=3, dropout=0.2), ((A, X), y),
         (A, X)),
        (GNNGraphClassifier(hidden_layer_sizes=(4,), max_iter=3, dropout=0.2),
         (graphs, gy), graphs),
        (GNNGraphRegressor(hidden_layer_sizes=(4,), max_iter=3), (graphs, gy * 1.0),
         graphs),
        (GNNEdgePredictor(hidden_layer_sizes=(4,), n_components=3, max_iter=3,
                          dropout=0.2), ((A, X),), np.array([[0, 1], [2, 19]])),
    ]


def _outputs(est, X):
    out = [getattr(est, m)(X) for m in ("predict", "predict_proba", "decision_function")
           if hasattr(est, m)]
    if hasattr(est, "embedding_"):  # the edge predictor: X are pairs
        out.append(est.embedding_)
    return out


@pytest.mark.parametrize("i", range(4))
def test_same_seed_same_predictions_and_pickle_round_trip(i):
    est, fit_args, X = _small_fits()[i]
    a = clone(est).set_params(random_state=7).fit(*fit_args)
    b = clone(est).set_params(random_state=7).fit(*fit_args)
    for u, v in zip(_outputs(a, X), _outputs(b, X)):
        np.testing.assert_array_equal(u, v)
    loaded = pickle.loads(pickle.dumps(a))
    for u, v in zip(_outputs(a, X), _outputs(loaded, X)):
        np.testing.assert_array_equal(u, v)
    c = clone(est).set_params(random_state=8).fit(*fit_args)
    assert not all(np.array_equal(u, v) for u, v in zip(_outputs(a, X), _outputs(c, X)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("i", range(4))
def test_fits_and_predicts_on_cuda(i):
    est, fit_args, X = _small_fits()[i]
    gpu = est.set_params(device="cuda", random_state=0).fit(*fit_args)
    assert next(gpu.module_.parameters()).device.type == "cuda"
    loaded = pickle.loads(pickle.dumps(gpu))  # loads on the CPU
    for u, v in zip(_outputs(gpu, X), _outputs(loaded, X)):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)


def test_partial_fit_and_warm_start_continue_training():
    graphs, y = cycles_and_trees(6, 3)
    clf = GNNGraphClassifier(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(3):
        clf.partial_fit(graphs, y, classes=[0, 1])
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = GNNEdgePredictor(hidden_layer_sizes=(4,), n_components=2, max_iter=2,
                               warm_start=True, random_state=0)
        A, X, _ = sbm([8, 8], 0.5, 0.1, 2, 1.0, 5)
        est.fit((A, X)).fit((A, X))
    assert len(est.loss_curve_) == 4


def test_demo_section_reports_the_gnn_beating_the_mlp_and_an_embedding_plot(tmp_path):
    import matplotlib

    from skml._demo import graph as demo_graph
    from skml._demo._report import Report

    matplotlib.use("Agg")
    report = Report(tmp_path)
    out = demo_graph.section(report, quick=True)
    text = report.write("graph").read_text()
    assert out["node_accuracy"] >= out["mlp_accuracy"] + 0.2
    assert out["link_auc"] >= 0.75
    png = tmp_path / "graph_embedding.png"
    assert png.stat().st_size > 10_000 and "(graph_embedding.png)" in text


def test_feature_names_of_a_table_are_kept_and_a_graph_fit_drops_them():
    pd = pytest.importorskip("pandas")
    A, X, y = sbm([8, 8], 0.5, 0.05, 3, 1.0, 6)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = GNNNodeClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c"])
    clf.fit((A, X), y)
    assert not hasattr(clf, "feature_names_in_") and clf.n_features_in_ == 3


# ------------------------------------------------------------------ property-based

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 9), n_edges=st.integers(0, 30), seed=st.integers(0, 2**16),
       weighted=st.booleans(), int_adjacency=st.booleans(),
       fmt=st.sampled_from(["coo", "csr", "csc", "dense"]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_message_passing_equals_a_dense_numpy_reference(n, n_edges, seed, weighted,
                                                         int_adjacency, fmt, dtype):
    # any edge list: duplicates (parallel edges), self-loops, isolated nodes, one node
    rng = np.random.RandomState(seed)
    row, col = rng.randint(n, size=n_edges), rng.randint(n, size=n_edges)
    w = rng.randint(1, 4, n_edges) if int_adjacency else (
        rng.uniform(0.1, 3.0, n_edges) if weighted else np.ones(n_edges))
    A = sparse.coo_array((w, (row, col)), shape=(n, n))
    if fmt != "coo":
        A = A.toarray() if fmt == "dense" else A.asformat(fmt)
    X = rng.randn(n, 3).astype(dtype)
    g = check_graph((A, X))
    coo = sparse.coo_array(A)
    np.testing.assert_array_equal(g.edge_index, np.vstack([coo.row, coo.col]))
    dense = sparse.coo_array((g.edge_weight.astype(np.float64), tuple(g.edge_index)),
                             shape=(n, n)).toarray()  # duplicates summed
    ei, ew = torch.from_numpy(g.edge_index), torch.from_numpy(g.edge_weight)
    x = torch.from_numpy(g.x)
    # GCN: D^-1/2 (A + I) D^-1/2, stored self-loops kept, others of weight 1
    At = dense.copy()
    looped = np.zeros(n, bool)
    looped[g.edge_index[0][g.edge_index[0] == g.edge_index[1]]] = True
    At[~looped, ~looped] = 1.0
    deg = At.sum(0)
    dinv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0.0)
    layer = GCNConv(3, 2)
    W = layer.lin.weight.detach().numpy().astype(np.float64)
    ref = (dinv[:, None] * At.T * dinv[None, :]) @ (X.astype(np.float64) @ W.T)
    with torch.no_grad():
        np.testing.assert_allclose(layer(x, ei, ew).numpy(), ref, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer(x, gcn_adjacency(ei, ew, n)).numpy(), ref,
                                   rtol=1e-4, atol=1e-5)
        # sum / max aggregation of weighted messages x_j along j -> i
        msgs = g.edge_weight[:, None].astype(np.float64) * X[g.edge_index[0]]
        got_sum = scatter(torch.from_numpy(msgs), torch.from_numpy(g.edge_index[1]), n)
        np.testing.assert_allclose(got_sum.numpy(), dense.T @ X.astype(np.float64),
                                   rtol=1e-5, atol=1e-5)
        got_max = scatter(torch.from_numpy(msgs), torch.from_numpy(g.edge_index[1]), n,
                          "max").numpy()
        for i in range(n):
            into = msgs[g.edge_index[1] == i]
            np.testing.assert_allclose(got_max[i], into.max(0) if len(into) else 0.0)
