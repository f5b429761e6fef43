"""Convolutional networks for image classification and regression: LeNet, AlexNet, VGG,
ResNet and DenseNet (§3.5.2-3.5.5 of the notes), scaled for small images.

Every builder returns a :class:`CNN`: an ``nn.Sequential`` of named blocks, the
convolutional ones first, then ``"pool"`` (global average or max pooling, Definition
3.32 and Remark 3.23, or a flatten, Definition 3.35) and ``"head"`` (fully connected
layers ending in the linear layer ``"head.out"``). The names are stable, so blocks can be
frozen for fine-tuning and any of them inspected by Grad-CAM. Nothing here knows about
scikit-learn; the modules are usable on their own::

    net = resnet(in_channels=1, n_outputs=10, image_size=(8, 8))
    logits = net(torch.zeros(4, 1, 8, 8))

:class:`Resize` lets a network sized for larger images take small ones,
:func:`augment_images` draws the training-time flips, shifts and crops, and
:func:`output_grid` / :func:`map_to_input` find where a layer's cells lie in the input
and read its maps there (class activation maps at input resolution).
"""
from collections import OrderedDict

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from skml.neural._modules.mlp import ACTIVATIONS

__all__ = ["ARCHITECTURES", "CNN", "DEFAULTS", "BasicBlock", "DenseBlock", "GlobalPool",
           "Resize", "alexnet", "augment_images", "build_cnn", "densenet", "lenet",
           "map_to_input", "min_image_size", "mlp_head", "output_grid", "resnet", "vgg"]

ARCHITECTURES = ("lenet", "alexnet", "vgg", "resnet", "densenet")

#: What each architecture uses where the estimator's parameters say "auto": the widths
#: of its convolutions (``channels``; growth rates for DenseNet), the layers per stage
#: (``blocks``), the hidden widths of its fully connected head, its activation,
#: normalisation, downsampling pool and final pooling (None: flatten).
DEFAULTS = {
    # LeNet-5 (Remark 3.85): sigmoid and average pooling, a 120-84 head
    "lenet": dict(channels=(6, 16), blocks=None, hidden=(120, 84), activation="sigmoid",
                  norm=None, pooling="avg", global_pool=None),
    # AlexNet with a 5x5 first convolution of stride 1 for small images (not 11x11/4)
    "alexnet": dict(channels=(24, 48, 64, 64, 48), blocks=None, hidden=(128, 128),
                    activation="relu", norm=None, pooling="max", global_pool=None),
    # VGG: blocks of 3x3 convolutions, each block ending in a 2x2 max pooling
    "vgg": dict(channels=(16, 32, 64), blocks=(1, 1, 2), hidden=(128,),
                activation="relu", norm=None, pooling="max", global_pool=None),
    # ResNet for small images (He et al.'s CIFAR variant): a 3x3 stem, stages of basic
    # residual blocks, the first block of each later stage of stride 2
    "resnet": dict(channels=(16, 32, 64), blocks=(2, 2, 2), hidden=(),
                   activation="relu", norm="batch", pooling="max", global_pool="avg"),
    # DenseNet: a 3x3 stem, dense blocks (channels: growth rates), transitions that
    # halve the channels with a 1x1 convolution and the size with 2x2 average pooling
    "densenet": dict(channels=(12, 12, 12), blocks=(3, 3, 3), hidden=(),
                     activation="relu", norm="batch", pooling="avg", global_pool="avg"),
}
_ALEXNET_POOL = dict(kernel_size=3, stride=2)  # AlexNet's overlapping pooling
_TRANSITION_COMPRESSION = 0.5
_LARGE = 2**12  # an image side no architecture here finds too small


def _act(name):
    return ACTIVATIONS[name]()


