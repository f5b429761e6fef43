"""Generator and discriminator networks of a GAN (Definition 3.95, Examples 48-49 of the
notes), optionally conditioned on a class label by a learned embedding (Remark 3.84), and
the two adversarial losses.

The networks are plain modules; the estimator (``skml/neural/gan.py``) holds them in one
``nn.ModuleDict(generator=..., discriminator=...)`` and alternates their updates. The
discriminator returns logits (the sigmoid is folded into the losses, as
``binary_cross_entropy_with_logits`` does, for numerical stability).
"""
import math

from torch import nn
from torch.nn import functional as F

from skml.neural._modules.mlp import ACTIVATIONS, MLP

__all__ = ["ConvDiscriminator", "ConvGenerator", "MLPDiscriminator", "MLPGenerator",
           "build_gan", "discriminator_loss", "generator_loss"]


class _LabelTerm(nn.Module):
    """The label's contribution to a network's first linear layer: a learned embedding
    of ``embedding_dim`` mapped linearly to that layer's width. Adding it to the layer's
    output is the same as concatenating the embedding to the layer's input, but keeps
    each row's arithmetic independent of the other rows (the outputs do not change in
    the last bit when the batch is reordered)."""

    def __init__(self, n_classes, embedding_dim, width):
        super().__init__()
        self.embedding = nn.Embedding(n_classes, embedding_dim)
        self.project = nn.Linear(embedding_dim, width, bias=False)

    def forward(self, labels):
        return self.project(self.embedding(labels))


def _first_layer_with_label(net, h, labels, label_term):
    """``net`` (a Sequential whose first module is linear) applied to ``h``, with the
    label term added to the first layer's output."""
    if label_term is None:
        return net(h)
    layers = iter(net)
    h = next(layers)(h) + label_term(labels)
    for layer in layers:
        h = layer(h)
    return h


class MLPGenerator(nn.Module):
    """``G(z[, label]) -> x``: an MLP from the latent (and the label's embedding)."""

    def __init__(self, n_latent, hidden, n_out, activation="leaky_relu",
                 out_activation=None, n_classes=0, embedding_dim=0):
        super().__init__()
        self.net = MLP(n_latent, hidden, n_out, activation, out_activation=out_activation)
        self.label = (_LabelTerm(n_classes, embedding_dim, self.net[0].out_features)
                      if n_classes else None)

    def forward(self, z, labels=None):
        return _first_layer_with_label(self.net, z, labels, self.label)


class MLPDiscriminator(nn.Module):
    """``D(x[, label]) -> logit``: an MLP from the sample (and the label's embedding) to
    one logit per row, with dropout after each hidden layer (Example 49)."""

    def __init__(self, n_in, hidden, activation="leaky_relu", dropout=0.0, n_classes=0,
                 embedding_dim=0):
        super().__init__()
        self.net = MLP(n_in, hidden, 1, activation, dropout=dropout)
        self.label = (_LabelTerm(n_classes, embedding_dim, self.net[0].out_features)
                      if n_classes else None)

    def forward(self, x, labels=None):
        return _first_layer_with_label(self.net, x, labels, self.label).squeeze(1)


def _half(size):
    return tuple(max(1, math.ceil(s / 2)) for s in size)


class ConvGenerator(nn.Module):
    """A small DCGAN-style generator for images ``(C, H, W)`` of any size: a linear map
    of the latent (and label embedding) to ``channels[0]`` maps at a quarter of the
    size, then two ``upsample -> 3x3 convolution`` stages (to half, then full size).
    Returns flat rows ``(n, C*H*W)``."""

    def __init__(self, n_latent, image_shape, channels=(64, 32), activation="leaky_relu",
                 out_activation=None, n_classes=0, embedding_dim=0):
        super().__init__()
        c, h, w = image_shape
        c1, c2 = channels
        self.half = _half((h, w))
        self.quarter = _half(self.half)
        self.full = (h, w)
        self.c1 = c1
        self.project = nn.Sequential(
            nn.Linear(n_latent, c1 * self.quarter[0] * self.quarter[1]))
        self.label = (_LabelTerm(n_classes, embedding_dim, self.project[0].out_features)
                      if n_classes else None)
        act = ACTIVATIONS[activation]
        self.body = nn.Sequential(
            act(),
            nn.Upsample(size=self.half, mode="nearest"),
            nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), act(),
            nn.Upsample(size=self.full, mode="nearest"),
            nn.Conv2d(c2, c, 3, padding=1),
        )
        self.out = ACTIVATIONS[out_activation]() if out_activation else nn.Identity()

    def forward(self, z, labels=None):
        h = _first_layer_with_label(self.project, z, labels, self.label)
        h = h.view(-1, self.c1, *self.quarter)
        return self.out(self.body(h)).flatten(1)


