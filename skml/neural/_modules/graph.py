"""Message passing on edge lists: the ``MessagePassing`` base module, GCN- and GIN-style
layers on it, pooling between nodes, edges and a global context, and the networks behind
the graph estimators.

A graph (or a block-diagonal batch of graphs) is held by :class:`GraphBatch`: node
features ``x`` ``(N, d)``, ``edge_index`` ``(2, E)`` (row 0 the source ``j``, row 1 the
target ``i``: a message flows from ``j`` to ``i``, as in PyTorch Geometric, so an
adjacency entry ``A[j, i]`` is an edge ``j -> i``), optional ``edge_weight`` ``(E,)`` and
``edge_attr`` ``(E, e)``, and ``batch`` ``(N,)``, the graph of each node. Nothing here
builds an ``N x N`` matrix: messages are gathered per edge and reduced per node with
``index_add_`` / ``scatter_reduce_``.

Reference: H. Dai, "Note on Machine Learning" (preprint), §3.5.8: Definition 3.101 (GNN),
Definition 3.102 (pooling), Definition 3.103 (message passing), Remarks 3.95-3.96.
"""
import warnings

import torch
from torch import nn

from skml.neural._modules.mlp import ACTIVATIONS

__all__ = ["AGGREGATIONS", "CONVS", "GCNConv", "GINConv", "GNN", "GraphBatch",
           "MessagePassing", "gcn_adjacency", "gcn_norm", "global_pool",
           "pool_edges_to_global", "pool_edges_to_nodes", "pool_nodes_to_edges", "scatter"]

#: Reductions of ``aggr=`` / ``readout=``: step 2 of Definition 3.103.
AGGREGATIONS = ("sum", "mean", "max")


def scatter(src, index, dim_size, reduce="sum"):
    """Reduce the rows of ``src`` ``(E, ...)`` into ``dim_size`` rows: row ``k`` of the
    result reduces the rows ``r`` of ``src`` with ``index[r] == k`` by ``reduce`` (a
    row that receives nothing is 0)."""
    shape = (dim_size,) + tuple(src.shape[1:])
    if reduce in ("sum", "mean"):
        out = src.new_zeros(shape).index_add_(0, index, src)
        if reduce == "mean":
            count = src.new_zeros(dim_size).index_add_(0, index, src.new_ones(len(index)))
            out = out / count.clamp(min=1).view(-1, *([1] * (src.dim() - 1)))
        return out
    if reduce == "max":
        expanded = index.view(-1, *([1] * (src.dim() - 1))).expand_as(src)
        return src.new_zeros(shape).scatter_reduce_(0, expanded, src, "amax",
                                                     include_self=False)
    raise ValueError(f"reduce must be one of {AGGREGATIONS}, got {reduce!r}.")


class GraphBatch:
    """One graph, or several as one block-diagonal graph (node indices offset per graph).

    ``len()`` is the number of graphs, so the training loop counts graphs as samples.
    """

    __slots__ = ("x", "edge_index", "edge_weight", "edge_attr", "batch", "n_graphs",
                 "_gcn_adjacency")

    def __init__(self, x, edge_index, edge_weight=None, edge_attr=None, batch=None,
                 n_graphs=1):
        self.x = x
        self.edge_index = edge_index
        self.edge_weight = edge_weight
        self.edge_attr = edge_attr
        self.batch = batch
        self.n_graphs = int(n_graphs)
        self._gcn_adjacency = None

    def gcn_adjacency(self):
        """:func:`gcn_adjacency` of this graph, computed once (it holds no gradient)."""
        if self._gcn_adjacency is None:
            self._gcn_adjacency = gcn_adjacency(self.edge_index, self.edge_weight,
                                                self.n_nodes)
        return self._gcn_adjacency

    def __len__(self):
        return self.n_graphs

    @property
    def n_nodes(self):
        return self.x.shape[0]

    def to(self, device):
        move = (lambda t: None if t is None else t.to(device))
        return GraphBatch(move(self.x), move(self.edge_index), move(self.edge_weight),
                          move(self.edge_attr), move(self.batch), self.n_graphs)