def _norm(kind, channels):
    """The normalisation layer of ``norm=``: batch norm over (batch, H, W), layer norm
    over (C, H, W) (a one-group ``GroupNorm``), or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def _pool(kind, **kwargs):
    return (nn.MaxPool2d if kind == "max" else nn.AvgPool2d)(**kwargs)


def _conv_block(c_in, c_out, kernel_size, padding, activation, norm, pool=None):
    layers = [("conv", nn.Conv2d(c_in, c_out, kernel_size, padding=padding,
                                 bias=norm is None))]
    if norm is not None:
        layers.append(("norm", _norm(norm, c_out)))
    layers.append(("act", _act(activation)))
    if pool is not None:
        layers.append(("pool", pool))
    return nn.Sequential(OrderedDict(layers))


class GlobalPool(nn.Module):
    """Global average or max pooling over the spatial axes: ``(n, C, H, W) -> (n, C)``
    (Definition 3.32, Remark 3.23)."""

    def __init__(self, kind="avg"):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        return x.mean((2, 3)) if self.kind == "avg" else x.amax((2, 3))

    def extra_repr(self):
        return f"kind={self.kind!r}"


class Resize(nn.Module):
    """Bilinear resampling of the images to ``size`` ``(H, W)`` (``F.interpolate``,
    ``align_corners=False``): lets a network made for larger inputs take small images
    (e.g. 8x8 digits into LeNet's 12x12 minimum)."""

    def __init__(self, size):
        super().__init__()
        self.size = tuple(int(s) for s in size)

    def forward(self, x):
        if tuple(x.shape[-2:]) == self.size:
            return x
        return nn.functional.interpolate(x, size=self.size, mode="bilinear",
                                         align_corners=False)

    def extra_repr(self):
        return f"size={self.size}"


class BasicBlock(nn.Module):
    """ResNet's basic block: ``act(F(x) + shortcut(x))`` with ``F`` two 3x3 convolutions
    (the first of ``stride``), each normalised; the shortcut is the identity, or a
    normalised 1x1 convolution of ``stride`` where the shape changes."""

    def __init__(self, c_in, c_out, stride=1, activation="relu", norm="batch"):
        super().__init__()
        bias = norm is None
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias)
        self.norm1 = _norm(norm, c_out)
        self.act1 = _act(activation)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=bias)
        self.norm2 = _norm(norm, c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(OrderedDict([
                ("conv", nn.Conv2d(c_in, c_out, 1, stride=stride, bias=bias)),
                ("norm", _norm(norm, c_out))]))
        self.act2 = _act(activation)

    def forward(self, x):
        out = self.act1(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class DenseLayer(nn.Module):
    """One layer of a dense block: ``concat(x, conv3x3(act(norm(x))))``, adding
    ``growth`` channels."""

    def __init__(self, c_in, growth, activation="relu", norm="batch"):
        super().__init__()
        self.norm = _norm(norm, c_in)
        self.act = _act(activation)
        self.conv = nn.Conv2d(c_in, growth, 3, padding=1, bias=norm is None)

    def forward(self, x):
        return torch.cat([x, self.conv(self.act(self.norm(x)))], 1)


class DenseBlock(nn.Sequential):
    """``n_layers`` dense layers: every layer sees the feature maps of all before it
    (Huang et al.); ``c_in + n_layers * growth`` channels out."""

    def __init__(self, c_in, n_layers, growth, activation="relu", norm="batch"):
        super().__init__(*[DenseLayer(c_in + i * growth, growth, activation, norm)
                           for i in range(n_layers)])
        self.out_channels = c_in + n_layers * growth


def mlp_head(n_in, hidden, n_outputs, activation="relu", dropout=0.0):
    """The fully connected head: ``fc{i} -> act{i} [-> dropout{i}]`` per hidden width,
    then the linear layer ``out`` of ``n_outputs`` units."""
    head, width = [], n_in
    for i, h in enumerate(hidden, 1):
        head += [(f"fc{i}", nn.Linear(width, h)), (f"act{i}", _act(activation))]
        if dropout > 0:
            head.append((f"dropout{i}", nn.Dropout(dropout)))
        width = h
    head.append(("out", nn.Linear(width, n_outputs)))
    return nn.Sequential(OrderedDict(head))


class CNN(nn.Sequential):
    """Named convolutional blocks, then ``"pool"`` and ``"head"``.

    Parameters
    ----------
    blocks : list of (str, nn.Module)
        The convolutional part, in order; its output is the final feature map (what
        class activation maps weigh).
    pool : nn.Module
        :class:`GlobalPool` or ``nn.Flatten``.
    head : nn.Module
        The fully connected layers (:func:`mlp_head`), ending in ``head.out``.

    Attributes
    ----------
    feature_names : tuple of str
        Names of the convolutional blocks, in order.
    frozen : tuple of str
        Names of submodules kept in eval mode by :meth:`train` (set by the estimator
        that freezes them for fine-tuning).
    """

    def __init__(self, blocks, pool, head):
        super().__init__(OrderedDict([*blocks, ("pool", pool), ("head", head)]))
        self.feature_names = tuple(name for name, _ in blocks)
        self.frozen = ()

    def train(self, mode=True):
        """As ``nn.Module.train``, but the submodules named in ``frozen`` stay in eval
        mode: a frozen block's batch-norm statistics and dropout stay fixed too."""
        super().train(mode)
        if mode:
            for name in self.frozen:
                self.get_submodule(name).eval()
        return self

    def features(self, x):
        """The final feature map ``(n, K, h, w)``: the input run through the
        convolutional blocks."""
        for name in self.feature_names:
            x = getattr(self, name)(x)
        return x


def _finish(blocks, in_channels, image_size, global_pool, hidden, n_outputs, activation,
            dropout):
    """The :class:`CNN` of ``blocks``, with a flatten or a global pool sized on a
    shape-only forward pass."""
    features = nn.Sequential(OrderedDict(blocks))
    # the blocks run on shape-only copies of their weights: nothing is computed
    meta = {name: torch.empty_like(t, device="meta") for name, t in
            [*features.named_parameters(), *features.named_buffers()]}
    probe = torch.zeros(2, in_channels, *image_size, device="meta")
    out = torch.func.functional_call(features, meta, (probe,))
    n_channels, h, w = out.shape[1:]
    if global_pool is None:
        pool, n_pooled = nn.Flatten(), n_channels * h * w
    else:
        pool, n_pooled = GlobalPool(global_pool), n_channels
    return CNN(blocks, pool, mlp_head(n_pooled, hidden, n_outputs, activation, dropout))


def lenet(in_channels, n_outputs, image_size, channels=(6, 16), hidden=(120, 84),
          activation="sigmoid", norm=None, pooling="avg", global_pool=None, dropout=0.0):
    """LeNet-5 (LeCun et al., 1998; §3.5.2): ``conv5x5 (padding 2) -> act -> pool2``,
    ``conv5x5 -> act -> pool2``, then the head. Sigmoid and average pooling as in
    Remark 3.85; ``activation="relu"``, ``pooling="max"`` give the modern variant.
    Blocks: ``conv1``, ``conv2``."""
    c1, c2 = channels
    blocks = [
        ("conv1", _conv_block(in_channels, c1, 5, 2, activation, norm,
                              _pool(pooling, kernel_size=2, stride=2))),
        ("conv2", _conv_block(c1, c2, 5, 0, activation, norm,
                              _pool(pooling, kernel_size=2, stride=2))),
    ]
    return _finish(blocks, in_channels, image_size, global_pool, hidden, n_outputs,
                   activation, dropout)


def alexnet(in_channels, n_outputs, image_size, channels=(24, 48, 64, 64, 48),
            hidden=(128, 128), activation="relu", norm=None, pooling="max",
            global_pool=None, dropout=0.0):
    """AlexNet (Krizhevsky et al., 2012; §3.5.3) for small images: five convolutions
    (5x5, then 3x3, all keeping the size), overlapping 3x3 pooling of stride 2 after
    the first, second and fifth. Blocks: ``conv1`` ... ``conv5``."""
    c = channels
    pool = dict(_ALEXNET_POOL)
    blocks = [
        ("conv1", _conv_block(in_channels, c[0], 5, 2, activation, norm,
                              _pool(pooling, **pool))),
        ("conv2", _conv_block(c[0], c[1], 3, 1, activation, norm, _pool(pooling, **pool))),
        ("conv3", _conv_block(c[1], c[2], 3, 1, activation, norm)),
        ("conv4", _conv_block(c[2], c[3], 3, 1, activation, norm)),
        ("conv5", _conv_block(c[3], c[4], 3, 1, activation, norm, _pool(pooling, **pool))),
    ]
    return _finish(blocks, in_channels, image_size, global_pool, hidden, n_outputs,
                   activation, dropout)


def vgg(in_channels, n_outputs, image_size, channels=(16, 32, 64), blocks=(1, 1, 2),
        hidden=(128,), activation="relu", norm=None, pooling="max", global_pool=None,
        dropout=0.0):
    """VGG (Simonyan and Zisserman, 2014; §3.5.4): block ``i`` is ``blocks[i]`` 3x3
    convolutions of ``channels[i]`` filters, then a 2x2 pooling. Blocks: ``block1``,
    ..."""
    layers, c_in = [], in_channels
    for i, (n_convs, c_out) in enumerate(zip(blocks, channels), 1):
        convs = []
        for j in range(n_convs):
            convs.append((f"conv{j + 1}", _conv_block(c_in, c_out, 3, 1, activation, norm)))
            c_in = c_out
        convs.append(("pool", _pool(pooling, kernel_size=2, stride=2)))
        layers.append((f"block{i}", nn.Sequential(OrderedDict(convs))))
    return _finish(layers, in_channels, image_size, global_pool, hidden, n_outputs,
                   activation, dropout)


def resnet(in_channels, n_outputs, image_size, channels=(16, 32, 64), blocks=(2, 2, 2),
           hidden=(), activation="relu", norm="batch", pooling="max", global_pool="avg",
           dropout=0.0):
    """ResNet (He et al., 2016) for small images: a 3x3 ``stem``, then stage ``i``
    (``stage1``, ...) of ``blocks[i]`` :class:`BasicBlock` s of ``channels[i]``
    filters, the first of every later stage of stride 2. ``2 * sum(blocks) + 2``
    weighted layers. ``pooling`` is not used (strided convolutions downsample)."""
    layers = [("stem", _conv_block(in_channels, channels[0], 3, 1, activation, norm))]
    c_in = channels[0]
    for i, (n_blocks, c_out) in enumerate(zip(blocks, channels), 1):
        stage = [BasicBlock(c_in if j == 0 else c_out, c_out,
                            stride=2 if (i > 1 and j == 0) else 1,
                            activation=activation, norm=norm) for j in range(n_blocks)]
        layers.append((f"stage{i}", nn.Sequential(*stage)))
        c_in = c_out
    return _finish(layers, in_channels, image_size, global_pool, hidden, n_outputs,
                   activation, dropout)


def densenet(in_channels, n_outputs, image_size, channels=(12, 12, 12), blocks=(3, 3, 3),
             hidden=(), activation="relu", norm="batch", pooling="avg", global_pool="avg",
             dropout=0.0):
    """DenseNet (Huang et al., 2017; §3.5.5): a 3x3 ``stem`` of ``2 * channels[0]``
    filters, dense blocks ``dense1``, ... (``blocks[i]`` layers of growth rate
    ``channels[i]``), separated by transitions ``transition1``, ... (norm, activation,
    a 1x1 convolution halving the channels, a 2x2 pooling), and a final ``norm``
    block (norm and activation)."""
    c = 2 * channels[0]
    layers = [("stem", nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(in_channels, c, 3, padding=1, bias=norm is None))])))]
    for i, (n_layers, growth) in enumerate(zip(blocks, channels), 1):
        block = DenseBlock(c, n_layers, growth, activation, norm)
        layers.append((f"dense{i}", block))
        c = block.out_channels
        if i < len(blocks):
            c_out = max(1, int(c * _TRANSITION_COMPRESSION))
            layers.append((f"transition{i}", nn.Sequential(OrderedDict([
                ("norm", _norm(norm, c)), ("act", _act(activation)),
                ("conv", nn.Conv2d(c, c_out, 1, bias=norm is None)),
                ("pool", _pool(pooling, kernel_size=2, stride=2))]))))
            c = c_out
    layers.append(("final", nn.Sequential(OrderedDict([
        ("norm", _norm(norm, c)), ("act", _act(activation))]))))
    return _finish(layers, in_channels, image_size, global_pool, hidden, n_outputs,
                   activation, dropout)


