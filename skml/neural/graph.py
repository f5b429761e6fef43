"""Graph neural networks as estimators: node classification, graph classification and
regression, and link prediction, on message passing over edge lists.

The input contract. A *graph* is a tuple ``(adjacency, node_features)`` or
``(adjacency, node_features, edge_features)``:

* ``adjacency``: a scipy.sparse matrix or array ``(n_nodes, n_nodes)`` (a dense 2-D
  array is accepted and converted). Every stored entry ``A[j, i]`` is an edge
  ``j -> i`` along which ``i`` receives a message from ``j``, its value the edge's
  weight (non-negative, finite). An undirected graph stores both directions (a
  symmetric matrix).
* ``node_features``: ``(n_nodes, n_features)``, finite.
* ``edge_features``: ``(n_edges, n_edge_features)``, finite; row ``k`` belongs to the
  ``k``-th stored entry of ``adjacency.tocoo()`` (for CSR input: row by row, in each
  row's stored column order; duplicate COO entries are separate, parallel edges).

Graph-level estimators take a list of graphs as ``X``; node-level ones take one graph
as ``X`` and ``y`` per node, with -1 marking unlabelled nodes (scikit-learn's
semi-supervised convention), and predict every node. A plain 2-D array ``X`` is read as
graphs without edges (the degenerate case, on which the networks are per-node MLPs):
``n`` one-node graphs for graph-level estimators, the nodes of one edgeless graph for
node-level ones. Batches of graphs are one block-diagonal graph; no ``n x n`` matrix
is ever formed. torch is imported lazily.

Reference: H. Dai, "Note on Machine Learning" (preprint), §3.5.8, Definitions
3.101-3.103, Examples 56-57, Remarks 3.95-3.96.
"""
import numbers
from dataclasses import dataclass, fields

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.base import TransformerMixin
from sklearn.metrics import accuracy_score
from sklearn.utils import InputTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from skml.neural._base import (
    MAX_WIDTH,
    NeuralEstimator,
    _check_finite_output,
    _is_stochastic,
    _torch,
    as_float32,
    require_y,
    training_params,
)
from skml.neural._docs import fill
from skml.neural._mixins import LogitClassifierMixin, NeuralRegressorMixin
from skml.neural.mlp import ACTIVATIONS, check_hidden_layer_sizes
from skml.utils import Interval, StrOptions, store_init_params

__all__ = ["GNNEdgePredictor", "GNNGraphClassifier", "GNNGraphRegressor",
           "GNNNodeClassifier", "GraphInputTags", "check_graph"]

#: Values of ``conv=`` and of ``aggr=`` / ``readout=``.
CONVS = ("gcn", "gin")
AGGREGATIONS = ("sum", "mean", "max")
# Nodes per forward pass at inference (a chunk of whole graphs for graph-level models).
_INFERENCE_NODES = 65536

_REFERENCES = """\
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.5.8: Definition 3.101
       (GNN), Definition 3.102 (pooling), Definition 3.103 (message passing),
       Examples 56-57, Remarks 3.95-3.96.
    .. [2] B. Sanchez-Lengeling, E. Reif, A. Pearce and A. B. Wiltschko, "A Gentle
       Introduction to Graph Neural Networks", Distill, 2021.
    .. [3] T. N. Kipf and M. Welling, "Semi-Supervised Classification with Graph
       Convolutional Networks", ICLR 2017.
    .. [4] K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How Powerful are Graph Neural
       Networks?", ICLR 2019; W. Hu et al., "Strategies for Pre-training Graph Neural
       Networks", ICLR 2020 (edge features, GINE).
    .. [5] J. Gilmer, S. S. Schoenholz, P. F. Riley, O. Vinyals and G. E. Dahl,
       "Neural Message Passing for Quantum Chemistry", ICML 2017."""

_GRAPH_PARAMS = """\
    hidden_layer_sizes : int or array-like of int, default=(64, 64)
        Width of each message-passing layer (an empty tuple: no message passing, a
        per-node linear model).
    conv : {"gcn", "gin"}, default=%(conv)s
        The layer: ``"gcn"``, the graph convolution ``D^-1/2 (A + I) D^-1/2 X W`` of
        Kipf and Welling (edge weights used, ``aggr`` not); ``"gin"``, the graph
        isomorphism layer ``MLP((1 + eps) x_i + aggr_j w_ij x_j)`` of Xu et al., with
        messages ``act(x_j + W_e e_ij)`` when the graphs have edge features.
    aggr : {"sum", "mean", "max"}, default="sum"
        How a ``"gin"`` layer pools its neighbours' messages (Definition 3.103).
    activation : {"relu", "logistic", "tanh", "identity", "sigmoid", "leaky_relu", \
"elu", "gelu", "silu", "softplus"}, default="relu"
        Activation after each layer."""

_DROPOUT_PARAM = """\
    dropout : float, default=0.0
        Dropout probability after each layer's activation, in [0, 1)."""

_GRAPH_LEVEL_NOTE = """\
    scikit-learn's checks run on 2-D arrays, read as one-node graphs. Expected
    failures (``skml/utils/_test_common.py``): ``check_methods_subset_invariance`` and
    ``check_sample_weight_equivalence_on_dense_data``, as for the MLPs: float32
    results of a batch and of its subsets (of weighted and repeated rows) agree to
    ~1e-6 relative, not the checks' 1e-7."""

_INPUT_NOTE = """\
    A graph is a tuple ``(adjacency, node_features[, edge_features])``: ``adjacency``
    a scipy.sparse ``(n_nodes, n_nodes)`` matrix whose stored entries are the edges
    ``j -> i`` (value: the non-negative weight), ``edge_features`` one row per stored
    entry in the order of ``adjacency.tocoo()``. Node features pooled from the
    incoming edges' features are appended to the node features (Definition 3.102).
    See the module docstring of :mod:`skml.neural.graph`."""