class MessagePassing(nn.Module):
    """Base of the graph layers (Definition 3.103), shaped as PyTorch Geometric's:
    :meth:`propagate` gathers per edge the target's and the source's embeddings
    ``x_i``, ``x_j`` and calls :meth:`message`; :meth:`aggregate` reduces the messages
    per target node (``aggr``: sum, mean or max, by ``index_add_`` / ``scatter_reduce_``
    over the edge list); :meth:`update` turns the pooled messages into the new
    embeddings.

    Subclasses override ``message(x_i, x_j, edge_attr)`` and ``update(aggr_out, x)``;
    ``x_i`` is gathered only when the class sets ``uses_x_i = True`` (one ``(E, F)``
    copy fewer otherwise). A layer whose messages are linear in ``x_j`` and summed may
    also implement ``message_and_aggregate(adj, x)``, used when ``propagate`` is given
    a sparse ``(n, n)`` tensor of coefficients instead of an edge list (PyTorch
    Geometric's fused path: one sparse product, no ``(E, F)`` messages).
    """

    uses_x_i = False

    def __init__(self, aggr="sum"):
        super().__init__()
        if aggr not in AGGREGATIONS:
            raise ValueError(f"aggr must be one of {AGGREGATIONS}, got {aggr!r}.")
        self.aggr = aggr

    def propagate(self, edge_index, x, edge_attr=None, size=None):
        """Gather, message, aggregate, update. ``size``: number of nodes (default:
        rows of ``x``)."""
        if edge_index.layout != torch.strided:  # a sparse matrix: the fused path
            return self.update(self.message_and_aggregate(edge_index, x), x)
        n = x.shape[0] if size is None else int(size)
        src, dst = edge_index[0], edge_index[1]
        x_i = x.index_select(0, dst) if self.uses_x_i else None
        messages = self.message(x_i, x.index_select(0, src), edge_attr)
        return self.update(self.aggregate(messages, dst, n), x)

    def message(self, x_i, x_j, edge_attr):
        """The message along each edge ``j -> i`` (default: ``x_j``)."""
        return x_j

    def message_and_aggregate(self, adj, x):
        """Messages and their aggregation in one step from a sparse ``adj`` whose entry
        ``(i, j)`` weighs the message ``j -> i``."""
        raise NotImplementedError(
            f"{type(self).__name__} has no fused message_and_aggregate; give an edge list."
        )

    def aggregate(self, messages, index, dim_size):
        """Reduce the messages per target node by ``self.aggr``."""
        return scatter(messages, index, dim_size, self.aggr)

    def update(self, aggr_out, x):
        """The node's new embedding from its pooled messages (default: them)."""
        return aggr_out


def gcn_norm(edge_index, edge_weight, n_nodes, add_self_loops=True):
    """The edges and weights of ``D^-1/2 (A + I) D^-1/2`` (Kipf and Welling, 2017):
    a self-loop of weight 1 is added to every node without one (a node's stored
    self-loops keep their summed weight, as PyTorch Geometric's
    ``add_remaining_self_loops``), ``D`` sums the weights entering each node."""
    src, dst = edge_index[0], edge_index[1]
    if edge_weight is None:
        edge_weight = torch.ones(src.shape[0], dtype=torch.float32, device=src.device)
    if add_self_loops:
        loop = src == dst
        # a node's stored self-loops keep their (summed) weight, the others get 1
        has_loop = torch.zeros(n_nodes, dtype=torch.bool, device=src.device)
        has_loop[src[loop]] = True
        loop_weight = edge_weight.new_zeros(n_nodes).index_add_(0, src[loop],
                                                                edge_weight[loop])
        loop_weight = torch.where(has_loop, loop_weight, torch.ones_like(loop_weight))
        keep = ~loop
        nodes = torch.arange(n_nodes, device=src.device)
        src = torch.cat([src[keep], nodes])
        dst = torch.cat([dst[keep], nodes])
        edge_weight = torch.cat([edge_weight[keep], loop_weight])
    deg = edge_weight.new_zeros(n_nodes).index_add_(0, dst, edge_weight)
    dinv = deg.pow(-0.5)
    dinv = dinv.masked_fill(torch.isinf(dinv), 0.0)
    norm = dinv[src] * edge_weight * dinv[dst]
    return torch.stack([src, dst]), norm