_BUILDERS = {"lenet": lenet, "alexnet": alexnet, "vgg": vgg, "resnet": resnet,
             "densenet": densenet}


def build_cnn(architecture, in_channels, n_outputs, image_size, resize=None, **config):
    """The :class:`CNN` of ``architecture`` (a key of :data:`ARCHITECTURES`) for images of
    ``image_size`` ``(H, W)``; ``config`` overrides entries of :data:`DEFAULTS`
    (``channels``, ``blocks``, ``hidden``, ``activation``, ``norm``, ``pooling``,
    ``global_pool``) and sets ``dropout``. With ``resize=(h, w)`` the network starts
    with a :class:`Resize` block ``"resize"`` and is sized for ``(h, w)`` images."""
    params = dict(DEFAULTS[architecture])
    params.update(config)
    if params["blocks"] is None:  # LeNet and AlexNet have a fixed layout
        del params["blocks"]
    size = tuple(image_size) if resize is None else tuple(resize)
    net = _BUILDERS[architecture](in_channels, n_outputs, size, **params)
    if resize is not None:
        blocks = [("resize", Resize(size))] + [(n, getattr(net, n)) for n in net.feature_names]
        net = CNN(blocks, net.pool, net.head)
    return net


def _fits(architecture, in_channels, size, config):
    """Whether every block of ``architecture`` yields a non-empty map on images of
    ``size`` (a shape-only pass: nothing is allocated)."""
    try:
        with torch.device("meta"):
            build_cnn(architecture, in_channels, 1, size, **config)
    except RuntimeError:
        return False
    return True


