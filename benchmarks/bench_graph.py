"""skml.neural.graph: message passing on edge lists against a dense-adjacency baseline,
PyTorch Geometric's layers, and a plain torch loop.

All on a 10,000-node stochastic block model (5 communities, ~10 neighbours per node,
32 weakly informative features, 10% of the nodes labelled), a two-layer GCN of 64
units, full-batch Adam, one thread:

* ``epoch: sparse vs dense adjacency``: training epochs (forward, backward, step) of
  skml's ``GNN`` module (messages gathered per edge, reduced by ``index_add_``) against
  the same network computing ``A_hat @ (X W)`` with the normalised adjacency as a dense
  ``10,000 x 10,000`` float32 matrix (built outside the timing). Sparse must win.
* ``epoch: skml vs torch_geometric``: the same epochs against a stack of
  ``torch_geometric.nn.GCNConv(cached=True)`` of the same sizes and weights (where
  torch_geometric imports). skml's GCN layers take the fused path (one sparse product
  with the normalised adjacency, built once per graph); PyG's propagate gathers and
  scatters ``(E, F)`` messages on an edge list.
* ``GIN: skml vs torch_geometric``: a two-layer GIN (the edge-list path: messages
  gathered per edge and summed by ``index_add_``) against ``torch_geometric.nn.GINConv``
  over the same MLPs.
* ``fit vs torch loop``: ``GNNNodeClassifier.fit`` against a hand-written loop over the
  very same module; the ratio is the wrapper's overhead (target <= 1.1).

Quality: accuracy on the unlabelled nodes after training (the dense and PyG sides
compute the same function, so their accuracies match skml's up to rounding).
"""
import warnings

import numpy as np
from scipy import sparse

from benchmarks._harness import Case, one_torch_thread

NAME = "graph"
PEER = "baseline"

N_NODES, N_BLOCKS, DEGREE_IN, DEGREE_OUT, N_FEATURES, HIDDEN = 10000, 5, 8, 2, 32, 64
LR = 0.01


