"""The autoencoder network (Example 43 of the notes): an encoder MLP to a code, a decoder
MLP back to the input space, and optional Gaussian input noise for denoising (Example 44)."""
import torch
from torch import nn

from skml.neural._modules.mlp import MLP

__all__ = ["AutoEncoderNet"]


class AutoEncoderNet(nn.Module):
    """``x -> code -> reconstruction``.

    Parameters
    ----------
    n_features : int
        Input (and reconstruction) width.
    encoder_hidden, decoder_hidden : sequence of int
        Hidden widths of the encoder and of the decoder.
    n_components : int
        Width of the code.
    activation : str
        Hidden activation (a key of ``skml.neural._modules.mlp.ACTIVATIONS``).
    code_activation, output_activation : str or None
        Activation applied to the code and to the reconstruction.
    noise : float
        Standard deviation of the Gaussian noise added to the input in training mode only
        (a denoising autoencoder); 0 disables it.

    ``forward`` returns ``(code, reconstruction)``.
    """

    def __init__(self, n_features, encoder_hidden, n_components, decoder_hidden,
                 activation="relu", code_activation=None, output_activation=None, noise=0.0):
        super().__init__()
        self.encoder = MLP(n_features, encoder_hidden, n_components, activation,
                           out_activation=code_activation)
        self.decoder = MLP(n_components, decoder_hidden, n_features, activation,
                           out_activation=output_activation)
        self.noise = float(noise)

    def forward(self, x):
        if self.training and self.noise > 0:
            x = x + self.noise * torch.randn_like(x)
        code = self.encoder(x)
        return code, self.decoder(code)