def gcn_adjacency(edge_index, edge_weight, n_nodes):
    """:func:`gcn_norm` as a torch sparse CSR matrix ``S`` (``S[i, j]`` weighs the
    message ``j -> i``; parallel edges summed), for the fused path of
    :class:`GCNConv`."""
    edge_index, norm = gcn_norm(edge_index, edge_weight, n_nodes)
    with warnings.catch_warnings():  # torch's notes that sparse CSR is in beta
        warnings.simplefilter("ignore", UserWarning)
        coo = torch.sparse_coo_tensor(edge_index.flip(0), norm, (n_nodes, n_nodes))
        return coo.coalesce().to_sparse_csr()


class GCNConv(MessagePassing):
    """Graph convolution ``x'_i = b + sum_j norm_ij W x_j`` over ``A + I`` with
    ``norm = D^-1/2 (A + I) D^-1/2`` (Kipf and Welling, 2017; Remark 3.95's
    convolution on a graph). With ``normalize=False`` the given ``edge_weight`` are
    used as the coefficients (e.g. precomputed once by :func:`gcn_norm`);
    ``edge_index`` may also be the sparse matrix of :func:`gcn_adjacency`, used as
    given (the fused path: one sparse product per layer)."""

    def __init__(self, in_channels, out_channels, bias=True, normalize=True,
                 add_self_loops=True):
        super().__init__(aggr="sum")
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.normalize = normalize
        self.add_self_loops = add_self_loops
        nn.init.xavier_uniform_(self.lin.weight)

    def forward(self, x, edge_index, edge_weight=None):
        if self.normalize and edge_index.layout == torch.strided:
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight, x.shape[0],
                                               self.add_self_loops)
        out = self.propagate(edge_index, self.lin(x), edge_attr=edge_weight)
        return out if self.bias is None else out + self.bias

    def message(self, x_i, x_j, edge_attr):
        return x_j if edge_attr is None else edge_attr.view(-1, 1) * x_j

    def message_and_aggregate(self, adj, x):
        return torch.sparse.mm(adj, x)


class GINConv(MessagePassing):
    """Graph isomorphism layer ``x'_i = MLP((1 + eps) x_i + aggr_j m_ij)`` (Xu et al.,
    2019), the update of Definition 3.103 being a learned network. Messages are
    ``x_j`` times the edge weight; with ``edge_dim`` they are ``act(x_j + W_e e_ij)``
    (GINE, Hu et al., 2020: Remark 3.96's linear map from the edge space to the node
    space)."""

    def __init__(self, in_channels, out_channels, aggr="sum", eps=0.0, train_eps=False,
                 edge_dim=None, activation="relu"):
        super().__init__(aggr=aggr)
        self.mlp = nn.Sequential(nn.Linear(in_channels, out_channels),
                                 ACTIVATIONS[activation](),
                                 nn.Linear(out_channels, out_channels))
        eps = torch.tensor([float(eps)])
        self.eps = nn.Parameter(eps) if train_eps else None
        if not train_eps:
            self.register_buffer("eps_fixed", eps)
        self.edge_lin = nn.Linear(edge_dim, in_channels) if edge_dim else None
        self.edge_act = ACTIVATIONS[activation]() if edge_dim else None

    def forward(self, x, edge_index, edge_weight=None, edge_attr=None):
        self._edge_weight = edge_weight
        try:
            return self.propagate(edge_index, x, edge_attr=edge_attr)
        finally:
            self._edge_weight = None

    def message(self, x_i, x_j, edge_attr):
        if self.edge_lin is not None and edge_attr is not None:
            x_j = self.edge_act(x_j + self.edge_lin(edge_attr))
        w = self._edge_weight
        return x_j if w is None else w.view(-1, 1) * x_j

    def update(self, aggr_out, x):
        eps = self.eps if self.eps is not None else self.eps_fixed
        return self.mlp((1 + eps) * x + aggr_out)


