"""Denoising diffusion (Definition 3.93, Remarks 3.72-3.77 of the notes): the noise
schedule, and the denoisers that predict the noise (an MLP for tables, a small U-Net for
images) with a sinusoidal time embedding and an optional label embedding.

The schedule knows nothing of the network (as diffusers' schedulers): it holds the
variances ``beta_t`` and their products, noises data in closed form
(``add_noise``), runs one reverse step (``step``: ancestral; ``ddim_step``: DDIM) and
gives the terms of the variational bound. Time steps are 0-based: ``t = 0`` is the first
noising step (the notes' ``t = 1``).
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

from skml.neural._modules.mlp import ACTIVATIONS

__all__ = ["NoiseSchedule", "SinusoidalEmbedding", "MLPDenoiser", "UNetDenoiser",
           "SCHEDULES"]

SCHEDULES = ("linear", "cosine")
# cosine schedule (Nichol and Dhariwal, 2021): the offset s and the cap on beta_t
_COSINE_S = 0.008
_MAX_BETA = 0.999


def _betas(n_timesteps, schedule, beta_start, beta_end):
    """``beta_t`` for ``t = 0 .. n_timesteps - 1`` in float64."""
    T = int(n_timesteps)
    if schedule == "linear":
        # Ho et al.'s endpoints are set for T = 1000; other T keep the same total noise
        # (the endpoints scaled by 1000 / T), as in Nichol and Dhariwal's code.
        scale = 1000.0 / T
        return torch.linspace(beta_start * scale, min(beta_end * scale, _MAX_BETA), T,
                              dtype=torch.float64)
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + _COSINE_S) / (1 + _COSINE_S) * math.pi / 2) ** 2
    abar = f / f[0]
    return (1 - abar[1:] / abar[:-1]).clamp(max=_MAX_BETA)


class NoiseSchedule:
    """The forward process ``q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I)`` and
    the reverse steps built on it (Remarks 3.73-3.75).

    Parameters
    ----------
    n_timesteps : int
        ``T``, the number of noising steps of training.
    schedule : {"linear", "cosine"}
        ``beta_t`` linear from ``beta_start`` to ``beta_end`` (Ho et al., 2020; for
        ``T != 1000`` both scaled by ``1000 / T``), or the cosine schedule of
        ``alpha_bar_t`` (Nichol and Dhariwal, 2021).
    beta_start, beta_end : float
        Endpoints of the linear schedule (for ``T = 1000``).
    clip_sample : tuple of float or None
        ``(low, high)``: the predicted ``x_0`` is clipped to this range in the reverse
        steps (the data's range); None leaves it unclipped.

    The tables are float64 on the CPU; each call gathers the entries it needs in the
    dtype and on the device of its inputs, so one schedule serves every device.
    """

    def __init__(self, n_timesteps=1000, schedule="linear", beta_start=1e-4,
                 beta_end=0.02, clip_sample=None):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")
        self.n_timesteps = int(n_timesteps)
        self.schedule = schedule
        self.clip_sample = clip_sample
        self.beta_start, self.beta_end = float(beta_start), float(beta_end)
        self.betas = _betas(n_timesteps, schedule, float(beta_start), float(beta_end))
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, 0)
        self.set_timesteps(self.n_timesteps)

    # -------------------------------------------------------------- helpers

    def _at(self, table, t, like):
        """``table[t]`` (``t``: one step per row, a tensor) shaped to broadcast over
        ``like``, in its dtype and on its device (tables are copied there once)."""
        key = (id(table), like.device, like.dtype)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = table.to(device=like.device, dtype=like.dtype)
        values = cache[key][t.to(like.device).long()]
        return values.reshape(-1, *([1] * (like.ndim - 1)))

    # -------------------------------------------------------------- training

    def add_noise(self, x0, eps, t):
        """``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps``: a draw of
        ``q(x_t | x_0)`` in closed form (Remark 3.73); ``t`` holds one step per row."""
        abar = self._at(self.alphas_cumprod, t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * eps

    # -------------------------------------------------------------- sampling

    def set_timesteps(self, n_steps):
        """Use ``n_steps`` reverse steps, evenly spaced over the ``T`` training steps
        (all of them when ``n_steps == T``); sets ``timesteps``, descending."""
        n = int(n_steps)
        if not 1 <= n <= self.n_timesteps:
            raise ValueError(
                f"n_sampling_steps={n_steps} must be in [1, n_timesteps={self.n_timesteps}]"
                " (the reverse process cannot take more steps than training noised).")
        grid = torch.linspace(0, self.n_timesteps - 1, n, dtype=torch.float64).round()
        self.timesteps = grid.long().flip(0)
        return self.timesteps

    def previous_timestep(self, t):
        """The step after ``t`` in ``timesteps`` (towards the data), -1 after the last."""
        steps = self.timesteps.tolist()
        i = steps.index(int(t))
        return steps[i + 1] if i + 1 < len(steps) else -1

    def predict_x0(self, eps_hat, t, x_t):
        """``x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)`` (Remark 3.75),
        clipped to ``clip_sample`` when set."""
        abar = float(self.alphas_cumprod[int(t)])
        x0 = (x_t - math.sqrt(1 - abar) * eps_hat) / math.sqrt(abar)
        if self.clip_sample is not None:
            x0 = x0.clamp(*self.clip_sample)
        return x0

    def _pair(self, t, x):
        """``(alpha_bar_t, alpha_bar_prev)`` as scalars in the dtype of ``x``."""
        prev = self.previous_timestep(t)
        a_t = float(self.alphas_cumprod[int(t)])
        a_prev = 1.0 if prev < 0 else float(self.alphas_cumprod[prev])
        return a_t, a_prev, prev

    def step(self, eps_hat, t, x_t, generator=None):
        """One ancestral step ``x_t -> x_prev ~ p(x_prev | x_t)`` (Ho et al., 2020).

        The mean is the posterior mean ``mu_q(x_t, x0_hat)`` of ``q(x_prev | x_t, x_0)``
        at the predicted ``x_0`` (Remarks 3.74-3.75), the variance the posterior's,
        ``(1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t``, where ``beta_t = 1 -
        alpha_bar_t / alpha_bar_prev`` spans the skipped steps when fewer than ``T``
        are used. The last step returns the mean. The noise is drawn from
        ``generator`` (on the device of ``x_t``).
        """
        a_t, a_prev, prev = self._pair(t, x_t)
        beta = 1.0 - a_t / a_prev
        x0 = self.predict_x0(eps_hat, t, x_t)
        mean = (math.sqrt(a_prev) * beta / (1 - a_t)) * x0 \
            + (math.sqrt(1 - beta) * (1 - a_prev) / (1 - a_t)) * x_t
        if prev < 0:
            return mean
        var = (1 - a_prev) / (1 - a_t) * beta
        noise = torch.randn(x_t.shape, generator=generator, device=x_t.device,
                            dtype=x_t.dtype)
        return mean + math.sqrt(var) * noise

    def ddim_step(self, eps_hat, t, x_t, eta=0.0, generator=None):
        """One DDIM step (Song, Meng and Ermon, 2021): ``x_prev = sqrt(alpha_bar_prev)
        x0_hat + sqrt(1 - alpha_bar_prev - sigma^2) eps_hat + sigma z`` with ``sigma =
        eta * sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t /
        alpha_bar_prev))``; ``eta = 0`` is deterministic."""
        a_t, a_prev, prev = self._pair(t, x_t)
        x0 = self.predict_x0(eps_hat, t, x_t)
        if prev < 0:
            return x0
        if self.clip_sample is not None:  # the noise direction consistent with x0
            eps_hat = (x_t - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
        sigma = float(eta) * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
        x_prev = math.sqrt(a_prev) * x0 + math.sqrt(max(1 - a_prev - sigma ** 2, 0.0)) * eps_hat
        if sigma > 0:
            x_prev = x_prev + sigma * torch.randn(x_t.shape, generator=generator,
                                                  device=x_t.device, dtype=x_t.dtype)
        return x_prev

    # -------------------------------------------------------------- the bound

    def prior_kl(self, x0):
        """``KL(q(x_T | x_0) || N(0, I))`` per row, in nats (the prior matching term)."""
        a = float(self.alphas_cumprod[-1])
        flat = x0.reshape(len(x0), -1)
        d = flat.shape[1]
        return 0.5 * (a * flat.pow(2).sum(1) + d * ((1 - a) - 1 - math.log(1 - a)))

    def bound_term(self, eps_hat, eps, t, x0, x_t):
        """One term of minus the variational bound per row, in nats, at the single step
        ``t`` (an int): for ``t >= 1`` the consistency term ``KL(q(x_{t-1} | x_t, x_0)
        || p(x_{t-1} | x_t))`` of Gaussians sharing the posterior variance
        ``beta_tilde_t``, ``||mu_q - mu_theta||^2 / (2 beta_tilde_t)`` with ``mu_q -
        mu_theta = beta_t / (sqrt(alpha_t) sqrt(1 - alpha_bar_t)) (eps_hat - eps)``
        (Remark 3.75); for ``t = 0`` the reconstruction term ``-log p(x_0 | x_1)`` of
        a Gaussian decoder of variance ``beta_1``."""
        t = int(t)
        beta = float(self.betas[t])
        alpha = 1.0 - beta
        a_t = float(self.alphas_cumprod[t])
        diff = (eps_hat - eps).reshape(len(eps), -1)
        if t >= 1:
            var = (1 - float(self.alphas_cumprod[t - 1])) / (1 - a_t) * beta
            coef = beta / (math.sqrt(alpha) * math.sqrt(1 - a_t))
            return coef ** 2 * diff.pow(2).sum(1) / (2 * var)
        mean = (x_t - beta / math.sqrt(1 - a_t) * eps_hat) / math.sqrt(alpha)
        err = (x0 - mean).reshape(len(x0), -1)
        d = err.shape[1]
        return err.pow(2).sum(1) / (2 * beta) + 0.5 * d * math.log(2 * math.pi * beta)

    def __reduce__(self):  # rebuilt from its parameters, never pickled as tables
        return (type(self), (self.n_timesteps, self.schedule, self.beta_start,
                             self.beta_end, self.clip_sample))

    def __repr__(self):
        return (f"NoiseSchedule(n_timesteps={self.n_timesteps}, "
                f"schedule={self.schedule!r})")


class SinusoidalEmbedding(nn.Module):
    """``t -> [sin(t w_k), cos(t w_k)]``, ``w_k = 10000^(-k / (dim/2 - 1))`` (Vaswani et
    al., 2017; Ho et al., 2020): a fixed, smooth code of the time step."""

    def __init__(self, dim):
        super().__init__()
        half = max(1, int(dim) // 2)
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32)
                          / max(half - 1, 1))
        self.register_buffer("freqs", freqs, persistent=False)
        self.dim = int(dim)

    def forward(self, t):
        arg = t.float()[:, None] * self.freqs[None, :]
        emb = torch.cat([torch.sin(arg), torch.cos(arg)], dim=1)
        if emb.shape[1] < self.dim:  # odd dim: pad one zero column
            emb = F.pad(emb, (0, self.dim - emb.shape[1]))
        return emb


class _Conditioning(nn.Module):
    """The time embedding through a small MLP, plus a learnt label embedding whose last
    row is the "no label" token of classifier-free guidance."""

    def __init__(self, dim, n_classes, activation):
        super().__init__()
        self.time = SinusoidalEmbedding(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), ACTIVATIONS[activation](),
                                 nn.Linear(dim, dim))
        self.n_classes = int(n_classes)
        self.label = nn.Embedding(self.n_classes + 1, dim) if self.n_classes else None

    def forward(self, t, y=None):
        emb = self.mlp(self.time(t))
        if self.label is not None:
            if y is None:
                y = torch.full((len(t),), self.n_classes, dtype=torch.long, device=t.device)
            emb = emb + self.label(y)
        return emb


class MLPDenoiser(nn.Module):
    """``(x_t, t, y) -> eps_hat`` for rows of ``n_features``: each hidden layer is
    ``activation(W h + b + U emb)``, ``emb`` the time (and label) embedding.

    Parameters
    ----------
    n_features : int
    hidden : sequence of int
        Hidden widths (at least one).
    embedding_dim : int
        Width of the time/label embedding.
    n_classes : int
        Number of labels (0: unconditional).
    activation : str
        Key of ``skml.neural._modules.mlp.ACTIVATIONS``.
    """

    def __init__(self, n_features, hidden, embedding_dim=64, n_classes=0,
                 activation="silu"):
        super().__init__()
        self.cond = _Conditioning(embedding_dim, n_classes, activation)
        self.layers = nn.ModuleList()
        self.emb_proj = nn.ModuleList()
        width = n_features
        for h in hidden:
            self.layers.append(nn.Linear(width, h))
            self.emb_proj.append(nn.Linear(embedding_dim, h))
            width = h
        self.act = ACTIVATIONS[activation]()
        self.out = nn.Linear(width, n_features)

    def forward(self, x, t, y=None):
        emb = self.cond(t, y)
        h = x
        for layer, proj in zip(self.layers, self.emb_proj):
            h = self.act(layer(h) + proj(emb))
        return self.out(h)


def _groups(channels):
    """Groups of GroupNorm: at most 8, dividing ``channels``."""
    return math.gcd(int(channels), 8)


class _ResBlock(nn.Module):
    """GroupNorm -> SiLU -> 3x3 conv, plus the embedding, -> GroupNorm -> SiLU -> 3x3
    conv, added to a (1x1-projected) skip connection."""

    def __init__(self, c_in, c_out, embedding_dim):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(embedding_dim, c_out)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNetDenoiser(nn.Module):
    """A small U-Net ``(x_t, t, y) -> eps_hat`` for images ``(n, C, H, W)`` (Ronneberger
    et al., 2015, with the residual blocks and embeddings of Ho et al., 2020).

    One residual block per level on the way down (halving the resolution between
    levels with a stride-2 convolution), one in the middle, one per level on the way up
    (nearest-neighbour upsampling and a convolution, concatenating the skip of the same
    level). Images whose sides are not multiples of ``2^(levels-1)`` are zero-padded
    and the output cropped back.

    Parameters
    ----------
    in_channels : int
    channels : sequence of int
        Width of each level (``len(channels)`` levels).
    embedding_dim : int
    n_classes : int
        Number of labels (0: unconditional).
    """

    def __init__(self, in_channels, channels=(32, 64), embedding_dim=64, n_classes=0):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        self.cond = _Conditioning(embedding_dim, n_classes, "silu")
        self.inp = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = channels[0]
        for i, ch in enumerate(channels):
            self.down.append(_ResBlock(c, ch, embedding_dim))
            c = ch
            if i + 1 < len(channels):
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid = _ResBlock(c, c, embedding_dim)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, ch in reversed(list(enumerate(channels))):
            self.up.append(_ResBlock(c + ch, ch, embedding_dim))
            c = ch
            if i > 0:
                self.upsample.append(nn.Conv2d(c, channels[i - 1], 3, padding=1))
                c = channels[i - 1]
        self.out_norm = nn.GroupNorm(_groups(c), c)
        self.out = nn.Conv2d(c, in_channels, 3, padding=1)
        self.factor = 2 ** (len(channels) - 1)

    def forward(self, x, t, y=None):
        emb = self.cond(t, y)
        H, W = x.shape[-2:]
        ph, pw = (-H) % self.factor, (-W) % self.factor
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        h = self.inp(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h, emb)
        for j, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if j < len(self.upsample):
                h = F.interpolate(h, scale_factor=2, mode="nearest")
                h = self.upsample[j](h)
        h = self.out(F.silu(self.out_norm(h)))
        return h[..., :H, :W]
