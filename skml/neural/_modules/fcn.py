"""A fully convolutional encoder-decoder for per-pixel labels (§3.2 of the notes: FCN,
transposed versus resize convolution, Definitions 3.33-3.34, Remarks 3.24-3.30).

The encoder halves the resolution ``len(channels) - 1`` times (2x2 max pooling); the
decoder doubles it back, each time adding the encoder's map of that resolution (FCN's
skip connections, Long et al.) or stacking it with the upsampled map along the channels
(U-Net's, Ronneberger et al.: ``skip="concat"``), and a 1x1 convolution gives one score
per class and pixel. The upsampling is a transposed convolution or a resize (nearest
neighbour) followed by a convolution: the first, with a kernel (3) not divisible by its
stride (2), overlaps its outputs unevenly and tends to leave checkerboard artifacts
(Odena et al.), which :func:`checkerboard_energy` measures. Images of any size are
padded to a multiple of ``2 ** (len(channels) - 1)`` and the scores cropped back.
Nothing here knows about scikit-learn::

    net = FCN(in_channels=3, n_classes=4, channels=(16, 32), upsample="resize_conv")
    scores = net(torch.zeros(2, 3, 24, 24))  # (2, 4, 24, 24)
"""
from collections import OrderedDict

import torch
from torch import nn

from skml.neural._modules.cnn import _act, _norm

__all__ = ["FCN", "SKIPS", "UPSAMPLINGS", "checkerboard_energy"]

UPSAMPLINGS = ("transposed", "resize_conv")
SKIPS = ("sum", "concat")


def _double_conv(c_in, c_out, activation, norm):
    bias = norm is None
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)),
        ("norm1", _norm(norm, c_out)), ("act1", _act(activation)),
        ("conv2", nn.Conv2d(c_out, c_out, 3, padding=1, bias=bias)),
        ("norm2", _norm(norm, c_out)), ("act2", _act(activation))]))


def _upsampler(kind, c_in, c_out):
    """x2 upsampling from ``c_in`` to ``c_out`` channels."""
    if kind == "transposed":
        # kernel 3, stride 2: output pixels get one, two or four kernel taps in turn
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
    return nn.Sequential(OrderedDict([
        ("resize", nn.Upsample(scale_factor=2, mode="nearest")),
        ("conv", nn.Conv2d(c_in, c_out, 3, padding=1))]))


class FCN(nn.Module):
    """Encoder-decoder of ``len(channels)`` resolutions with skip connections.

    Parameters
    ----------
    in_channels : int
        Channels of the images.
    n_classes : int
        Scores per pixel.
    channels : sequence of int, default=(16, 32, 64)
        Filters at each resolution, from the input's down.
    upsample : {"transposed", "resize_conv"}, default="transposed"
        How the decoder doubles the resolution.
    activation : str, default="relu"
    norm : {"batch", "layer"} or None, default="batch"
    skip : {"sum", "concat"}, default="sum"
        A decoder block gets the upsampled map plus the encoder's map of its
        resolution, or the two stacked (its first convolution then reads twice the
        channels).
    """

    def __init__(self, in_channels, n_classes, channels=(16, 32, 64), upsample="transposed",
                 activation="relu", norm="batch", skip="sum"):
        super().__init__()
        if skip not in SKIPS:
            raise ValueError(f"skip must be one of {SKIPS}, got {skip!r}.")
        channels = tuple(channels)
        self.skip = skip
        self.n_down = len(channels) - 1
        self.encoder = nn.ModuleList()
        c_in = in_channels
        for c in channels:
            self.encoder.append(_double_conv(c_in, c, activation, norm))
            c_in = c
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for c_hi, c_lo in zip(channels[-2::-1], channels[:0:-1]):
            self.up.append(_upsampler(upsample, c_lo, c_hi))
            c_cat = 2 * c_hi if skip == "concat" else c_hi
            self.decoder.append(_double_conv(c_cat, c_hi, activation, norm))
        self.classifier = nn.Conv2d(channels[0], n_classes, 1)

    def decode(self, x):
        """The last decoder map ``(n, channels[0], H, W)``, before the classifier."""
        h, w = x.shape[-2:]
        m = 2 ** self.n_down
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:  # replicate the border: no artificial edge at the padding
            x = nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        encoded = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else self.pool(x))
            encoded.append(x)
        for up, block, enc in zip(self.up, self.decoder, encoded[-2::-1]):
            x = up(x)
            x = block(torch.cat([x, enc], 1) if self.skip == "concat" else x + enc)
        return x[..., :h, :w]

    def forward(self, x):
        return self.classifier(self.decode(x))


def checkerboard_energy(maps):
    """Share of the spectral energy of ``maps`` ``(..., H, W)`` (their mean removed per
    map) at high spatial frequencies: where either frequency exceeds a quarter cycle per
    pixel, the band of a period-2 checkerboard. About 0.75 for white noise, near 0 for
    smooth maps; a float per map."""
    x = maps - maps.mean((-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square()
    fy = torch.fft.fftfreq(x.shape[-2], device=x.device).abs()
    fx = torch.fft.fftfreq(x.shape[-1], device=x.device).abs()
    high = (fy[:, None] > 0.25) | (fx[None, :] > 0.25)
    total = power.sum((-2, -1))
    share = (power * high).sum((-2, -1)) / torch.where(total > 0, total, 1.0)
    return torch.where(total > 0, share, torch.zeros_like(share))
