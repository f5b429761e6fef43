"""Networks, losses and augmentations of representation learning: SimCLR's NT-Xent,
CLIP's symmetric contrastive loss, the triplet loss with batch-hard and semi-hard
mining, prototypical episodes, and random views of images and table rows.

Nothing here knows about scikit-learn. Encoders are the CNN backbones of
:mod:`skml.neural._modules.cnn` (for images) or :class:`~skml.neural._modules.mlp.MLP`
(for rows); every random draw takes an explicit ``torch.Generator``.

References: H. Dai, "Note on Machine Learning" (preprint), Definition 3.70 (triplet
loss), Definitions 3.85-3.86 (SimCLR, CLIP), §3.7 (few-shot learning).
"""
import math
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

from skml.neural._modules.cnn import DEFAULTS as CNN_DEFAULTS
from skml.neural._modules.cnn import build_cnn
from skml.neural._modules.mlp import MLP

__all__ = ["DualEncoderNet", "EmbeddingNet", "SimCLRNet", "build_encoder", "clip_loss", "nt_xent_loss", "prototype_logits",
           "squared_distances", "triplet_loss"]

#: Values of ``encoder=`` besides "auto": a fully connected network or a CNN backbone.
ENCODERS = ("mlp",) + tuple(CNN_DEFAULTS)
# CLIP clips its learnable logit scale exp(s) at 100 (temperature >= 0.01) for stability.
MAX_LOGIT_SCALE = math.log(100.0)


def build_encoder(kind, n_out, *, n_features=None, image_shape=None, hidden=(128,),
                  channels=None, activation="relu"):
    """The encoder network ``x -> h`` with ``n_out`` outputs.

    ``kind="mlp"``: an :class:`MLP` over flat rows (or flattened images) of ``n_features`` (hidden widths
    ``hidden``). A CNN architecture name (``"resnet"``, ``"vgg"``, ...): that backbone of
    :func:`~skml.neural._modules.cnn.build_cnn` for images of ``image_shape`` ``(C, H,
    W)``, its output layer of ``n_out`` units (``channels`` overrides its filters; the
    staged architectures then get one block per width).
    """
    if kind == "mlp":  # images are flattened (rows pass unchanged)
        return nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("mlp", MLP(int(n_features), tuple(hidden), int(n_out), activation=activation))]))
    c, h, w = image_shape
    config = {}
    if channels is not None:
        config["channels"] = tuple(channels)
        if CNN_DEFAULTS[kind]["blocks"] is not None:
            config["blocks"] = (1,) * len(config["channels"])
    return build_cnn(kind, c, int(n_out), (h, w), **config)


class SimCLRNet(nn.Module):
    """SimCLR's encoder ``f`` and projection head ``g`` (Definition 3.85, Figure 44):
    ``forward`` gives the representation ``h = f(x)``, :meth:`project` ``z = g(f(x))``
    (the head, one hidden layer with ReLU as in Chen et al., is used only by the
    loss)."""

    def __init__(self, encoder, n_representation, n_projection):
        super().__init__()
        self.encoder = encoder
        self.projection = MLP(n_representation, (n_representation,), n_projection)

    def forward(self, x):
        return self.encoder(x)

    def project(self, x):
        return self.projection(self.encoder(x))


class DualEncoderNet(nn.Module):
    """CLIP's two encoders into one embedding space and the learnable logit scale
    ``log(1 / temperature)`` (Definition 3.86)."""

    def __init__(self, encoder_a, encoder_b, temperature):
        super().__init__()
        self.encoder_a = encoder_a
        self.encoder_b = encoder_b
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / float(temperature))))

    def logit_scale(self):
        """``exp(log_scale)`` clipped at 100, as CLIP."""
        return self.log_scale.clamp(max=MAX_LOGIT_SCALE).exp()

    def forward(self, x):
        return F.normalize(self.encoder_a(x), dim=1)

    def embed_b(self, x):
        return F.normalize(self.encoder_b(x), dim=1)