#: Layers of ``conv=``.
CONVS = {"gcn": GCNConv, "gin": GINConv}


# ---------------------------------------------------------------- pooling (Def. 3.102)

def pool_edges_to_nodes(edge_attr, edge_index, n_nodes, reduce="sum"):
    """``rho_{E -> V}``: each node gathers the embeddings of the edges entering it and
    reduces them (Definition 3.102, Example 57)."""
    return scatter(edge_attr, edge_index[1], n_nodes, reduce)


def pool_nodes_to_edges(x, edge_index, reduce="sum"):
    """``rho_{V -> E}``: each edge gathers the embeddings of its two end nodes and
    reduces them."""
    pair = torch.stack([x.index_select(0, edge_index[0]), x.index_select(0, edge_index[1])])
    if reduce == "sum":
        return pair.sum(0)
    if reduce == "mean":
        return pair.mean(0)
    if reduce == "max":
        return pair.amax(0)
    raise ValueError(f"reduce must be one of {AGGREGATIONS}, got {reduce!r}.")


def global_pool(x, batch, n_graphs, reduce="mean"):
    """``rho_{V -> U}``: the readout, each graph's node embeddings reduced into its
    global context vector (``batch`` None: one graph)."""
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    return scatter(x, batch, n_graphs, reduce)


def pool_edges_to_global(edge_attr, edge_index, batch, n_graphs, reduce="mean"):
    """``rho_{E -> U}``: each graph's edge embeddings reduced into its context."""
    graph_of_edge = (torch.zeros_like(edge_index[0]) if batch is None
                     else batch.index_select(0, edge_index[0]))
    return scatter(edge_attr, graph_of_edge, n_graphs, reduce)


# ---------------------------------------------------------------- the networks

class GNN(nn.Module):
    """A stack of message-passing layers and a linear head.

    Node features are first concatenated with their pooled incoming edge features when
    the graph has some (``edge_dim > 0``, Example 57). Each layer is
    ``conv -> activation -> [dropout]``; ``level="node"`` maps every node's last
    embedding to ``n_outputs`` values, ``level="graph"`` first pools the nodes of each
    graph into its global context (``readout``) and maps that. ``hidden`` empty: no
    message passing (a per-node linear model).
    """

    def __init__(self, n_features, hidden, n_outputs, *, conv="gcn", aggr="sum",
                 activation="relu", dropout=0.0, edge_dim=0, level="node",
                 readout="mean"):
        super().__init__()
        if level not in ("node", "graph"):
            raise ValueError(f"level must be 'node' or 'graph', got {level!r}.")
        self.conv, self.level, self.readout = conv, level, readout
        self.edge_dim = int(edge_dim)
        width = n_features + self.edge_dim
        layers = []
        for h in hidden:
            if conv == "gcn":
                layers.append(GCNConv(width, h, normalize=False))
            else:
                layers.append(GINConv(width, h, aggr=aggr, edge_dim=self.edge_dim or None,
                                      activation=activation))
            width = h
        self.layers = nn.ModuleList(layers)
        self.act = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.head = nn.Linear(width, n_outputs)

    def embed(self, g):
        """The last layer's node embeddings ``(N, hidden[-1])``."""
        x = g.x
        if self.edge_dim:
            x = torch.cat([x, pool_edges_to_nodes(g.edge_attr, g.edge_index, x.shape[0])], 1)
        edge_index, weight = g.edge_index, g.edge_weight
        if self.conv == "gcn" and len(self.layers):
            # the normalised adjacency, once per graph, and the fused sparse product
            adj = g.gcn_adjacency()
        for layer in self.layers:
            if self.conv == "gcn":
                x = layer(x, adj)
            else:
                x = layer(x, edge_index, weight, g.edge_attr)
            x = self.act(x)
            if self.dropout is not None:
                x = self.dropout(x)
        return x

    def forward(self, g):
        x = self.embed(g)
        if self.level == "graph":
            x = global_pool(x, g.batch, g.n_graphs, self.readout)
        return self.head(x)
