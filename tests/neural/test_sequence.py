"""skml.neural.sequence (issue 20): self-attention from Definition 3.100 against torch's
scaled_dot_product_attention (values and gradients, every mask), the encoder block
against torch's TransformerEncoderLayer, the transformer estimators learning an
order-dependent task an MLP cannot, their input contract and its errors, seeding,
pickling and CUDA."""
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

torch = pytest.importorskip("torch")

from skml.neural import (  # noqa: E402
    MLPClassifier,
    MultiHeadSelfAttention,
    TransformerClassifier,
    TransformerRegressor,
)
from skml._demo.sequence import ordered_pairs as _ordered_pair_task  # noqa: E402
from skml.neural._modules.attention import EncoderBlock, sinusoidal_positions  # noqa: E402

F = torch.nn.functional
SMALL = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, dropout=0.0,
             max_iter=5, random_state=0)


def _quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


# ------------------------------------------------------------------ attention vs SDPA


def _sdpa_reference(attn, x, key_padding_mask, causal):
    """The module's projections around torch's SDPA (the reference computation)."""
    n, length, d = x.shape
    h, dh = attn.n_heads, attn.d_head

    def heads(t):
        return t.view(n, length, h, dh).transpose(1, 2)

    q, k, v = heads(attn.q_proj(x)), heads(attn.k_proj(x)), heads(attn.v_proj(x))
    mask = None  # SDPA's boolean mask: True = may attend
    if key_padding_mask is not None:
        mask = ~key_padding_mask[:, None, None, :].expand(n, 1, length, length)
    if causal:
        tril = torch.ones(length, length, dtype=torch.bool).tril()
        mask = tril if mask is None else mask & tril
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attn.out_proj(out.transpose(1, 2).reshape(n, length, d))


@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_equals_torch_sdpa_values_and_gradients(padding, causal):
    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(12, 3).double()
    x = torch.randn(4, 7, 12, dtype=torch.float64)
    pad = None
    if padding:  # padding at the end of some sequences (keys only; never a whole row)
        lengths = torch.tensor([7, 5, 2, 6])
        pad = torch.arange(7)[None, :] >= lengths[:, None]
    outs, grads = [], []
    for fn in (lambda xx: attn(xx, pad, causal),
               lambda xx: _sdpa_reference(attn, xx, pad, causal)):
        xx = x.clone().requires_grad_(True)
        attn.zero_grad()
        out = fn(xx)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        outs.append(out.detach())
        grads.append([xx.grad] + [p.grad.clone() for p in attn.parameters()])
    np.testing.assert_allclose(outs[0].numpy(), outs[1].numpy(), rtol=0, atol=1e-6)
    assert float((outs[0] - outs[1]).abs().max()) < 1e-12  # float64: rounding only
    for g_own, g_ref in zip(*grads):
        np.testing.assert_allclose(g_own.numpy(), g_ref.numpy(), rtol=0, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), length=st.integers(1, 7), heads=st.integers(1, 3),
       d_head=st.integers(1, 4), causal=st.booleans(), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1e-3, 1.0, 50.0]))
def test_attention_equals_sdpa_on_any_shape_and_padding(n, length, heads, d_head, causal,
                                                        seed, scale):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    attn = MultiHeadSelfAttention(heads * d_head, heads).double()
    x = scale * torch.randn(n, length, heads * d_head, generator=gen, dtype=torch.float64)
    pad = torch.rand(n, length, generator=gen) < 0.4
    out, w = attn(x, pad, causal, need_weights=True)
    assert torch.isfinite(out).all()
    allowed = ~pad[:, None, :].expand(n, length, length)
    if causal:
        allowed = allowed & torch.ones(length, length, dtype=torch.bool).tril()
    live = allowed.any(-1)  # queries with a key to attend to; the others get 0 weights
    assert torch.all(w[~allowed[:, None].expand_as(w)] == 0)
    assert torch.all(w.sum(-1)[~live[:, None].expand(n, heads, length)] == 0)
    if live.any():
        ref = _sdpa_reference(attn, x, pad, causal)
        np.testing.assert_allclose(out[live].detach().numpy(), ref[live].detach().numpy(),
                                   rtol=0, atol=1e-6 * max(1.0, scale))


def test_masked_positions_get_exactly_zero_weight():
    torch.manual_seed(1)
    attn = MultiHeadSelfAttention(8, 2).double()
    x = torch.randn(3, 6, 8, dtype=torch.float64) * 30  # large scores: no underflow excuse
    pad = torch.zeros(3, 6, dtype=torch.bool)
    pad[0, 4:] = True
    pad[1, 1:] = True
    _, w = attn(x, pad, causal=True, need_weights=True)
    assert w.shape == (3, 2, 6, 6)
    allowed = ~pad[:, None, None, :] & torch.ones(6, 6, dtype=torch.bool).tril()
    assert torch.all(w[~allowed.expand_as(w)] == 0.0)
    assert torch.allclose(w.sum(-1), torch.ones(3, 2, 6, dtype=torch.float64))
    # the padding tokens' values cannot leak: changing them leaves the output unchanged
    x2 = x.clone()
    x2[0, 4:] = torch.randn(2, 8, dtype=torch.float64)
    assert torch.equal(attn(x, pad)[0, :4], attn(x2, pad)[0, :4])


