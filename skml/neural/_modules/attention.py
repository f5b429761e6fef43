"""Self-attention written from its definition, a pre-norm encoder block on it, and the
sequence classifier/regressor network (plain ``torch.nn`` modules, no scikit-learn).

Attention is computed here, not by ``torch.nn.functional.scaled_dot_product_attention``
(the tests' reference): H. Dai, "Note on Machine Learning" (preprint), §3.5.7,
Definition 3.100 and Remarks 3.91-3.94; A. Vaswani et al., "Attention Is All You
Need", NeurIPS 2017.
"""
import math

import torch
from torch import nn

__all__ = ["MultiHeadSelfAttention", "EncoderBlock", "SequenceTransformer",
           "sinusoidal_positions"]


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention (Definition 3.100 of the notes).

    ``Q = X W_q``, ``K = X W_k``, ``V = X W_v`` (Remark 3.94: queries, keys and values are
    the same sequence), split along the features into ``n_heads`` heads of ``d_head =
    d_model / n_heads`` features; each head computes ``softmax(Q K^T / sqrt(d_head)) V``
    (the scale of Remark 3.91, as ``scaled_dot_product_attention`` with its default
    scale; the softmax over each row, Remark 3.92) and the heads are concatenated and
    projected by ``W_o`` (Remark 3.93).

    Parameters
    ----------
    d_model : int
        Features of each position (in and out).
    n_heads : int
        Heads; must divide ``d_model``.
    dropout : float, default=0.0
        Dropout on the attention weights in training mode.
    bias : bool, default=True
        Whether the four projections have biases.

    Notes
    -----
    Masked positions get a score of ``-inf``, hence a weight of exactly 0. A query
    whose keys are all masked (a sequence that is all padding) gets all-zero weights
    (an output of ``W_o``'s bias alone) instead of the NaN a softmax over no position
    would give.
    """

    def __init__(self, d_model, n_heads, dropout=0.0, bias=True):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"n_heads ({n_heads}) must divide d_model ({d_model}).")
        self.d_model, self.n_heads = int(d_model), int(n_heads)
        self.d_head = self.d_model // self.n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.attn_drop = nn.Dropout(dropout)

    def _heads(self, x):
        """``(n, L, d_model)`` -> ``(n, heads, L, d_head)``."""
        n, length, _ = x.shape
        return x.view(n, length, self.n_heads, self.d_head).transpose(1, 2)

    def forward(self, x, key_padding_mask=None, causal=False, need_weights=False):
        """Attend over ``x``.

        Parameters
        ----------
        x : Tensor of shape (n, L, d_model)
        key_padding_mask : bool Tensor of shape (n, L) or None
            True at the positions no query may attend to (padding).
        causal : bool
            Whether position ``i`` attends only to positions ``j <= i``.
        need_weights : bool
            Also return the attention weights, ``(n, heads, L, L)`` (after the masks,
            before dropout).

        Returns
        -------
        out : Tensor of shape (n, L, d_model), and the weights if ``need_weights``.
        """
        n, length, _ = x.shape
        q, k, v = (self._heads(p(x)) for p in (self.q_proj, self.k_proj, self.v_proj))
        # the 1/sqrt(d_head) scale on Q: n*L*d multiplications instead of n*L*L
        scores = torch.matmul(q * (1.0 / math.sqrt(self.d_head)), k.transpose(-2, -1))
        mask, dead = None, None
        if key_padding_mask is not None:
            mask = key_padding_mask[:, None, None, :]
            # queries with no key left: every key padded (or, causally, every key up to
            # the query's own position)
            dead = (key_padding_mask.long().cumprod(-1).bool() if causal
                    else key_padding_mask.all(-1, keepdim=True))
        if causal:
            upper = torch.ones(length, length, dtype=torch.bool, device=x.device).triu_(1)
            mask = upper if mask is None else mask | upper
        if mask is not None:
            # in place: matmul's backward needs its inputs, not its output
            scores.masked_fill_(mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if dead is not None and bool(dead.any()):
            # their rows are 0/0 = NaN: no position to attend to, so no weight at all
            weights = weights.masked_fill(dead[:, None, :, None], 0.0)
        attn = self.attn_drop(weights) if self.training and self.attn_drop.p > 0 else weights
        attended = torch.matmul(attn, v)
        out = self.out_proj(attended.transpose(1, 2).reshape(n, length, self.d_model))
        return (out, weights) if need_weights else out


class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder block (Example 55 of the notes with the layer
    normalisation moved before each sub-layer, Xiong et al. 2020):
    ``x + Dropout(Attention(LayerNorm(x)))`` then ``x + Dropout(FF(LayerNorm(x)))``,
    ``FF = Linear -> GELU -> Dropout -> Linear``."""

    def __init__(self, d_model, n_heads, dim_feedforward, dropout=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadSelfAttention(d_model, n_heads, dropout=dropout)
        self.drop1 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, dim_feedforward), nn.GELU(),
                                nn.Dropout(dropout), nn.Linear(dim_feedforward, d_model))
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x, key_padding_mask=None, causal=False, need_weights=False):
        a = self.attn(self.norm1(x), key_padding_mask, causal, need_weights)
        a, w = a if need_weights else (a, None)
        x = x + self.drop1(a)
        x = x + self.drop2(self.ff(self.norm2(x)))
        return (x, w) if need_weights else x