@dataclass
class GraphInputTags(InputTags):
    """scikit-learn's ``InputTags`` plus what ``X`` holds for a graph estimator.

    ``graph``: ``"node"`` (``X`` is one graph, its nodes are the samples), ``"graph"``
    (``X`` is a list of graphs, each a sample) or ``"edge"`` (``fit`` takes one graph,
    the prediction methods node pairs).
    """

    graph: str = "node"


def _graph_tags(tags, kind, two_d_array=True):
    """``tags`` with its input tags replaced by :class:`GraphInputTags`."""
    old = tags.input_tags
    values = {f.name: getattr(old, f.name) for f in fields(InputTags)}
    values["two_d_array"] = two_d_array
    tags.input_tags = GraphInputTags(**values, graph=kind)
    return tags


# ---------------------------------------------------------------- input validation

class _Graph:
    """A validated graph as NumPy arrays: ``edge_index`` ``(2, E)`` int64 (sources,
    targets), ``edge_weight`` ``(E,)`` float32, ``x`` ``(n, d)`` float32,
    ``edge_attr`` ``(E, e)`` float32 or None."""

    __slots__ = ("edge_index", "edge_weight", "x", "edge_attr")

    def __init__(self, edge_index, edge_weight, x, edge_attr):
        self.edge_index, self.edge_weight = edge_index, edge_weight
        self.x, self.edge_attr = x, edge_attr

    @property
    def n_nodes(self):
        return self.x.shape[0]

    @property
    def n_edges(self):
        return self.edge_index.shape[1]


def _is_graph(obj):
    return isinstance(obj, tuple) and len(obj) in (2, 3)


def check_graph(graph, *, n_features=None, edge_dim=None, name="X"):
    """Validate one graph ``(adjacency, node_features[, edge_features])``.

    Parameters
    ----------
    graph : tuple
        ``adjacency`` (scipy.sparse or 2-D array-like, ``(n_nodes, n_nodes)``),
        ``node_features`` ``(n_nodes, n_features)`` and optionally ``edge_features``
        ``(n_edges, n_edge_features)`` in the order of ``adjacency.tocoo()``'s entries.
    n_features, edge_dim : int or None
        The numbers of node and edge features the graph must have (None: any;
        ``edge_dim=0``: no edge features).
    name : str
        How errors name the graph.

    Returns
    -------
    graph : _Graph
        The edge list, weights and features as contiguous NumPy arrays.

    Raises
    ------
    TypeError
        If ``graph`` is not a tuple of 2 or 3 parts.
    ValueError
        If the adjacency is not square, has negative or non-finite weights, the node
        features' rows differ from its size or the edge features' rows from its
        number of stored entries, features are non-finite, or feature counts differ
        from ``n_features`` / ``edge_dim``.
    """
    if not _is_graph(graph):
        raise TypeError(
            f"{name} must be a graph: a tuple (adjacency, node_features) or (adjacency, "
            f"node_features, edge_features), got {type(graph).__name__}."
        )
    adjacency, feats = graph[0], graph[1]
    efeats = graph[2] if len(graph) == 3 else None
    if not sparse.issparse(adjacency):
        adjacency = np.asarray(adjacency)
        if adjacency.ndim != 2:
            raise ValueError(
                f"{name}: the adjacency must be a 2-D (n_nodes, n_nodes) matrix, got an "
                f"array of shape {adjacency.shape}."
            )
        adjacency = sparse.coo_array(adjacency)
    if adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(
            f"{name}: the adjacency must be square (n_nodes, n_nodes), got shape "
            f"{adjacency.shape}."
        )
    coo = adjacency.tocoo()
    n = adjacency.shape[0]
    if n == 0:
        raise ValueError(f"{name} has no nodes: a graph needs at least one node.")
    weight = np.asarray(coo.data)
    if weight.dtype.kind not in "biuf":
        raise ValueError(f"{name}: the adjacency must be numeric, got dtype {weight.dtype}.")
    weight = weight.astype(np.float64)
    if not np.all(np.isfinite(weight)):
        raise ValueError(f"{name}: the adjacency has NaN or infinite edge weights.")
    if np.any(weight < 0):
        raise ValueError(
            f"{name}: the adjacency has negative edge weights (min {weight.min():.3g}); "
            "edge weights must be non-negative (the GCN normalisation divides by the "
            "square root of the weighted degrees)."
        )
    x = check_array(feats, dtype=(np.float64, np.float32), input_name=f"{name} node features")
    if x.shape[0] != n:
        raise ValueError(
            f"{name}: the node features have {x.shape[0]} rows but the adjacency has "
            f"{n} nodes; they must match."
        )
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(
            f"{name} has {x.shape[1]} node features, but the estimator is expecting "
            f"{n_features} features as input."
        )
    attr = None
    if efeats is not None:
        attr = check_array(efeats, dtype=(np.float64, np.float32), ensure_min_samples=0,
                           input_name=f"{name} edge features")
        if attr.shape[0] != coo.nnz:
            raise ValueError(
                f"{name}: the edge features have {attr.shape[0]} rows but the adjacency "
                f"stores {coo.nnz} edges; give one row per stored entry, in the order of "
                "adjacency.tocoo()."
            )
    got_edge_dim = 0 if attr is None else attr.shape[1]
    if edge_dim is not None and got_edge_dim != edge_dim:
        raise ValueError(
            f"{name} has {got_edge_dim} edge features, but the estimator was fitted on "
            f"graphs with {edge_dim}."
        )
    if weight.size and weight.max() > np.finfo(np.float32).max:
        raise ValueError(f"{name}: edge weights beyond the float32 range.")
    edge_index = np.ascontiguousarray(np.vstack([coo.row, coo.col]), dtype=np.int64)
    return _Graph(edge_index, weight.astype(np.float32),
                  as_float32(x, f"{name} node features"),
                  None if attr is None else as_float32(attr, f"{name} edge features"))