def test_a_query_with_every_key_masked_gets_zero_weights_and_finite_gradients():
    attn = MultiHeadSelfAttention(4, 1).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    pad = torch.tensor([[True, True, True], [False, True, True]])
    out, w = attn(x, pad, need_weights=True)
    assert torch.all(w[0] == 0) and torch.allclose(w[1].sum(-1), torch.ones(1, 3).double())
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in attn.parameters())


def test_encoder_block_equals_torch_pre_norm_encoder_layer():
    torch.manual_seed(2)
    ours = EncoderBlock(12, 3, 20).double().eval()
    ref = torch.nn.TransformerEncoderLayer(12, 3, 20, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True).double().eval()
    a = ours.attn
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight,
                                                      a.v_proj.weight]))
        ref.self_attn.in_proj_bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias,
                                                    a.v_proj.bias]))
        ref.self_attn.out_proj.load_state_dict(a.out_proj.state_dict())
        ref.linear1.load_state_dict(ours.ff[0].state_dict())
        ref.linear2.load_state_dict(ours.ff[3].state_dict())
        ref.norm1.load_state_dict(ours.norm1.state_dict())
        ref.norm2.load_state_dict(ours.norm2.state_dict())
    x = torch.randn(3, 5, 12, dtype=torch.float64)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    with torch.no_grad():
        got = ours(x, pad)
        want = ref(x, src_key_padding_mask=pad)
    keep = ~pad  # torch's fast path may zero padded rows; compare the real positions
    np.testing.assert_allclose(got[keep].numpy(), want[keep].numpy(), atol=1e-10)


def test_sinusoidal_positions_match_the_formula():
    pe = sinusoidal_positions(9, 6, dtype=torch.float64).numpy()
    p = np.arange(9)[:, None]
    i = np.arange(3)[None, :]
    angle = p / 10000.0 ** (2 * i / 6)
    np.testing.assert_allclose(pe[:, 0::2], np.sin(angle), atol=1e-12)
    np.testing.assert_allclose(pe[:, 1::2], np.cos(angle), atol=1e-12)


# ------------------------------------------------------------------ learning with margins


def test_transformer_learns_an_order_task_that_an_mlp_on_one_hot_input_cannot():
    X, y = _ordered_pair_task(1600, seed=1)
    Xtr, ytr, Xte, yte = X[:1000], y[:1000], X[1000:], y[1000:]
    tf = _quiet(TransformerClassifier(vocab_size=12, padding_idx=0, d_model=32, n_heads=2,
                                      n_layers=2, dim_feedforward=64, dropout=0.0,
                                      batch_size=100, learning_rate_init=3e-3,
                                      max_iter=30, random_state=0), Xtr, ytr)
    onehot = np.eye(12)[X].reshape(len(X), -1)
    mlp = _quiet(MLPClassifier(hidden_layer_sizes=(100,), max_iter=200, random_state=0),
                 onehot[:1000], ytr)
    assert mlp.score(onehot[:1000], ytr) > 0.95  # the MLP fits its training data ...
    assert mlp.score(onehot[1000:], yte) < 0.8  # ... but does not generalise
    assert tf.score(Xte, yte) >= 0.95


# ------------------------------------------------------------------ the input contract


@pytest.fixture(scope="module")
def token_model():
    rng = np.random.RandomState(0)
    X = rng.randint(1, 7, size=(60, 6))
    X[::3, 4:] = 0  # some padded sequences
    y = (X[:, 0] > 3).astype(int)
    return _quiet(TransformerClassifier(vocab_size=7, padding_idx=0, pooling="mean",
                                        **SMALL), X, y), X


def test_attention_weights_shape_rows_and_padding(token_model):
    clf, X = token_model
    w = clf.attention_weights(X[:4])
    assert w.shape == (1, 4, 2, 6, 6)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert np.all(w[:, 0, :, :, 4:] == 0.0)  # X[0] is padded at positions 4, 5
    cls = TransformerClassifier(vocab_size=7, padding_idx=0, **SMALL)
    cls = _quiet(cls, X, (X[:, 0] > 3).astype(int))
    w = cls.attention_weights(X[:2])
    assert w.shape == (1, 2, 2, 7, 7)  # [CLS] at position 0
    assert np.all(w[:, 0, :, :, 5:] == 0.0)