class ConvDiscriminator(nn.Module):
    """A small convolutional discriminator: two strided ``3x3`` convolutions, then (with
    the label's embedding concatenated) a linear layer to one logit. Takes flat rows
    ``(n, C*H*W)``."""

    def __init__(self, image_shape, channels=(32, 64), activation="leaky_relu",
                 dropout=0.0, n_classes=0, embedding_dim=0):
        super().__init__()
        c, h, w = image_shape
        c1, c2 = channels
        self.image_shape = tuple(image_shape)
        act = ACTIVATIONS[activation]
        self.body = nn.Sequential(
            nn.Conv2d(c, c1, 3, stride=2, padding=1), act(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), act(), nn.Flatten(),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity())
        q = _half(_half((h, w)))
        self.head = nn.Sequential(nn.Linear(c2 * q[0] * q[1], 1))
        self.label = _LabelTerm(n_classes, embedding_dim, 1) if n_classes else None

    def forward(self, x, labels=None):
        h = self.body(x.view(-1, *self.image_shape))
        return _first_layer_with_label(self.head, h, labels, self.label).squeeze(1)


def build_gan(architecture, n_features, n_latent, *, generator_hidden=(128, 128),
              discriminator_hidden=(128, 128), image_shape=None, activation="leaky_relu",
              out_activation=None, dropout=0.0, n_classes=0, embedding_dim=0):
    """``nn.ModuleDict(generator=..., discriminator=...)`` for ``"mlp"`` or ``"conv"``.

    For ``"conv"``, ``generator_hidden`` / ``discriminator_hidden`` are the two channel
    widths of each network and ``image_shape`` is ``(C, H, W)``.
    """
    cond = dict(n_classes=n_classes, embedding_dim=embedding_dim)
    if architecture == "mlp":
        gen = MLPGenerator(n_latent, generator_hidden, n_features, activation,
                           out_activation, **cond)
        disc = MLPDiscriminator(n_features, discriminator_hidden, activation, dropout,
                                **cond)
    else:
        gen = ConvGenerator(n_latent, image_shape, generator_hidden, activation,
                            out_activation, **cond)
        disc = ConvDiscriminator(image_shape, discriminator_hidden, activation, dropout,
                                 **cond)
    return nn.ModuleDict({"generator": gen, "discriminator": disc})


def _mean(values, weight):
    return values.mean() if weight is None else (values * weight).sum() / weight.sum()


def discriminator_loss(real_logits, fake_logits, weight=None):
    """``-mean log D(x) - mean log(1 - D(G(z)))``: minus the value ``V(G, D)`` of
    Example 48 that the discriminator maximises (``D = sigmoid(logit)``), the means
    weighted by the rows' ``weight`` if given."""
    return _mean(F.softplus(-real_logits), weight) + _mean(F.softplus(fake_logits), weight)


def generator_loss(fake_logits, kind="non_saturating", weight=None):
    """The generator's loss: ``-mean log D(G(z))`` (``"non_saturating"``, Remark 3.81:
    strong gradients while the discriminator still rejects the samples) or
    ``mean log(1 - D(G(z)))`` (``"minimax"``, the objective of Remark 3.82 as written)."""
    if kind == "non_saturating":
        return _mean(F.softplus(-fake_logits), weight)
    return -_mean(F.softplus(fake_logits), weight)