def min_image_size(architecture, in_channels, config):
    """``(min_height, min_width)``: the smallest image the network of ``architecture``
    accepts (its convolutions and pooling must leave at least one pixel), each side
    searched with the other one large."""
    sizes = []
    for axis in (0, 1):
        def fits(s, axis=axis):
            size = [_LARGE, _LARGE]
            size[axis] = s
            return _fits(architecture, in_channels, size, config)
        hi = 1
        while not fits(hi):
            hi *= 2
            if hi > _LARGE:
                return None
        lo = hi // 2 + 1 if hi > 1 else 1
        while lo < hi:  # the smallest size that fits: sizes that fit are monotone
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
        sizes.append(lo)
    return tuple(sizes)


def augment_images(x, generator, flip=False, shift=0, crop=1.0):
    """Randomly transformed copies of the images ``x`` ``(n, C, H, W)``, each image
    drawn independently from ``generator`` (a ``torch.Generator`` on ``x``'s device):
    cropped to a random window of ``crop`` to 1 times each side and resized back to
    ``(H, W)`` (bilinear, ``F.affine_grid`` + ``F.grid_sample``), translated by up to
    ``shift`` whole pixels along each axis (zeros fill in), and mirrored left-right with
    probability 1/2 (``flip``). Shifts and flips move pixel values exactly."""
    n, _, h, w = x.shape
    opts = dict(device=x.device, dtype=x.dtype)
    if crop < 1.0:  # side fraction s ~ U(crop, 1), the window anywhere inside the image
        scale = crop + (1.0 - crop) * torch.rand(n, generator=generator, **opts)
        tx = (1.0 - scale) * (2 * torch.rand(n, generator=generator, **opts) - 1)
        ty = (1.0 - scale) * (2 * torch.rand(n, generator=generator, **opts) - 1)
        zeros = torch.zeros(n, **opts)
        theta = torch.stack([torch.stack([scale, zeros, tx], 1),
                             torch.stack([zeros, scale, ty], 1)], 1)
        grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
        x = nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                      align_corners=False)
    if shift > 0:  # a window of the zero-padded image, offset per image
        k = int(shift)
        padded = nn.functional.pad(x, (k, k, k, k))
        dy = torch.randint(-k, k + 1, (n,), generator=generator, device=x.device)
        dx = torch.randint(-k, k + 1, (n,), generator=generator, device=x.device)
        rows = (k - dy)[:, None] + torch.arange(h, device=x.device)  # (n, h)
        cols = (k - dx)[:, None] + torch.arange(w, device=x.device)  # (n, w)
        batch = torch.arange(n, device=x.device)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
        x = x.permute(0, 3, 1, 2).contiguous()
    if flip:
        mirror = torch.rand(n, generator=generator, device=x.device) < 0.5
        x = torch.where(mirror[:, None, None, None], x.flip(-1), x)
    return x


