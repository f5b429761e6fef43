"""skml.neural.sequence: self-attention against torch's fused attention, and the
transformer estimators against a plain PyTorch loop over the same network.

* ``attention fwd+bwd vs SDPA``: :class:`~skml.neural.MultiHeadSelfAttention` (scores,
  masks and softmax written out from Definition 3.100) against the same projections
  around ``torch.nn.functional.scaled_dot_product_attention`` (torch's fused kernel),
  forward and backward on one thread, with a key-padding mask, float32 and float64.
  Quality: the largest absolute difference of the output from a float64 reference.
* ``fit ... vs torch loop``: ``TransformerClassifier`` against a minimal hand-written
  loop over the very same module (``skml.neural._modules.attention
  .SequenceTransformer``), Adam, batch size and number of epochs, on one thread. The
  ratio is the overhead of skml's wrapper (validation, the shared loop, history,
  seeding); the target is <= 1.1. Quality: held-out accuracy on the ordered-pair task
  of the tests.
"""
import warnings

import numpy as np

from benchmarks._harness import Case, one_torch_thread

NAME = "sequence"
PEER = "torch SDPA / torch loop"

LR = 3e-3
NET = dict(d_model=32, n_heads=2, n_layers=2, dim_feedforward=64, dropout=0.0)


# ------------------------------------------------------------------ attention


def _attention_data(n, length, d, heads, dtype):
    import torch

    from skml.neural import MultiHeadSelfAttention

    def make():
        torch.manual_seed(0)
        attn = MultiHeadSelfAttention(d, heads).to(dtype)
        x = torch.randn(n, length, d, dtype=dtype)
        lengths = torch.randint(length // 2, length + 1, (n,))
        pad = torch.arange(length)[None, :] >= lengths[:, None]
        with torch.no_grad():
            ref = _sdpa(attn.double(), x.double(), pad)
        attn.to(dtype)
        return attn, x, pad, ref
    return make


def _sdpa(attn, x, pad):
    import torch

    n, length, d = x.shape
    h, dh = attn.n_heads, attn.d_head

    def heads(t):
        return t.view(n, length, h, dh).transpose(1, 2)

    q, k, v = heads(attn.q_proj(x)), heads(attn.k_proj(x)), heads(attn.v_proj(x))
    out = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=~pad[:, None, None, :])
    return attn.out_proj(out.transpose(1, 2).reshape(n, length, d))


def _fwd_bwd(compute):
    @one_torch_thread
    def run(data):
        attn, x, pad, _ = data
        xx = x.clone().requires_grad_(True)
        attn.zero_grad(set_to_none=True)
        out = compute(attn, xx, pad)
        out.sum().backward()
        return out.detach()
    return run


def _attention_error(out, data):
    return float((out.double() - data[3]).abs().max())


# ------------------------------------------------------------------ training


def _ordered_pairs():
    from skml._demo.sequence import ordered_pairs

    X, y = ordered_pairs(1600, seed=1)
    return X[:1000], X[1000:], y[:1000], y[1000:]


def _skml_fit(epochs):
    from sklearn.exceptions import ConvergenceWarning

    from skml.neural import TransformerClassifier

    def fit(data):
        Xtr, _, ytr, _ = data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return TransformerClassifier(
                vocab_size=12, padding_idx=0, **NET, batch_size=100, max_iter=epochs,
                learning_rate_init=LR, alpha=0.0, tol=0.0, n_iter_no_change=np.inf,
                device="cpu", random_state=0).fit(Xtr, ytr)
    return fit


def _torch_fit(epochs):
    @one_torch_thread
    def fit(data):
        import torch

        from skml.neural._modules.attention import SequenceTransformer

        Xtr, _, ytr, _ = data
        torch.manual_seed(0)
        model = SequenceTransformer(2, vocab_size=12, padding_idx=0, max_len=512, **NET)
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        X, y = torch.as_tensor(Xtr), torch.as_tensor(ytr)
        n = len(X)
        gen = torch.Generator().manual_seed(0)
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, 100):
                idx = perm[start:start + 100]
                loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return model.eval()
    return fit


@one_torch_thread
def _accuracy(result, data):
    import torch

    _, Xte, _, yte = data
    if hasattr(result, "score"):
        return result.score(Xte, yte)
    with torch.no_grad():
        return float(np.mean(result(torch.as_tensor(Xte)).argmax(1).numpy() == yte))


def cases(quick):
    import torch

    shapes = [(8, 64, 64, 4)] if quick else [(32, 128, 64, 4), (8, 512, 128, 8)]
    for n, length, d, heads in shapes:
        for dtype in (torch.float32, torch.float64):
            tag = f"attention n={n} L={length} d={d} h={heads} {str(dtype)[6:]}"
            yield Case(f"{tag}: fwd+bwd vs SDPA",
                       _attention_data(n, length, d, heads, dtype),
                       _fwd_bwd(lambda a, x, p: a(x, p)), _fwd_bwd(_sdpa),
                       _attention_error, "max |out - float64 ref|", repeats=10)
    epochs = 1 if quick else 10
    yield Case(f"ordered pairs n=1000 L=12 {epochs} epochs cpu: fit vs torch loop",
               _ordered_pairs, _skml_fit(epochs), _torch_fit(epochs), _accuracy,
               "test accuracy")