def _collate(graphs, device):
    """One block-diagonal ``GraphBatch`` on ``device`` from a list of ``_Graph``."""
    torch = _torch()
    from skml.neural._modules.graph import GraphBatch

    sizes = np.array([g.n_nodes for g in graphs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if len(graphs) == 1:
        g = graphs[0]
        edge_index, weight, x, attr = g.edge_index, g.edge_weight, g.x, g.edge_attr
    else:
        edge_index = np.concatenate([g.edge_index + o for g, o in zip(graphs, offsets)], 1)
        weight = np.concatenate([g.edge_weight for g in graphs])
        x = np.concatenate([g.x for g in graphs])
        attr = (None if graphs[0].edge_attr is None
                else np.concatenate([g.edge_attr for g in graphs]))
    batch = np.repeat(np.arange(len(graphs), dtype=np.int64), sizes)
    if np.all(weight == 1.0):  # unweighted: the layers skip multiplying the messages
        weight = None

    def tensor(a):
        return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(device)

    return GraphBatch(tensor(x), tensor(edge_index), tensor(weight), tensor(attr),
                      tensor(batch), len(graphs))


# ---------------------------------------------------------------- shared base

class _BaseGNN(NeuralEstimator):
    """Parameters, network and inference shared by the graph estimators."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
        "conv": [StrOptions(set(CONVS))],
        "aggr": [StrOptions(set(AGGREGATIONS))],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }
    _level = "node"

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)

    def _n_network_outputs(self):
        return self.n_outputs_

    def _build_module(self):
        from skml.neural._modules.graph import GNN

        return GNN(self.n_features_in_, check_hidden_layer_sizes(self.hidden_layer_sizes),
                   self._n_network_outputs(), conv=self.conv, aggr=self.aggr,
                   activation=self.activation, dropout=float(self.dropout),
                   edge_dim=self.n_edge_features_, level=self._level,
                   readout=getattr(self, "readout", "mean"))

    def _set_feature_counts(self, graph):
        """``n_features_in_`` / ``n_edge_features_`` from a graph tuple given to ``fit``
        (its features have no column names: a previous fit's are dropped)."""
        self.n_features_in_ = graph.x.shape[1]
        self.n_edge_features_ = 0 if graph.edge_attr is None else graph.edge_attr.shape[1]
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _read_graph(self, X, reset):
        """One graph from ``X``: a graph tuple, or a 2-D array of node features (a graph
        without edges)."""
        if isinstance(X, list) and len(X) in (2, 3) and not isinstance(X[0], tuple) and (
                sparse.issparse(X[0]) or np.ndim(X[0]) == 2):
            raise TypeError("X must be a graph tuple (adjacency, node_features[, "
                            "edge_features]), got a list; pass tuple(X).")
        if _is_graph(X):
            fitted = not reset
            g = check_graph(X, n_features=self.n_features_in_ if fitted else None,
                            edge_dim=self.n_edge_features_ if fitted else None)
            if reset:
                self._set_feature_counts(g)
        else:
            x = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
            if not reset and self.n_edge_features_:
                raise ValueError(
                    f"{type(self).__name__} was fitted on graphs with edge features; X "
                    "must be a graph tuple (adjacency, node_features, edge_features)."
                )
            g = _Graph(np.zeros((2, 0), dtype=np.int64), np.zeros(0, dtype=np.float32),
                       as_float32(x), None)
            if reset:
                self.n_edge_features_ = 0
        return g

    def _read_graphs(self, X, reset):
        """A list of graphs from ``X``: a list of graph tuples, or a 2-D array whose rows
        are one-node graphs without edges."""
        if _is_graph(X) and not isinstance(X[0], tuple) and (
                sparse.issparse(X[0]) or np.ndim(X[0]) == 2):
            raise TypeError("X must be a list of graphs; got a single graph tuple "
                            "(adjacency, node_features, ...): pass [X].")
        if isinstance(X, (list, tuple)) and len(X) == 0:
            raise ValueError("X holds no graphs: give at least one.")
        if isinstance(X, (list, tuple)) and len(X) and all(_is_graph(g) for g in X):
            fitted = not reset
            graphs = [check_graph(g, n_features=self.n_features_in_ if fitted else None,
                                  edge_dim=self.n_edge_features_ if fitted else None,
                                  name=f"X[{i}]") for i, g in enumerate(X)]
            if reset:
                d = {g.x.shape[1] for g in graphs}
                e = {0 if g.edge_attr is None else g.edge_attr.shape[1] for g in graphs}
                if len(d) > 1 or len(e) > 1:
                    raise ValueError(
                        "every graph in X must have the same numbers of node and edge "
                        f"features; got node feature counts {sorted(d)} and edge feature "
                        f"counts {sorted(e)}."
                    )
                self._set_feature_counts(graphs[0])
            return graphs
        if isinstance(X, (list, tuple)) and any(_is_graph(g) for g in X):
            raise TypeError("X mixes graph tuples with other objects; give a list of graphs.")
        x = as_float32(validate_data(self, X, reset=reset, dtype=(np.float64, np.float32)))
        if reset:
            self.n_edge_features_ = 0
        elif self.n_edge_features_:
            raise ValueError(
                f"{type(self).__name__} was fitted on graphs with edge features; X must "
                "be a list of graph tuples (adjacency, node_features, edge_features)."
            )
        empty_e, empty_w = np.zeros((2, 0), dtype=np.int64), np.zeros(0, dtype=np.float32)
        return [_Graph(empty_e, empty_w, x[i:i + 1], None) for i in range(len(x))]

    def _module_device(self):
        return next(self.module_.parameters()).device

    def _predict_input(self, X):
        check_is_fitted(self, "module_")
        return self._read_graph(X, reset=False), np.float64

    def _outputs(self, graph, check_finite=True):
        return self._node_outputs(graph, check_finite)

    def _run(self, fn, rows):
        """``fn(module, device)`` in eval mode, without gradients, with the threads of
        ``n_jobs``; the module's mode is restored afterwards."""
        torch = _torch()
        module = self.module_
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad(), self._torch_threads(max(1, rows)):
                return fn(module, self._module_device())
        finally:
            module.train(was_training)

    def _node_outputs(self, graph, check_finite=True):
        """The network's output for every node of one ``_Graph`` (NumPy float64)."""
        out = self._run(lambda m, dev: m(_collate([graph], dev)), graph.n_nodes)
        if check_finite:
            _check_finite_output(self, (out,))
        return out.cpu().numpy().astype(np.float64)

    def _graph_outputs(self, graphs, check_finite=True):
        """The network's output for each graph of a list of ``_Graph`` (NumPy float64),
        in chunks of about ``_INFERENCE_NODES`` nodes."""
        torch = _torch()
        chunks, start = [], 0
        while start < len(graphs):
            stop, nodes = start, 0
            while stop < len(graphs) and (stop == start or nodes + graphs[stop].n_nodes
                                          <= _INFERENCE_NODES):
                nodes += graphs[stop].n_nodes
                stop += 1
            chunks.append((graphs[start:stop], nodes))
            start = stop
        outs = [self._run(lambda m, dev, c=c: m(_collate(c, dev)), nodes)
                for c, nodes in chunks]
        out = torch.cat(outs)
        if check_finite:
            _check_finite_output(self, (out,))
        return out.cpu().numpy().astype(np.float64)


class _ClassifierMixinGNN(LogitClassifierMixin):
    """Label encoding, the classification loss and the logits shared by the node and
    graph classifiers (binary: one logit; more classes: a softmax)."""

    def _encode_labels(self, y, reset, classes=None):
        check_classification_targets(y)
        if reset:
            self.classes_ = (np.unique(y) if classes is None
                             else np.unique(np.asarray(classes)))
            self.n_outputs_ = 1 if len(self.classes_) <= 2 else len(self.classes_)
        else:
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if len(unknown):
                raise ValueError(
                    f"y contains labels {unknown!r} that are not in classes_ "
                    f"{self.classes_!r}."
                )
        codes = np.searchsorted(self.classes_, y)
        return codes.astype(np.float32 if self.n_outputs_ == 1 else np.int64)

    def _build_loss(self, device):
        F = _torch().nn.functional
        if self.n_outputs_ == 1:
            def loss(out, t):
                return F.binary_cross_entropy_with_logits(out[:, 0], t, reduction="none")
        else:
            def loss(out, t):
                return F.cross_entropy(out, t, reduction="none")
        return loss

    def decision_function(self, X):
        """The network's logits for each node of the graph ``X`` (node classification)
        or for each graph of ``X`` (graph classification).

        Parameters
        ----------
        X : tuple, list of tuple or array-like of shape (n_samples, n_features)
            A graph or a list of graphs, as for ``predict``.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The logit of ``classes_[1]`` for two classes, else one per class.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            On a malformed graph or other feature counts than in ``fit``.
        """
        _, logits = self._logits(X)
        return logits[:, 0] if logits.shape[1] == 1 else logits


# ---------------------------------------------------------------- node classification

class GNNNodeClassifier(_ClassifierMixinGNN, _BaseGNN):
    """Semi-supervised node classification with a graph neural network.

    ``fit(X, y)`` takes one graph ``X`` and a label per node, -1 for the unlabelled
    nodes (scikit-learn's semi-supervised convention); the network (message-passing
    layers, Definition 3.103, then a linear layer per node) runs on the whole graph and
    its loss is the log-loss of the labelled nodes, so the unlabelled ones shape the
    result through the edges (Kipf and Welling's transductive setting). ``predict(X)``
    labels every node of a graph: the training graph, or a new one (inductive use).
    Mini-batches are batches of labelled nodes, each step running the whole graph.

%(input_note)s

    Parameters
    ----------
%(graph_params)s
    %(training_params)s
%(dropout_param)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of the labelled nodes (-1 excluded).
    n_outputs_ : int
        Network outputs (1 for two classes, else the number of classes).
    n_edge_features_ : int
        Edge features of the training graph (0 without).
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, a malformed graph (adjacency not square, node
        features of another length, negative or non-finite weights, non-finite
        features), ``y`` of another length than the nodes, no labelled node. At
        prediction: a graph with other feature counts.

    See Also
    --------
    GNNGraphClassifier : One label per graph.
    skml.semi_supervised.PseudoLabelClassifier : Semi-supervised learning without a
        graph.

    Notes
    -----
    Expected failures of scikit-learn's checks (``skml/utils/_test_common.py``):
    ``check_classifiers_classes``, which relabels the classes as ``[-1, 1]`` while -1
    marks unlabelled nodes (as for ``PseudoLabelClassifier``);
    ``check_methods_subset_invariance`` and
    ``check_sample_weight_equivalence_on_dense_data``, as for the MLPs: float32
    results of a batch and of its subsets (of weighted and repeated rows) agree to
    ~1e-6 relative, not the checks' 1e-7.

    %(float32_note)s

    References
    ----------
%(references)s

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from skml.neural import GNNNodeClassifier
    >>> A = sparse.csr_array(np.array([[0, 1, 0, 0], [1, 0, 0, 0],
    ...                                [0, 0, 0, 1], [0, 0, 1, 0]]))
    >>> X = (A, np.eye(4))
    >>> clf = GNNNodeClassifier(hidden_layer_sizes=(8,), max_iter=50,
    ...                         learning_rate_init=0.05, random_state=0)
    >>> clf.fit(X, [0, -1, 1, -1]).predict(X).shape
    (4,)
    """

    def __init__(self, hidden_layer_sizes=(64, 64), conv="gcn", aggr="sum",
                 activation="relu", *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, l1=0.0,
                 device="auto", n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None, classes=None):
        require_y(self, y)
        graph = self._read_graph(X, reset)
        y = column_or_1d(np.asarray(y) if not hasattr(y, "shape") else y, warn=True)
        if len(y) != graph.n_nodes:
            raise ValueError(
                f"y has {len(y)} labels but the graph has {graph.n_nodes} nodes; give one "
                "label per node (-1 for unlabelled nodes)."
            )
        weight = self._sample_weight(sample_weight, graph.n_nodes)
        labelled = np.ones(len(y), dtype=bool)
        if y.dtype.kind in "iuf":
            labelled = y != -1
        if not labelled.any():
            raise ValueError("y has no labelled node: every label is -1 (unlabelled).")
        nodes = np.flatnonzero(labelled).astype(np.int64)
        target = self._encode_labels(y[labelled], reset, classes)
        self._fit_graph = graph
        return nodes, target, None if weight is None else weight[labelled]

    def _device_graph(self):
        device = self._device
        cached = self.__dict__.get("_graph_on_device")
        if cached is None or cached[0] != device:
            cached = (device, _collate([self._fit_graph], device))
            self._graph_on_device = cached
        return cached[1]

    def _train_step(self, batch, optimizers):
        nodes, target, weight = (tuple(batch) + (None, None))[:3]
        (optimizer,) = optimizers.values()
        module, loss_fn, graph = self.module_, self._loss_fn, self._device_graph()
        n = len(nodes) if weight is None else weight.sum()

        def compute_loss():
            out = module(graph).index_select(0, nodes)
            return self._weighted_mean(loss_fn(out, target), weight)

        return {"loss": self._optimizer_step(optimizer, compute_loss, n)}

    def _validation_score(self, data):
        nodes, target, weight = (tuple(data) + (None, None))[:3]
        logits = self._node_outputs(self._fit_graph, check_finite=False)[nodes]
        if not np.all(np.isfinite(logits)):
            return float("nan")
        return float(accuracy_score(target.astype(np.int64), self._codes(logits),
                                    sample_weight=weight))

    def _clear_fit_graph(self):
        self.__dict__.pop("_graph_on_device", None)
        self.__dict__.pop("_fit_graph", None)

    def fit(self, X, y, sample_weight=None):
        """Train on one graph ``X`` with per-node labels ``y`` (-1: unlabelled).

        Parameters
        ----------
        X : tuple or array-like of shape (n_nodes, n_features)
            The graph ``(adjacency, node_features[, edge_features])``, or node features
            alone (a graph without edges).
        y : array-like of shape (n_nodes,)
            A label per node; -1 marks the unlabelled nodes.
        sample_weight : array-like of shape (n_nodes,), default=None
            Weights of the nodes in the loss (those of unlabelled nodes are unused).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            self._clear_fit_graph()

    @available_if(_is_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One more epoch on the graph ``X``, continuing from the current weights.

        Parameters
        ----------
        X : tuple or array-like of shape (n_nodes, n_features)
            The graph.
        y : array-like of shape (n_nodes,)
            A label per node; -1 marks the unlabelled nodes.
        sample_weight : array-like of shape (n_nodes,), default=None
            Weights of the nodes in the loss.
        classes : array-like of shape (n_classes,), default=None
            All the labels, needed on the first call when ``y`` lacks some.

        Returns
        -------
        self : object
            The estimator.
        """
        try:
            return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                             classes=classes)
        finally:
            self._clear_fit_graph()

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labelled nodes of ``y`` (those not -1).

        Parameters
        ----------
        X : tuple or array-like of shape (n_nodes, n_features)
            A graph.
        y : array-like of shape (n_nodes,)
            True labels, -1 for nodes left out of the score.
        sample_weight : array-like of shape (n_nodes,), default=None
            Weights of the nodes.

        Returns
        -------
        score : float
            Mean accuracy over the labelled nodes.
        """
        y = column_or_1d(y)
        keep = (y != -1) if y.dtype.kind in "iuf" else np.ones(len(y), bool)
        pred = self.predict(X)
        w = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return float(accuracy_score(y[keep], pred[keep], sample_weight=w))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        return _graph_tags(tags, "node")


# ---------------------------------------------------------------- graph level

class _BaseGraphLevel(_BaseGNN):
    _level = "graph"
    _parameter_constraints = {"readout": [StrOptions(set(AGGREGATIONS))]}

    def _batches(self, data, generator):
        # the loop's shuffled slices of graphs, each collated into one block-diagonal
        # graph on the training device
        for batch in super()._batches(data, generator):
            yield (_collate(batch[0], self._device),) + tuple(batch[1:])

    def _predict_input(self, X):
        check_is_fitted(self, "module_")
        return self._read_graphs(X, reset=False), np.float64

    def _outputs(self, graphs, check_finite=True):
        return self._graph_outputs(graphs, check_finite)

    def _prepare_graphs_and_y(self, X, y, reset):
        require_y(self, y)
        graphs = self._read_graphs(X, reset)
        if len(y) != len(graphs):
            raise ValueError(
                f"X has {len(graphs)} graphs but y has {len(y)} values; give one per graph."
            )
        return graphs


class GNNGraphClassifier(_ClassifierMixinGNN, _BaseGraphLevel):
    """Graph classification with a graph neural network.

    ``X`` is a list of graphs and ``y`` one label per graph (Example 56's graph-level
    task). Message-passing layers (Definition 3.103) update the node embeddings; the
    ``readout`` pools each graph's nodes into its global context (Definition 3.102,
    ``rho_{V -> U}``), which a linear layer maps to the class logits. A mini-batch of
    graphs is one block-diagonal graph.

%(input_note)s

    Parameters
    ----------
%(graph_params)s
    readout : {"mean", "sum", "max"}, default="mean"
        How each graph's node embeddings are pooled into one vector.
    %(training_params)s
%(dropout_param)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels.
    n_outputs_ : int
        Network outputs (1 for two classes, else the number of classes).
    n_edge_features_ : int
        Edge features of the training graphs (0 without).
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, a malformed graph, graphs with different
        feature counts, ``y`` of another length than ``X``. At prediction: graphs with
        other feature counts.

    See Also
    --------
    GNNGraphRegressor : One real target per graph.

    Notes
    -----
%(graph_level_note)s

    %(float32_note)s

    References
    ----------
%(references)s

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from skml.neural import GNNGraphClassifier
    >>> ring = sparse.csr_array(np.roll(np.eye(4), 1, 1) + np.roll(np.eye(4), -1, 1))
    >>> path = sparse.csr_array(np.diag(np.ones(3), 1) + np.diag(np.ones(3), -1))
    >>> X = [(ring, np.ones((4, 1))), (path, np.ones((4, 1)))] * 5
    >>> clf = GNNGraphClassifier(hidden_layer_sizes=(8,), max_iter=50,
    ...                          learning_rate_init=0.05, random_state=0).fit(X, [0, 1] * 5)
    >>> clf.predict(X[:2])
    array([0, 1])
    """

    def __init__(self, hidden_layer_sizes=(64, 64), conv="gin", aggr="sum",
                 activation="relu", readout="mean", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, l1=0.0,
                 device="auto", n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None, classes=None):
        if y is not None:
            y = column_or_1d(np.asarray(y) if not hasattr(y, "shape") else y, warn=True)
        graphs = self._prepare_graphs_and_y(X, y, reset)
        target = self._encode_labels(y, reset, classes)
        return graphs, target, self._sample_weight(sample_weight, len(graphs))

    def __sklearn_tags__(self):
        return _graph_tags(super().__sklearn_tags__(), "graph")


class GNNGraphRegressor(NeuralRegressorMixin, _BaseGraphLevel):
    """Graph regression with a graph neural network.

    The network of :class:`GNNGraphClassifier` with a linear output of one unit per
    target, trained on half the squared error (as scikit-learn's MLPRegressor).

%(input_note)s

    Parameters
    ----------
%(graph_params)s
    readout : {"mean", "sum", "max"}, default="mean"
        How each graph's node embeddings are pooled into one vector.
    %(training_params)s
%(dropout_param)s
    normalize_y : bool, default=False
        Train on standardised targets (mean 0, variance 1 per output) and map the
        predictions back.

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    n_edge_features_ : int
        Edge features of the training graphs (0 without).
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, a malformed graph, graphs with different
        feature counts, ``y`` of another length than ``X`` or non-finite. At
        prediction: graphs with other feature counts.

    See Also
    --------
    GNNGraphClassifier : One label per graph.

    Notes
    -----
%(graph_level_note)s

    %(float32_note)s

    References
    ----------
%(references)s

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from skml.neural import GNNGraphRegressor
    >>> graphs = [(sparse.csr_array(np.ones((k, k)) - np.eye(k)), np.ones((k, 1)))
    ...           for k in range(2, 8)]
    >>> reg = GNNGraphRegressor(hidden_layer_sizes=(8,), readout="sum", max_iter=20,
    ...                         random_state=0).fit(graphs, np.arange(2.0, 8.0))
    >>> reg.predict(graphs).shape
    (6,)
    """

    _parameter_constraints = {"normalize_y": ["boolean"]}

    def __init__(self, hidden_layer_sizes=(64, 64), conv="gin", aggr="sum",
                 activation="relu", readout="mean", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0,
                 normalize_y=False, l1=0.0, device="auto", n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        if y is not None:
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
        graphs = self._prepare_graphs_and_y(X, y, reset)
        weight = self._sample_weight(sample_weight, len(graphs))
        Y = self._target_columns(y, weight, reset=reset)
        return graphs, self._training_target(Y), weight

    # the base's partial_fit (``y`` optional), which this class has always had
    partial_fit = NeuralEstimator.__dict__["partial_fit"]

    def predict(self, X):
        """Predicted targets of each graph.

        Parameters
        ----------
        X : list of tuple or array-like of shape (n_graphs, n_features)
            The graphs.

        Returns
        -------
        y : ndarray of shape (n_graphs,) or (n_graphs, n_outputs)
            Predictions (float64).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            On a malformed graph or other feature counts than in ``fit``.
        """
        graphs, _ = self._predict_input(X)
        out = self._outputs(graphs)
        out = (out * self._y_unit + self._y_shift) * self._y_norm
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        return _graph_tags(super().__sklearn_tags__(), "graph")


# ---------------------------------------------------------------- link prediction

class GNNEdgePredictor(TransformerMixin, _BaseGNN):
    """Link prediction with a graph neural network (a graph auto-encoder).

    ``fit(X)`` takes one graph. Message-passing layers and a linear layer embed every
    node in ``n_components`` dimensions; the score of a pair ``(i, j)`` is the inner
    product of their embeddings and ``sigmoid(score)`` the probability of an edge
    ``i -> j`` (Kipf and Welling's graph auto-encoder). Training minimises the
    log-loss of the graph's edges (between distinct nodes) against as many
    ``negative_ratio`` times random node pairs (negative sampling): each mini-batch is
    a batch of source nodes, their edges the positives and random partners the
    negatives, with the whole graph run each step.

    After ``fit``, ``predict_proba(pairs)``, ``decision_function(pairs)`` and
    ``predict(pairs)`` score node pairs of the training graph given as an integer
    array ``(n_pairs, 2)``; given a graph instead, they score its stored edges (in the
    order of ``adjacency.tocoo()``) from the embeddings of that graph. ``transform(X)``
    returns the node embeddings of a graph (``embedding_`` those of the training
    graph).

%(input_note)s

    Parameters
    ----------
%(graph_params)s
    n_components : int, default=16
        Dimension of the node embeddings.
    negative_ratio : float, default=1.0
        Random (negative) pairs per positive edge of a batch (per source node when
        the batch has fewer edges than nodes).
    %(training_params)s
%(dropout_param)s

    Attributes
    ----------
    embedding_ : ndarray of shape (n_nodes, n_components)
        The embeddings of the training graph's nodes.
    classes_ : ndarray of shape (2,)
        ``[0, 1]`` (no edge, edge), the columns of ``predict_proba``.
    n_edge_features_ : int
        Edge features of the training graph (0 without).
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters or a malformed graph. When scoring: pairs that
        are not an integer ``(n_pairs, 2)`` array of nodes of the training graph, or a
        graph with other feature counts.

    See Also
    --------
    GNNNodeClassifier : Node-level predictions.

    Notes
    -----
    scikit-learn's estimator checks do not apply (``fit`` takes a graph, the
    prediction methods node pairs): its tags declare ``two_d_array=False`` and
    ``graph="edge"``, and scikit-learn skips them. A 2-D float array given to
    ``fit`` is a graph without edges (every pair then learns a low probability).

    %(float32_note)s

    References
    ----------
%(references)s
    .. [6] T. N. Kipf and M. Welling, "Variational Graph Auto-Encoders", NeurIPS
       Workshop on Bayesian Deep Learning, 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from skml.neural import GNNEdgePredictor
    >>> A = sparse.csr_array(np.kron(np.eye(2), np.ones((4, 4))) - np.eye(8))
    >>> est = GNNEdgePredictor(hidden_layer_sizes=(8,), n_components=4, max_iter=50,
    ...                        learning_rate_init=0.05, random_state=0)
    >>> est.fit((A, np.eye(8))).predict_proba(np.array([[0, 1], [0, 7]])).shape
    (2, 2)
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, MAX_WIDTH)],
        "negative_ratio": [Interval(numbers.Real, 0, 1000, closed="neither")],
    }

    def __init__(self, hidden_layer_sizes=(64,), conv="gcn", aggr="sum",
                 activation="relu", n_components=16, negative_ratio=1.0, *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dropout=0.0, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _n_network_outputs(self):
        return int(self.n_components)

    def _prepare_fit_data(self, X, y=None, *, reset, sample_weight=None):
        graph = self._read_graph(X, reset)
        if reset:
            self.classes_ = np.array([0, 1])
        self._fit_graph = graph
        src, dst = graph.edge_index
        self._positive = graph.edge_index[:, src != dst]
        return (np.arange(graph.n_nodes, dtype=np.int64),)

    def _build_loss(self, device):
        F = _torch().nn.functional

        def loss(scores, labels):
            return F.binary_cross_entropy_with_logits(scores, labels)
        return loss

    def _device_parts(self):
        device = self._device
        cached = self.__dict__.get("_graph_on_device")
        if cached is None or cached[0] != device:
            torch = _torch()
            pos = torch.from_numpy(self._positive).to(device)
            cached = (device, _collate([self._fit_graph], device), pos)
            self._graph_on_device = cached
        return cached[1], cached[2]

    def _train_step(self, batch, optimizers):
        torch = _torch()
        (nodes,) = batch[:1]
        (optimizer,) = optimizers.values()
        module, loss_fn = self.module_, self._loss_fn
        graph, positive = self._device_parts()
        n_nodes = graph.n_nodes
        in_batch = torch.zeros(n_nodes, dtype=torch.bool, device=nodes.device)
        in_batch[nodes] = True
        pos = positive[:, in_batch[positive[0]]]
        n_neg = max(1, int(round(float(self.negative_ratio) * max(pos.shape[1],
                                                                   len(nodes)))))
        gen = self._rng
        neg_src = nodes[torch.randint(len(nodes), (n_neg,), generator=gen,
                                      device=nodes.device)]
        neg_dst = torch.randint(n_nodes, (n_neg,), generator=gen, device=nodes.device)
        ones = torch.ones(pos.shape[1], device=nodes.device)
        zeros = torch.zeros(n_neg, device=nodes.device)

        def compute_loss():
            z = module(graph)
            neg = loss_fn((z[neg_src] * z[neg_dst]).sum(1), zeros)
            if pos.shape[1] == 0:
                return neg
            return loss_fn((z[pos[0]] * z[pos[1]]).sum(1), ones) + neg

        return {"loss": self._optimizer_step(optimizer, compute_loss, len(nodes))}

    def _validation_score(self, data):
        raise ValueError(
            "GNNEdgePredictor does not support early_stopping: its samples are the "
            "graph's nodes, whose edges a validation split would keep in the graph."
        )

    def _check_params(self):
        super()._check_params()
        if self.early_stopping:
            raise ValueError(
                "GNNEdgePredictor does not support early_stopping=True (hold out edges "
                "yourself: remove them from the adjacency before fit)."
            )

    def _finish_fit(self):
        self.__dict__.pop("_graph_on_device", None)
        graph = self.__dict__.pop("_fit_graph", None)
        self.__dict__.pop("_positive", None)
        if graph is not None and hasattr(self, "module_"):
            self.embedding_ = self._node_outputs(graph)

    def fit(self, X, y=None):
        """Learn node embeddings from the graph ``X`` by link prediction.

        Parameters
        ----------
        X : tuple or array-like of shape (n_nodes, n_features)
            The graph ``(adjacency, node_features[, edge_features])``; node features
            alone are a graph without edges.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        try:
            return super().fit(X, None)
        finally:
            self._finish_fit()

    @available_if(_is_stochastic)
    def partial_fit(self, X, y=None):
        """One more epoch on the graph ``X``, continuing from the current weights.

        Parameters
        ----------
        X : tuple or array-like of shape (n_nodes, n_features)
            The graph.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The estimator.
        """
        try:
            return self._fit(X, None, sample_weight=None, incremental=True)
        finally:
            self._finish_fit()

    def transform(self, X):
        """Node embeddings of the graph ``X``.

        Parameters
        ----------
        X : tuple or array-like of shape (n_nodes, n_features)
            A graph (or node features alone: a graph without edges).

        Returns
        -------
        Z : ndarray of shape (n_nodes, n_components)
            Embeddings (float64).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        """
        check_is_fitted(self, "module_")
        return self._node_outputs(self._read_graph(X, reset=False))

    def fit_transform(self, X, y=None):
        """``fit(X)`` and return ``embedding_``.

        Parameters
        ----------
        X : tuple or array-like of shape (n_nodes, n_features)
            The graph.
        y : None
            Ignored.

        Returns
        -------
        Z : ndarray of shape (n_nodes, n_components)
            Embeddings of the training graph.
        """
        return self.fit(X).embedding_

    def _pair_scores(self, X):
        check_is_fitted(self, "module_")
        if _is_graph(X):
            Z = self.transform(X)
            src, dst = check_graph(X).edge_index
        else:
            pairs = np.asarray(X)
            if pairs.dtype.kind in "iu":
                if pairs.ndim != 2 or pairs.shape[1] != 2:
                    raise ValueError(
                        "node pairs must be an integer array of shape (n_pairs, 2), got "
                        f"shape {pairs.shape}."
                    )
                n = self.embedding_.shape[0]
                if pairs.size and (pairs.min() < 0 or pairs.max() >= n):
                    raise ValueError(
                        f"node pairs must index the {n} nodes of the training graph, in "
                        f"[0, {n - 1}]; got values in [{pairs.min()}, {pairs.max()}]."
                    )
                Z = self.embedding_
                src, dst = pairs[:, 0], pairs[:, 1]
            else:
                # node features alone: a graph without edges, hence no edge to score
                Z = self.transform(X)
                src = dst = np.zeros(0, dtype=np.int64)
        return np.einsum("ij,ij->i", Z[src], Z[dst])

    def decision_function(self, X):
        """Scores (logits) of node pairs: the inner products of their embeddings.

        Parameters
        ----------
        X : ndarray of int of shape (n_pairs, 2), or tuple
            Node pairs ``(i, j)`` of the training graph; or a graph, whose stored
            edges (in the order of ``adjacency.tocoo()``) are scored from its own
            embeddings. (A float array is read as node features of an edgeless graph:
            nothing to score.)

        Returns
        -------
        scores : ndarray of shape (n_pairs,)
            ``z_i . z_j`` (float64).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            On pairs of another shape or outside the training graph's nodes.
        """
        return self._pair_scores(X)

    def predict_proba(self, X):
        """Probabilities of no edge and of an edge for node pairs.

        Parameters
        ----------
        X : ndarray of int of shape (n_pairs, 2), or tuple
            As in :meth:`decision_function`.

        Returns
        -------
        proba : ndarray of shape (n_pairs, 2)
            ``[1 - p, p]`` with ``p = sigmoid(z_i . z_j)``.
        """
        p = expit(self._pair_scores(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """Whether each pair is predicted to be an edge (``p > 0.5``).

        Parameters
        ----------
        X : ndarray of int of shape (n_pairs, 2), or tuple
            As in :meth:`decision_function`.

        Returns
        -------
        y : ndarray of int of shape (n_pairs,)
            1 for an edge, 0 otherwise.
        """
        return (self._pair_scores(X) > 0).astype(np.int64)

    def __sklearn_tags__(self):
        tags = _graph_tags(super().__sklearn_tags__(), "edge", two_d_array=False)
        tags.requires_fit = True
        return tags


for _cls in (GNNNodeClassifier, GNNGraphClassifier, GNNGraphRegressor, GNNEdgePredictor):
    _cls.__doc__ = fill(_cls.__doc__, input_note=_INPUT_NOTE, graph_params=_GRAPH_PARAMS,
                        dropout_param=_DROPOUT_PARAM, graph_level_note=_GRAPH_LEVEL_NOTE,
                        references=_REFERENCES,
                        conv='"gcn"' if _cls in (GNNNodeClassifier, GNNEdgePredictor)
                        else '"gin"')