# ---------------------------------------------------------------------- map geometry

# positional arguments of the windowed operations whose geometry is followed
_WINDOW_ARGS = {
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding"),
}


def _two(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _window_grid(name, grid, args, kwargs):
    """The grid of a convolution's or pooling's output, from its input's: output cell
    ``j`` is centred on input cell ``j * stride - padding + dilation * (kernel - 1) /
    2``."""
    bound = dict(zip(_WINDOW_ARGS[name], args), **kwargs)
    if name == "conv2d":
        kernel = tuple(bound["weight"].shape[-2:])
        stride = _two(bound.get("stride", 1))
    else:
        kernel = _two(bound["kernel_size"])
        stride = _two(bound.get("stride") or kernel)  # None/(): the kernel size
    padding = bound.get("padding", 0)
    dilation = _two(bound.get("dilation", 1))
    if isinstance(padding, str):  # "valid": none; "same" (stride 1): centred
        padding = tuple(d * (k - 1) / 2 for k, d in zip(kernel, dilation)) \
            if padding == "same" else (0, 0)
    padding = _two(padding)
    return tuple((o + t * (d * (k - 1) / 2 - p), t * st) for (o, t), k, st, p, d
                 in zip(grid, kernel, stride, padding, dilation))


def _resize_grid(grid, size_in, size_out, bound):
    """The grid of an ``F.interpolate`` output: output cell ``j`` samples input cell
    ``(j + 1/2) * scale - 1/2`` (``align_corners=False``), ``j * (n_in - 1) / (n_out -
    1)`` (``align_corners=True``) or ``j * scale`` (``mode="nearest"``)."""
    factor = bound.get("scale_factor")
    out = []
    for axis, ((o, t), n_in, n_out) in enumerate(zip(grid, size_in, size_out)):
        if bound.get("align_corners"):
            scale, shift = (n_in - 1) / max(n_out - 1, 1), 0.0
        else:
            if factor is not None and not bound.get("recompute_scale_factor"):
                f = factor if isinstance(factor, (int, float)) else factor[axis]
                scale = 1.0 / f
            else:
                scale = n_in / n_out
            shift = 0.0 if bound.get("mode", "nearest") == "nearest" else 0.5 * scale - 0.5
        out.append((o + t * shift, t * scale))
    return tuple(out)


class _GridTracker(TorchFunctionMode):
    """Follows, through every torch operation of a forward pass, where the cells of
    each 4-D tensor lie in the input image: per spatial axis ``(offset, step)``, cell
    ``j`` centred on input coordinate ``offset + step * j`` (pixel ``i`` at ``i``).
    Convolutions, poolings and ``F.interpolate`` move and stretch the grid;
    operations that keep the spatial size (activations, normalisation, sums,
    concatenations) keep their first input's; any other leaves its output
    untracked."""

    def __init__(self):
        super().__init__()
        self._grids = {}  # id -> (tensor, grid): the tensor is kept so ids stay unique

    def grid(self, t):
        entry = self._grids.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def track(self, t, grid):
        self._grids[id(t)] = (t, grid)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not (torch.is_tensor(out) and out.ndim == 4):
            return out
        inputs = [a for a in (*args, *kwargs.values()) for a in
                  (a if isinstance(a, (list, tuple)) else (a,))]
        src = next((a for a in inputs if torch.is_tensor(a) and a.ndim == 4
                    and self.grid(a) is not None), None)
        if src is None:
            return out
        name = getattr(func, "__name__", "")
        if name in _WINDOW_ARGS:
            grid = _window_grid(name, self.grid(src), args, kwargs)
        elif name == "interpolate":
            bound = dict(zip(("input", "size", "scale_factor", "mode", "align_corners",
                              "recompute_scale_factor"), args), **kwargs)
            grid = _resize_grid(self.grid(src), src.shape[-2:], out.shape[-2:], bound)
        elif out.shape[-2:] == src.shape[-2:]:
            grid = self.grid(src)
        else:
            return out
        self.track(out, grid)
        return out


def output_grid(module, layer, x):
    """Where the cells of ``layer``'s output map lie in the input image.

    Runs ``module`` on ``x`` (one image is enough) and follows the geometry of every
    convolution, pooling and resize on the way to ``layer`` (:class:`_GridTracker`).

    Parameters
    ----------
    module : nn.Module
        The network, in the mode wanted (e.g. ``eval()``).
    layer : nn.Module
        A submodule of ``module`` whose output is a map ``(n, K, h, w)``.
    x : torch.Tensor of shape (n, C, H, W)
        Input images.

    Returns
    -------
    grid : ((float, float), (float, float)) or None
        ``((offset_y, step_y), (offset_x, step_x))``: cell ``(i, j)`` of the map is
        centred on input pixel coordinates ``(offset_y + step_y * i, offset_x + step_x
        * j)``, pixel ``(r, c)`` of ``x`` being at ``(r, c)``. None where the map's
        geometry could not be followed.
    """
    captured = {}

    def keep(_, __, output):
        captured.setdefault("out", output)
    hook = layer.register_forward_hook(keep)
    try:
        with torch.no_grad(), _GridTracker() as tracker:
            tracker.track(x, ((0.0, 1.0), (0.0, 1.0)))
            module(x)
            out = captured.get("out")
            return tracker.grid(out) if torch.is_tensor(out) else None
    finally:
        hook.remove()


def map_to_input(maps, size, grid=None):
    """Maps ``(n, h, w)`` of a layer resampled bilinearly to the input's ``size``
    ``(H, W)``, each input pixel reading the map where it lies on the layer's grid
    (:func:`output_grid`), constant beyond the outermost cells.

    A network that downsamples by 2 with a 3x3 convolution of padding 1 centres cell
    ``j`` on pixel ``2 j``, not on ``2 j + 1/2`` as a plain resize of the map
    (``F.interpolate``, ``align_corners=False``) assumes: the plain resize shifts the
    map by half a pixel per such halving (1.5 pixels after two). ``grid=None`` is
    that plain resize (the map is taken to tile the image evenly).
    """
    h, w = maps.shape[-2:]
    H, W = size
    if grid is None:
        grid = ((0.5 * H / h - 0.5, H / h), (0.5 * W / w - 0.5, W / w))
    (oy, sy), (ox, sx) = grid
    if (h, w) == (H, W) and (oy, sy, ox, sx) == (0.0, 1.0, 0.0, 1.0):
        return maps
    opts = dict(device=maps.device, dtype=maps.dtype)
    # input pixel r reads map row (r - oy) / sy; grid_sample's align_corners=True puts
    # rows 0 and h - 1 at -1 and 1, and padding_mode="border" holds the edge values
    gy = (torch.arange(H, **opts) - oy) / sy
    gx = (torch.arange(W, **opts) - ox) / sx
    gy = 2 * gy / (h - 1) - 1 if h > 1 else torch.zeros_like(gy)
    gx = 2 * gx / (w - 1) - 1 if w > 1 else torch.zeros_like(gx)
    coords = torch.stack(torch.broadcast_tensors(gx[None, :], gy[:, None]), -1)
    coords = coords.expand(len(maps), H, W, 2)
    return nn.functional.grid_sample(maps[:, None], coords, mode="bilinear",
                                     padding_mode="border", align_corners=True)[:, 0]
