"""The autoencoder network (Example 43 of the notes): an encoder MLP to a code and a
decoder MLP back to the input space. (A denoising autoencoder, Example 44, corrupts its
inputs in the estimator's training step, not here.)"""
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

    ``forward`` returns ``(code, reconstruction)``.
    """

    def __init__(self, n_features, encoder_hidden, n_components, decoder_hidden,
                 activation="relu", code_activation=None, output_activation=None):
        super().__init__()
        self.encoder = MLP(n_features, encoder_hidden, n_components, activation,
                           out_activation=code_activation)
        self.decoder = MLP(n_components, decoder_hidden, n_features, activation,
                           out_activation=output_activation)

    def forward(self, x):
        code = self.encoder(x)
        return code, self.decoder(code)