def block_model(n, n_blocks, degree_in, degree_out, n_features, seed=0):
    """A sparse stochastic block model drawn edge by edge (no dense n x n draw)."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(n_blocks, size=n)
    members = [np.flatnonzero(labels == b) for b in range(n_blocks)]
    m_in, m_out = n * degree_in // 2, n * degree_out // 2
    src = rng.randint(n, size=m_in)
    dst = np.array([rng.choice(members[labels[s]]) for s in src])
    src = np.r_[src, rng.randint(n, size=m_out)]
    dst = np.r_[dst, rng.randint(n, size=m_out)]
    keep = src != dst
    A = sparse.coo_array((np.ones(keep.sum()), (src[keep], dst[keep])), shape=(n, n))
    A = (A + A.T).tocsr()
    A.data[:] = 1.0
    means = rng.randn(n_blocks, n_features)
    means *= 0.8 / np.linalg.norm(means, axis=1, keepdims=True)
    X = (means[labels] + rng.randn(n, n_features)).astype(np.float32)
    labelled = rng.rand(n) < 0.1
    return A, X, labels, labelled


def _data(quick):
    n = 2000 if quick else N_NODES

    def make():
        return block_model(n, N_BLOCKS, DEGREE_IN, DEGREE_OUT, N_FEATURES)
    return make


def _tensors(data, device="cpu"):
    import torch

    from skml.neural._modules.graph import GraphBatch

    A, X, y, labelled = data
    coo = A.tocoo()
    g = GraphBatch(torch.from_numpy(X).to(device),
                   torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64)).to(device),
                   torch.from_numpy(coo.data.astype(np.float32)).to(device))
    return (g, torch.from_numpy(y).to(device),
            torch.from_numpy(np.flatnonzero(labelled)).to(device))


def _train(model, forward, y, idx, epochs):
    """Full-batch Adam epochs on the labelled nodes; returns the model in eval mode."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _ in range(epochs):
        loss = torch.nn.functional.cross_entropy(forward(model)[idx], y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def _skml_module():
    import torch

    from skml.neural._modules.graph import GNN

    torch.manual_seed(0)
    return GNN(N_FEATURES, (HIDDEN, HIDDEN), N_BLOCKS, conv="gcn")


def _sparse_epochs(epochs):
    @one_torch_thread
    def run(data):
        g, y, idx = _tensors(data)
        model = _train(_skml_module(), lambda m: m(g), y, idx, epochs)
        return lambda: model(g)
    return run


class _DenseGCN:
    """The same two-layer GCN with ``A_hat @ (X W)`` on a dense normalised adjacency."""

    @staticmethod
    def make(A_hat):
        import torch
        from torch import nn

        class Dense(nn.Module):
            def __init__(self):
                super().__init__()
                ref = _skml_module()  # the same initial weights
                self.lins = nn.ModuleList(layer.lin for layer in ref.layers)
                self.biases = nn.ParameterList(layer.bias for layer in ref.layers)
                self.head = ref.head

            def forward(self, x):
                for lin, b in zip(self.lins, self.biases):
                    x = torch.relu(A_hat @ lin(x) + b)
                return self.head(x)
        return Dense()


def _dense_adjacency(g):
    import torch

    from skml.neural._modules.graph import gcn_norm

    edge_index, norm = gcn_norm(g.edge_index, g.edge_weight, g.n_nodes)
    dense = torch.zeros(g.n_nodes, g.n_nodes)
    dense[edge_index[1], edge_index[0]] = norm  # row i gathers from column j
    return dense


def _dense_epochs(epochs):
    state = {}

    @one_torch_thread
    def run(data):
        g, y, idx = _tensors(data)
        key = id(data)
        if state.get("key") != key:  # built once per data set, outside the timed work
            state.update(key=key, dense=_dense_adjacency(g))
        model = _train(_DenseGCN.make(state["dense"]), lambda m: m(g.x), y, idx, epochs)
        return lambda: model(g.x)
    return run


def _pyg_epochs(epochs):
    @one_torch_thread
    def run(data):
        import torch
        from torch import nn
        from torch_geometric.nn import GCNConv

        g, y, idx = _tensors(data)
        ref = _skml_module()

        class PyG(nn.Module):
            def __init__(self):
                super().__init__()
                # cached=True: PyG's fastest setting for one fixed graph (the
                # normalisation computed once, as skml's network does)
                self.convs = nn.ModuleList([GCNConv(N_FEATURES, HIDDEN, cached=True),
                                            GCNConv(HIDDEN, HIDDEN, cached=True)])
                with torch.no_grad():
                    for conv, mine in zip(self.convs, ref.layers):
                        conv.lin.weight.copy_(mine.lin.weight)
                        conv.bias.copy_(mine.bias)
                self.head = ref.head

            def forward(self, x):
                for conv in self.convs:
                    x = torch.relu(conv(x, g.edge_index, g.edge_weight))
                return self.head(x)

        model = _train(PyG(), lambda m: m(g.x), y, idx, epochs)
        return lambda: model(g.x)
    return run


def _skml_gin():
    import torch

    from skml.neural._modules.graph import GNN

    torch.manual_seed(0)
    return GNN(N_FEATURES, (HIDDEN, HIDDEN), N_BLOCKS, conv="gin")


def _gin_epochs(epochs):
    @one_torch_thread
    def run(data):
        g, y, idx = _tensors(data)
        g.edge_weight = None  # unweighted, as PyG's GINConv
        model = _train(_skml_gin(), lambda m: m(g), y, idx, epochs)
        return lambda: model(g)
    return run


def _pyg_gin_epochs(epochs):
    @one_torch_thread
    def run(data):
        import torch
        from torch import nn
        from torch_geometric.nn import GINConv

        g, y, idx = _tensors(data)
        ref = _skml_gin()

        class PyG(nn.Module):
            def __init__(self):
                super().__init__()
                # the same MLPs and weights (GINConv re-initialises the MLP it is
                # given: the weights are copied back), eps = 0 fixed as skml's default
                self.convs = nn.ModuleList([GINConv(layer.mlp) for layer in ref.layers])
                self.head = ref.head
                fresh = _skml_gin()
                for conv, layer in zip(self.convs, fresh.layers):
                    conv.nn.load_state_dict(layer.mlp.state_dict())

            def forward(self, x):
                for conv in self.convs:
                    x = torch.relu(conv(x, g.edge_index))
                return self.head(x)

        model = _train(PyG(), lambda m: m(g.x), y, idx, epochs)
        return lambda: model(g.x)
    return run


def _accuracy(result, data):
    import torch

    _, _, y, labelled = data
    with torch.no_grad():
        pred = result().argmax(1).numpy()
    return float(np.mean(pred[~labelled] == y[~labelled]))


def _skml_fit(epochs):
    def run(data):
        from sklearn.exceptions import ConvergenceWarning

        from skml.neural import GNNNodeClassifier

        A, X, y, labelled = data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return GNNNodeClassifier(
                (HIDDEN, HIDDEN), batch_size=int(labelled.sum()), max_iter=epochs,
                learning_rate_init=LR, alpha=0.0, tol=0.0, n_iter_no_change=np.inf,
                shuffle=False, n_jobs=1, device="cpu", random_state=0,
            ).fit((A, X), np.where(labelled, y, -1))
    return run


def _loop_fit(epochs):
    @one_torch_thread
    def run(data):
        import torch

        from skml.neural._base import _seeded

        g, y, idx = _tensors(data)
        # the weights skml draws for random_state=0 (its seed, then torch's RNG)
        seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
        with _seeded(torch, torch.device("cpu"), seed):
            from skml.neural._modules.graph import GNN

            model = GNN(N_FEATURES, (HIDDEN, HIDDEN), N_BLOCKS, conv="gcn")
        model = _train(model, lambda m: m(g), y, idx, epochs)
        return lambda: model(g)
    return run


def _fit_accuracy(result, data):
    A, X, y, labelled = data
    if hasattr(result, "predict"):
        pred = result.predict((A, X))
        return float(np.mean(pred[~labelled] == y[~labelled]))
    return _accuracy(result, data)


def cases(quick):
    epochs = 1 if quick else 3
    tag = f"{2000 if quick else N_NODES}-node SBM GCN({HIDDEN},{HIDDEN})"
    yield Case(f"{tag}: {epochs} epochs, sparse vs dense adjacency", _data(quick),
               _sparse_epochs(epochs), _dense_epochs(epochs), _accuracy,
               "unlabelled accuracy", repeats=3)
    try:
        import torch_geometric  # noqa: F401
    except ImportError:
        pass
    else:
        pyg_epochs = 5 if quick else 30
        yield Case(f"{tag}: {pyg_epochs} epochs, skml vs torch_geometric GCNConv",
                   _data(quick), _sparse_epochs(pyg_epochs), _pyg_epochs(pyg_epochs),
                   _accuracy, "unlabelled accuracy")
        yield Case(f"{2000 if quick else N_NODES}-node SBM GIN({HIDDEN},{HIDDEN}): "
                   f"{pyg_epochs} epochs, skml (edge list, index_add_) vs torch_geometric "
                   "GINConv", _data(quick), _gin_epochs(pyg_epochs),
                   _pyg_gin_epochs(pyg_epochs), _accuracy, "unlabelled accuracy")
    fit_epochs = 5 if quick else 30
    yield Case(f"{tag}: GNNNodeClassifier.fit {fit_epochs} epochs vs torch loop",
               _data(quick), _skml_fit(fit_epochs), _loop_fit(fit_epochs), _fit_accuracy,
               "unlabelled accuracy")