def sinusoidal_positions(length, d_model, dtype=torch.float32, device=None):
    """Vaswani et al.'s fixed encodings: ``PE[p, 2i] = sin(p / 10000^(2i/d))``,
    ``PE[p, 2i+1] = cos(p / 10000^(2i/d))``; shape ``(length, d_model)``."""
    pos = torch.arange(length, dtype=torch.float64, device=device)[:, None]
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64, device=device)
                     * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model, dtype=torch.float64, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: d_model // 2])
    return pe.to(dtype)


class SequenceTransformer(nn.Module):
    """Embedding + positions -> ``n_layers`` pre-norm encoder blocks -> LayerNorm ->
    pooling -> a linear output layer.

    Input: token ids ``(n, L)`` (int64) when ``vocab_size`` is given (positions equal to
    ``padding_idx`` are masked as keys and left out of mean pooling), else numeric
    sequences ``(n, L, n_features)`` (float32) projected linearly to ``d_model``.
    Pooling ``"cls"`` prepends a learned ``[CLS]`` vector (position 0) and reads the
    output there; ``"mean"`` averages the outputs of the non-padding positions.
    """

    def __init__(self, n_outputs, *, vocab_size=None, n_features=1, padding_idx=None,
                 d_model=64, n_heads=4, n_layers=2, dim_feedforward=128, dropout=0.1,
                 max_len=512, positional_encoding="learned", pooling="cls"):
        super().__init__()
        self.vocab_size = vocab_size
        self.padding_idx = padding_idx
        self.pooling = pooling
        self.positional_encoding = positional_encoding
        self.max_len = int(max_len)
        self.d_model = int(d_model)
        if vocab_size is not None:
            self.embed = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        else:
            self.embed = nn.Linear(n_features, d_model)
        n_pos = self.max_len + (pooling == "cls")
        if positional_encoding == "learned":
            self.pos = nn.Embedding(n_pos, d_model)
        else:  # rebuilt from the parameters, not stored in the state_dict
            self.register_buffer("pos_table", sinusoidal_positions(n_pos, d_model),
                                 persistent=False)
        if pooling == "cls":
            self.cls = nn.Parameter(torch.zeros(d_model))
            nn.init.normal_(self.cls, std=0.02)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(EncoderBlock(d_model, n_heads, dim_feedforward,
                                                 dropout) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, n_outputs)

    def _embed(self, x):
        """``(h (n, L', d_model), key padding mask (n, L') or None)``."""
        pad = None
        if self.vocab_size is not None and self.padding_idx is not None:
            pad = x == self.padding_idx
        h = self.embed(x)
        if self.pooling == "cls":
            n = h.shape[0]
            h = torch.cat([self.cls.to(h.dtype).expand(n, 1, -1), h], dim=1)
            if pad is not None:
                pad = torch.cat([pad.new_zeros(n, 1), pad], dim=1)
        length = h.shape[1]
        if self.positional_encoding == "learned":
            h = h + self.pos.weight[:length]
        else:
            h = h + self.pos_table[:length].to(h.dtype)
        return self.drop(h), pad

    def forward(self, x, return_attention=False):
        h, pad = self._embed(x)
        maps = []
        for block in self.blocks:
            if return_attention:
                h, w = block(h, pad, need_weights=True)
                maps.append(w)
            else:
                h = block(h, pad)
        h = self.norm(h)
        if self.pooling == "cls":
            pooled = h[:, 0]
        elif pad is None:
            pooled = h.mean(1)
        else:
            keep = (~pad).to(h.dtype)[..., None]
            pooled = (h * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        out = self.out(pooled)
        if return_attention:  # (n, n_layers, heads, L', L'): batches concatenate on n
            return out, torch.stack(maps, dim=1)
        return out
