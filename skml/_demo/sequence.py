"""Demo section: transformers — a sequence task decided by order alone, learned by a
TransformerClassifier and missed by an MLP on the one-hot tokens, and the attention maps
of the trained network."""
import time
import warnings

import numpy as np

ORDER = 87
TITLE = "Transformers on sequences (torch backend)"
REQUIRES = ("torch",)

N_MARKED, VOCAB, LENGTH = 6, 12, 12


def ordered_pairs(n, length=LENGTH, n_marked=N_MARKED, vocab=VOCAB, seed=0):
    """Token sequences with two distinct marked tokens (ids ``1..n_marked``) at random
    positions among noise tokens (ids ``n_marked + 1 .. vocab - 1``; 0 is left for
    padding); the label is 1 when the marked tokens appear in ascending order of their
    ids. The same tokens get either label: only their order decides. Returns ``X``
    ``(n, length)`` int and ``y`` ``(n,)``."""
    rng = np.random.RandomState(seed)
    X = rng.randint(n_marked + 1, vocab, size=(n, length))
    y = np.zeros(n, dtype=int)
    for i in range(n):
        a, b = rng.choice(np.arange(1, n_marked + 1), 2, replace=False)
        p, q = np.sort(rng.choice(length, 2, replace=False))
        X[i, p], X[i, q] = a, b
        y[i] = a < b
    return X, y


def _quiet(fit):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def section(report, quick):
    import matplotlib.pyplot as plt

    from skml.neural import MLPClassifier, TransformerClassifier

    X, y = ordered_pairs(1600, seed=1)
    Xtr, ytr, Xte, yte = X[:1000], y[:1000], X[1000:], y[1000:]
    epochs = 10 if quick else 30
    t0 = time.perf_counter()
    tf = _quiet(lambda: TransformerClassifier(
        vocab_size=VOCAB, padding_idx=0, d_model=32, n_heads=2, n_layers=2,
        dim_feedforward=64, dropout=0.0, batch_size=100, learning_rate_init=3e-3,
        max_iter=epochs, random_state=0).fit(Xtr, ytr))
    t_tf = time.perf_counter() - t0
    onehot = np.eye(VOCAB)[X].reshape(len(X), -1)
    t0 = time.perf_counter()
    mlp = _quiet(lambda: MLPClassifier(random_state=0).fit(onehot[:1000], ytr))
    t_mlp = time.perf_counter() - t0
    report.text(
        "An order-only task: each sequence of 12 tokens holds two distinct *marked* "
        "tokens (ids 1-6) among noise tokens, and its label says whether they appear in "
        "ascending order of their ids. `TransformerClassifier` (token embeddings, "
        "learned positions, two pre-norm blocks of self-attention written from "
        "Definition 3.100, a `[CLS]` vector) against an MLP with scikit-learn's "
        "defaults (`MLPClassifier`) on the flattened one-hot tokens, both on the same "
        "1000 training sequences.")
    report.table(["model", "train accuracy", "held-out accuracy", "epochs", "fit s"], [
        ("TransformerClassifier d_model=32, 2 layers", float(tf.score(Xtr, ytr)),
         float(tf.score(Xte, yte)), tf.n_iter_, f"{t_tf:.2f}"),
        ("MLPClassifier (100,) on one-hot", float(mlp.score(onehot[:1000], ytr)),
         float(mlp.score(onehot[1000:], yte)), mlp.n_iter_, f"{t_mlp:.2f}"),
    ])

    shown = Xte[:6]
    maps = tf.attention_weights(shown)  # (layers, n, heads, 13, 13), [CLS] first
    n_layers, _, n_heads = maps.shape[:3]
    fig, axes = plt.subplots(1, 1 + n_heads, figsize=(4 * (1 + n_heads), 3.4))
    cls_rows = maps[-1, :, :, 0, 1:].mean(1)  # last layer, [CLS] -> tokens, head mean
    ax = axes[0]
    ax.imshow(cls_rows, cmap="viridis", aspect="auto")
    for i, row in enumerate(shown):
        for j, tok in enumerate(row):
            marked = tok <= N_MARKED
            ax.text(j, i, str(tok), ha="center", va="center", fontsize=7,
                    color="red" if marked else "white", weight="bold" if marked else None)
    ax.set_title(f"layer {n_layers}: [CLS] attention (head mean)")
    ax.set_xlabel("position")
    ax.set_ylabel("held-out sequence")
    for h in range(n_heads):
        ax = axes[1 + h]
        ax.imshow(maps[0, 0, h], cmap="viridis")
        ticks = ["CLS"] + [str(t) for t in shown[0]]
        ax.set_xticks(range(len(ticks)), ticks, fontsize=6)
        ax.set_yticks(range(len(ticks)), ticks, fontsize=6)
        ax.set_title(f"layer 1, head {h + 1}: sequence 1")
        ax.set_xlabel("key")
        ax.set_ylabel("query")
    report.figure(fig, "sequence_attention",
                  "Attention maps of the trained transformer (marked tokens in red): "
                  "left, how the [CLS] vector of the last layer spreads its attention "
                  "over the tokens of six held-out sequences; right, every query's "
                  "attention over the keys in each head of the first layer.")