def test_padding_changes_nothing_and_ragged_lists_are_padded(token_model):
    clf, X = token_model
    longer = np.hstack([X, np.zeros((len(X), 3), dtype=X.dtype)])  # 3 more pad columns
    np.testing.assert_allclose(clf.predict_proba(longer), clf.predict_proba(X), atol=1e-6)
    ragged = [list(row[row != 0]) for row in X[:6]]
    np.testing.assert_allclose(clf.predict_proba(ragged), clf.predict_proba(X[:6]),
                               atol=1e-6)


def test_all_padding_and_empty_sequences_give_finite_predictions(token_model):
    clf, X = token_model
    proba = clf.predict_proba([[], [0, 0, 0], [1, 2]])  # padded to length 3
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(1), 1.0)
    # mean pooling over no position is the zero vector: both all-padding rows agree
    np.testing.assert_array_equal(proba[0], proba[1])


@pytest.mark.parametrize("X, message", [
    ([[1, 2, 3], [4, 5]], "ragged sequences need padding_idx"),
    ([[1, 2], [3, 9]], r"token ids outside \[0, vocab_size\) = \[0, 7\): \[9\]"),
    ([[1, 2], [-1, 3]], r"outside \[0, vocab_size\).*\[-1\]"),
    ([[1, 2.5], [3, 4]], "integer token ids"),
    ([[1] * 9, [2] * 9], "lengths from 1 to max_len=8"),
])
def test_bad_token_input_is_refused_clearly(X, message):
    with pytest.raises(ValueError, match=message):
        TransformerClassifier(vocab_size=7, max_len=8, **SMALL).fit(X, [0, 1])


def test_bad_parameters_and_numeric_input_are_refused_clearly():
    with pytest.raises(ValueError, match="padding_idx is for token sequences"):
        TransformerClassifier(padding_idx=0, **SMALL).fit([[0.5, 1.0]] * 2, [0, 1])
    with pytest.raises(ValueError, match=r"padding_idx must be in \[0, vocab_size - 1\]"):
        TransformerClassifier(vocab_size=3, padding_idx=3, **SMALL).fit([[1, 2]] * 2, [0, 1])
    with pytest.raises(ValueError, match="n_heads must divide d_model"):
        TransformerClassifier(**{**SMALL, "n_heads": 3}).fit([[0.5, 1.0]] * 2, [0, 1])
    with pytest.raises(ValueError, match="ragged input is only accepted for token"):
        TransformerRegressor(**SMALL).fit([[0.5, 1.0], [2.0]], [0.0, 1.0])
    seq = np.random.RandomState(0).rand(10, 5, 3)
    reg = _quiet(TransformerRegressor(**SMALL), seq, seq.sum((1, 2)))
    assert reg.predict(seq[:, :3]).shape == (10,)  # any length up to max_len
    with pytest.raises(ValueError, match="2 features per position.*fitted on 3"):
        reg.predict(seq[:, :, :2])
    with pytest.raises(ValueError, match="X must be 3-D as well"):
        reg.predict(seq[:, :, 0])


def test_numeric_sequences_regression_learns_an_order_dependent_target():
    # target: the first value minus the last one; a permutation-invariant model is blind
    rng = np.random.RandomState(0)
    X = rng.randn(400, 8, 1)
    y = X[:, 0, 0] - X[:, -1, 0]
    reg = _quiet(TransformerRegressor(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32,
                                      dropout=0.0, pooling="mean", max_iter=60,
                                      learning_rate_init=3e-3, random_state=0),
                 X[:300], y[:300])
    assert reg.score(X[300:], y[300:]) > 0.9


# ------------------------------------------------------------------ seeds, pickle, device


def test_same_random_state_same_predictions_and_pickle_round_trip():
    X, y = _ordered_pair_task(120, seed=3)
    params = dict(vocab_size=12, padding_idx=0, positional_encoding="sinusoidal",
                  **{**SMALL, "dropout": 0.1})
    a = _quiet(TransformerClassifier(**params), X, y)
    b = _quiet(TransformerClassifier(**params), X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))
    np.testing.assert_array_equal(loaded.attention_weights(X[:3]), a.attention_weights(X[:3]))
    other = _quiet(TransformerClassifier(**{**params, "random_state": 1}), X, y)
    assert not np.array_equal(other.predict_proba(X), a.predict_proba(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fits_and_predicts_on_cuda():
    X, y = _ordered_pair_task(200, seed=4)
    clf = _quiet(TransformerClassifier(vocab_size=12, padding_idx=0, device="cuda",
                                       **SMALL), X, y)
    assert next(clf.module_.parameters()).device.type == "cuda"
    cpu = pickle.loads(pickle.dumps(clf))  # a CUDA-trained model loads on the CPU
    np.testing.assert_allclose(cpu.predict_proba(X), clf.predict_proba(X), atol=1e-4)
    assert clf.attention_weights(X[:2]).shape == (1, 2, 2, 13, 13)
