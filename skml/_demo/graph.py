"""Demo section: graph neural networks — semi-supervised node classification on a
stochastic block model beside an MLP on the node features alone, link prediction on
held-out edges, and a 2-D node embedding learned from the edges."""
import time
import warnings

import numpy as np

ORDER = 87
TITLE = "Graph neural networks (torch backend)"
REQUIRES = ("torch",)


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def block_model(sizes, p_in, p_out, n_features, signal, seed):
    """A symmetric stochastic block model with weakly informative Gaussian features."""
    from scipy import sparse

    rng = np.random.RandomState(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    n = len(labels)
    prob = np.where(labels[:, None] == labels[None, :], p_in, p_out)
    upper = np.triu(rng.rand(n, n) < prob, 1)
    A = sparse.csr_array((upper | upper.T).astype(np.float64))
    means = rng.randn(len(sizes), n_features)
    means *= signal / np.linalg.norm(means, axis=1, keepdims=True)
    return A, means[labels] + rng.randn(n, n_features), labels


def _held_out_edges(A, rng, fraction=0.15):
    from scipy import sparse

    upper = sparse.triu(A, 1).tocoo()
    held = rng.rand(upper.nnz) < fraction
    keep = sparse.coo_array((upper.data[~held], (upper.row[~held], upper.col[~held])),
                            shape=A.shape)
    pos = np.column_stack([upper.row[held], upper.col[held]])
    dense = A.toarray()
    neg = []
    while len(neg) < len(pos):
        i, j = rng.randint(A.shape[0], size=2)
        if i != j and not dense[i, j]:
            neg.append((i, j))
    return (keep + keep.T).tocsr(), np.vstack([pos, neg]), np.r_[np.ones(len(pos)),
                                                                  np.zeros(len(neg))]


def section(report, quick):
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.metrics import roc_auc_score

    from skml.neural import GNNEdgePredictor, GNNNodeClassifier, MLPClassifier

    size = 50 if quick else (150 if report.full else 75)
    A, X, y = block_model([size] * 4, 8 / size, 0.003, 8, 1.0, 0)
    n = len(y)
    rng = np.random.RandomState(0)
    labelled = np.zeros(n, bool)
    for c in range(4):
        labelled[rng.choice(np.flatnonzero(y == c), max(2, size // 10), replace=False)] = True
    epochs = 40 if quick else 100
    rows = []
    t0 = time.perf_counter()
    gnn = _quiet(lambda: GNNNodeClassifier(
        hidden_layer_sizes=(16,), learning_rate_init=0.01, alpha=1e-2, max_iter=epochs,
        random_state=0).fit((A, X), np.where(labelled, y, -1)))
    rows.append(("GNNNodeClassifier (GCN, 16 units)",
                 float(np.mean(gnn.predict((A, X))[~labelled] == y[~labelled])),
                 f"{time.perf_counter() - t0:.2f}"))
    t0 = time.perf_counter()
    mlp = _quiet(lambda: MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                                       max_iter=epochs, random_state=0).fit(
        X[labelled], y[labelled]))
    rows.append(("MLPClassifier on the features alone",
                 float(np.mean(mlp.predict(X[~labelled]) == y[~labelled])),
                 f"{time.perf_counter() - t0:.2f}"))
    report.text(
        f"A stochastic block model of 4 communities of {size} nodes (about 8 "
        "neighbours inside its community per node, under 1 across) whose node features hint only weakly "
        f"at the community; {int(labelled.sum())} nodes ({labelled.mean():.0%}) are "
        "labelled, the others given as -1. The graph convolution spreads the labels "
        "along the edges; the MLP sees each node's features alone.")
    report.table(["model", "accuracy on the unlabelled nodes", "fit s"], rows)

    A_train, pairs, truth = _held_out_edges(A, rng)
    link = _quiet(lambda: GNNEdgePredictor(
        hidden_layer_sizes=(32,), conv="gin", n_components=16, learning_rate_init=0.01,
        max_iter=epochs, random_state=0).fit((A_train, X)))
    auc = roc_auc_score(truth, link.decision_function(pairs))
    report.text(
        f"`GNNEdgePredictor` (a graph auto-encoder with negative sampling) trained on the "
        f"graph with 15% of its edges removed scores those held-out edges against as many "
        f"random non-edges with ROC AUC **{auc:.3f}**. Its 16-dimensional node embeddings, "
        "learned without any label, are plotted below (first two principal components) "
        "beside the raw features.")
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, Z, title in [
        (axes[0], PCA(2).fit_transform(X), "node features (PCA)"),
        (axes[1], PCA(2).fit_transform(link.embedding_), "GNNEdgePredictor embedding_ (PCA)"),
    ]:
        ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, s=10)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    report.figure(fig, "graph_embedding",
                  "Nodes of the block model coloured by community: their features (left) "
                  "and the embedding learned from the edges by link prediction (right).")
    return {"node_accuracy": rows[0][1], "mlp_accuracy": rows[1][1], "link_auc": auc}