class EmbeddingNet(nn.Module):
    """An embedding ``f`` (unit rows when ``normalize``) and, for a prototypical
    network's zero-shot learning, the embedding ``g`` of class attribute vectors into
    the same space (Snell et al., §2.5)."""

    def __init__(self, encoder, attribute_encoder=None, normalize=False):
        super().__init__()
        self.encoder = encoder
        self.attribute_encoder = attribute_encoder
        self.normalize = normalize

    def forward(self, x):
        out = self.encoder(x)
        return F.normalize(out, dim=1) if self.normalize else out

    def embed_attributes(self, a):
        return self.attribute_encoder(a)


def nt_xent_loss(z1, z2, temperature):
    """SimCLR's normalised temperature-scaled cross entropy (Definition 3.85), averaged
    over the ``2N`` anchors: the views ``z1[i]`` and ``z2[i]`` are a positive pair and
    every other of the ``2N`` views a negative; ``sim`` is the cosine similarity."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T) / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))  # the k != i of the sum
    idx = torch.arange(n, device=z.device)
    targets = torch.cat([idx + n, idx])
    return F.cross_entropy(logits, targets)


def clip_loss(za, zb, logit_scale):
    """CLIP's symmetric contrastive loss: the mean of the cross entropies of matching
    each ``za[i]`` to ``zb[i]`` among the batch's ``zb`` and each ``zb[i]`` to ``za[i]``,
    over cosine similarities times ``logit_scale`` (``za``, ``zb`` unit rows)."""
    logits = logit_scale * (za @ zb.T)
    targets = torch.arange(za.shape[0], device=za.device)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


def squared_distances(a, b):
    """``||a_i - b_j||^2`` for all pairs, clipped at 0 (the GEMM identity)."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return d.clamp_min(0.0)


def triplet_loss(emb, labels, margin, mining="batch_hard"):
    """The triplet loss of Definition 3.70 (squared Euclidean distances) over a batch,
    with the triplets mined in it.

    ``"batch_hard"`` (Hermans et al.): each anchor with its farthest positive and its
    nearest negative, averaged over the anchors that have both. ``"semi_hard"``
    (Schroff et al., FaceNet): every anchor-positive pair with the nearest negative
    farther than the positive (the largest negative distance where none is), averaged
    over the pairs. Returns a scalar (zero, with a gradient, when the batch holds no
    triplet).
    """
    d = squared_distances(emb, emb)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    pos = same & ~eye
    neg = ~same
    inf = torch.tensor(float("inf"), device=emb.device, dtype=d.dtype)
    if mining == "batch_hard":
        valid = pos.any(1) & neg.any(1)
        if not bool(valid.any()):
            return emb.sum() * 0.0
        d_ap = torch.where(pos, d, -inf).amax(1)
        d_an = torch.where(neg, d, inf).amin(1)
        return F.relu(d_ap - d_an + margin)[valid].mean()
    # semi-hard: (anchor, positive) pairs x negatives
    a_idx, p_idx = pos.nonzero(as_tuple=True)
    has_neg = neg[a_idx].any(1)
    a_idx, p_idx = a_idx[has_neg], p_idx[has_neg]
    if a_idx.numel() == 0:
        return emb.sum() * 0.0
    d_ap = d[a_idx, p_idx]
    d_an = d[a_idx]  # (pairs, n)
    neg_rows = neg[a_idx]
    farther = neg_rows & (d_an > d_ap[:, None])
    nearest_farther = torch.where(farther, d_an, inf).amin(1)
    largest = torch.where(neg_rows, d_an, -inf).amax(1)
    d_sel = torch.where(farther.any(1), nearest_farther, largest)
    return F.relu(d_ap - d_sel + margin).mean()


def prototype_logits(queries, prototypes):
    """Minus the squared Euclidean distances of the queries to the class prototypes:
    the logits of a prototypical network (Snell et al., Eq. 2)."""
    return -squared_distances(queries, prototypes)
