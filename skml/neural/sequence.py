"""Transformer encoders as estimators: classification and regression of token sequences
and numeric sequences, and the attention maps they compute.

The networks are plain ``torch.nn`` modules (``skml/neural/_modules/attention.py``:
self-attention written from Definition 3.100 of the notes, pre-norm encoder blocks);
the estimators here convert sequences to and from them and train them with the one loop
of :class:`~skml.neural.NeuralEstimator`. torch is imported lazily: this module imports
without it, and :class:`MultiHeadSelfAttention` is loaded on first access.
"""
import numbers

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from skml.neural._base import (
    MAX_WIDTH,
    NeuralEstimator,
    as_float32,
    training_params,
)
from skml.utils import store_init_params
from skml.neural._docs import fill
from skml.neural._mixins import NeuralClassifierMixin, NeuralRegressorMixin
from skml.neural.vision import _n_dims
from skml.utils import Interval, StrOptions

__all__ = ["MultiHeadSelfAttention", "TransformerClassifier", "TransformerRegressor"]

_MAX_LEN = 2**20  # longest max_len: learned positions hold max_len x d_model weights
_MAX_VOCAB = 2**31 - 1


def __getattr__(name):
    # the torch module, imported only when asked for (importing this module never
    # imports torch)
    if name == "MultiHeadSelfAttention":
        from skml.neural._modules.attention import MultiHeadSelfAttention

        return MultiHeadSelfAttention
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_REFERENCES = """\
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.5.7: self-attention
       (Definition 3.100, Remarks 3.91-3.94) and the encoder layer (Example 55).
    .. [2] A. Vaswani, N. Shazeer, N. Parmar, J. Uszkoreit, L. Jones, A. N. Gomez,
       L. Kaiser and I. Polosukhin, "Attention Is All You Need", NeurIPS 2017.
    .. [3] J. Devlin, M.-W. Chang, K. Lee and K. Toutanova, "BERT: Pre-training of Deep
       Bidirectional Transformers for Language Understanding", NAACL 2019 (the
       ``[CLS]`` vector).
    .. [4] R. Xiong et al., "On Layer Normalization in the Transformer Architecture",
       ICML 2020 (pre-norm blocks)."""

_NETWORK_PARAMS = """\
    vocab_size : int or None, default=None
        Size of the token vocabulary: ``X`` holds token ids in ``[0, vocab_size)``
        (embedded by ``torch.nn.Embedding``). ``None``: ``X`` holds numeric sequences,
        projected linearly to ``d_model`` (see Notes for the shapes).
    padding_idx : int or None, default=None
        The token id that pads sequences (token input only, in ``[0, vocab_size)``):
        padding positions get zero attention weight as keys, are left out of mean
        pooling, and their embedding is fixed at zero. Needed to give ragged sequences
        (a list of token lists of different lengths), which are padded at the end.
    d_model : int, default=64
        Features of each position inside the network.
    n_heads : int, default=4
        Attention heads per layer; must divide ``d_model``.
    n_layers : int, default=2
        Encoder blocks.
    dim_feedforward : int, default=128
        Hidden units of each block's feed-forward network.
    dropout : float, default=0.1
        Dropout after the embedding, on the attention weights, inside the feed-forward
        network and on each block's residual branches, in [0, 1).
    max_len : int, default=512
        Longest sequence accepted (without the ``[CLS]`` position).
    positional_encoding : {"learned", "sinusoidal"}, default="learned"
        Added to the embeddings: a learned vector per position, or Vaswani et al.'s
        fixed sines and cosines.
    pooling : {"cls", "mean"}, default="cls"
        How the sequence becomes one vector for the output layer: the output at a
        learned ``[CLS]`` vector prepended to every sequence, or the mean of the
        outputs of the non-padding positions."""

_ATTRIBUTES = """\
    n_outputs_ : int
        Output units.
    module_ : torch.nn.Module
        The trained network (``skml.neural._modules.attention.SequenceTransformer``)."""

_INPUT_NOTE = """\
    Input contract (declared in ``__sklearn_tags__`` as ``three_d_array``):

    * ``vocab_size`` given: token ids, an integer-valued array ``(n_samples,
      length)`` or a list of 1-D token sequences; sequences of different lengths
      need ``padding_idx`` (else a ``ValueError``), and every id other than the
      padding must lie in ``[0, vocab_size)`` (else a ``ValueError``).
      ``n_features_in_`` is the (padded) training length; sequences of any length up
      to ``max_len`` are accepted at prediction.
    * ``vocab_size=None``: numeric sequences ``(n_samples, length, n_features)``
      (``n_features_in_`` = ``n_features``; any length up to ``max_len`` at
      prediction), or a 2-D table ``(n_samples, length)`` read as sequences of one
      feature per position. A table keeps scikit-learn's contract: predictions need
      the same ``n_features_in_`` columns. scikit-learn's estimator checks run on such
      tables.

    The network computes in float32: sklearn's
    ``check_sample_weight_equivalence_on_dense_data`` is expected to fail at its 1e-7
    tolerance (``skml/utils/_test_common.py``), as for the MLPs."""


def _is_ragged_list(X):
    """Whether ``X`` is a list/tuple (or 1-D object array) of sequences, which may have
    different lengths."""
    if isinstance(X, np.ndarray):
        return X.dtype == object and X.ndim == 1
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(
        np.ndim(s) == 1 for s in X) and len({len(s) for s in X}) > 1




class _BaseTransformer(NeuralEstimator):
    """Shared parts of the transformer estimators: the sequences and the network."""

    _parameter_constraints = {
        "vocab_size": [None, Interval(numbers.Integral, 1, _MAX_VOCAB)],
        "padding_idx": [None, Interval(numbers.Integral, 0, _MAX_VOCAB)],
        "d_model": [Interval(numbers.Integral, 1, MAX_WIDTH)],
        "n_heads": [Interval(numbers.Integral, 1, MAX_WIDTH)],
        "n_layers": [Interval(numbers.Integral, 1, 1024)],
        "dim_feedforward": [Interval(numbers.Integral, 1, MAX_WIDTH)],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "max_len": [Interval(numbers.Integral, 1, _MAX_LEN)],
        "positional_encoding": [StrOptions({"learned", "sinusoidal"})],
        "pooling": [StrOptions({"cls", "mean"})],
    }
    # attention maps grow with length^2: fewer sequences per forward pass at inference
    _inference_batch_size = 512

    def _check_params(self):
        super()._check_params()
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads must divide d_model, got n_heads={self.n_heads} "
                             f"and d_model={self.d_model}.")
        if self.padding_idx is not None:
            if self.vocab_size is None:
                raise ValueError("padding_idx is for token sequences: it needs "
                                 "vocab_size (got vocab_size=None).")
            if self.padding_idx >= self.vocab_size:
                raise ValueError(f"padding_idx must be in [0, vocab_size - 1] = [0, "
                                 f"{self.vocab_size - 1}], got {self.padding_idx}.")

    # ------------------------------------------------------------------ the sequences

    def _tokens(self, X, *, reset):
        """Token ids as an int64 array ``(n, length)``, padded with ``padding_idx``."""
        if _is_ragged_list(X):
            seqs = [np.asarray(s) for s in X]
            if self.padding_idx is None:
                lengths = sorted({len(s) for s in seqs})
                raise ValueError(
                    f"X holds sequences of different lengths ({lengths[0]} to "
                    f"{lengths[-1]}): ragged sequences need padding_idx (the token id "
                    "they are padded with), which is None.")
            if any(s.ndim != 1 for s in seqs):
                raise ValueError("X must be a list of 1-D token sequences.")
            length = max(len(s) for s in seqs)
            arr = np.full((len(seqs), length), self.padding_idx, dtype=np.float64)
            for i, s in enumerate(seqs):
                arr[i, :len(s)] = check_array(s.reshape(1, -1), dtype=np.float64,
                                              ensure_min_features=0, input_name="X")[0]
        else:
            arr = check_array(X, dtype=np.float64, input_name="X")
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError("X must hold integer token ids when vocab_size is given, "
                             "got non-integer values.")
        pad = self.padding_idx
        bad = (arr < 0) | (arr >= self.vocab_size)
        if pad is not None:
            bad &= arr != pad
        if bad.any():
            # Python ints: an id beyond the int64 range must not wrap in the message
            values = np.unique(arr[bad])
            raise ValueError(
                f"X holds token ids outside [0, vocab_size) = [0, {self.vocab_size}): "
                f"{[int(v) for v in values[:5]]}{' ...' if len(values) > 5 else ''}; "
                "raise vocab_size or map the tokens into it.")
        tokens = arr.astype(np.int64)
        self._check_length(tokens.shape[1])
        if reset:
            self.n_features_in_ = tokens.shape[1]
        return tokens

    def _check_length(self, length):
        if not 1 <= length <= self.max_len:
            raise ValueError(f"X holds sequences of length {length}; this "
                             f"{type(self).__name__} takes lengths from 1 to max_len="
                             f"{self.max_len}.")

    def _sequences(self, X, y="no_validation", *, reset, y_numeric=False):
        """``(network input, dtype of the outputs, y)``: int64 tokens ``(n, L)`` or
        float32 sequences ``(n, L, F)``; ``y`` validated when given (numeric for
        ``y_numeric``; a column ``(n, 1)`` of labels becomes 1-D, with a warning)."""
        has_y = not (isinstance(y, str) and y == "no_validation")
        if self.vocab_size is not None:
            seqs, dtype = self._tokens(X, reset=reset), np.float64
        else:
            if _is_ragged_list(X) or (isinstance(X, np.ndarray) and X.dtype == object
                                      and X.ndim == 1):
                raise ValueError(
                    "X holds sequences of different lengths: ragged input is only "
                    "accepted for token sequences (vocab_size and padding_idx given); "
                    "give numeric sequences as an array (n_samples, length, n_features).")
            ndim = _n_dims(X)
            if ndim == 3:
                arr = check_array(X, allow_nd=True, dtype=(np.float64, np.float32),
                                  input_name="X")
                if reset:
                    self.n_features_in_ = arr.shape[2]
                    self._table_input = False
                elif self._table_input:
                    raise ValueError(
                        f"{type(self).__name__} was fitted on a 2-D table (one feature "
                        f"per position, {self.n_features_in_} positions); X is 3-D.")
                elif arr.shape[2] != self.n_features_in_:
                    raise ValueError(
                        f"X has {arr.shape[2]} features per position, but "
                        f"{type(self).__name__} was fitted on {self.n_features_in_}.")
                self._check_length(arr.shape[1])
                seqs, dtype = as_float32(arr), arr.dtype
            else:
                if not reset and not self._table_input:
                    raise ValueError(
                        f"{type(self).__name__} was fitted on sequences (n_samples, "
                        f"length, {self.n_features_in_}); X must be 3-D as well.")
                if has_y:
                    X, y = validate_data(self, X, y, reset=reset,
                                         dtype=(np.float64, np.float32),
                                         multi_output=True, y_numeric=y_numeric)
                else:
                    X = validate_data(self, X, reset=reset,
                                      dtype=(np.float64, np.float32))
                if reset:
                    self._table_input = True
                self._check_length(X.shape[1])
                seqs, dtype = as_float32(X)[:, :, None], X.dtype
        if has_y:
            y = check_array(y, ensure_2d=False, dtype="numeric" if y_numeric else None,
                            input_name="y")
            if not y_numeric and y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
            check_consistent_length(seqs, y)
        if reset:
            self._n_seq_features = 1 if seqs.ndim == 2 else seqs.shape[2]
        return seqs, dtype, (y if not (isinstance(y, str)) else None)

    def _predict_input(self, X):
        check_is_fitted(self, "module_")
        seqs, dtype, _ = self._sequences(X, reset=False)
        return seqs, dtype

    # ------------------------------------------------------------------ the network

    def _build_module(self):
        from skml.neural._modules.attention import SequenceTransformer

        return SequenceTransformer(
            self.n_outputs_, vocab_size=self.vocab_size, n_features=self._n_seq_features,
            padding_idx=self.padding_idx, d_model=self.d_model, n_heads=self.n_heads,
            n_layers=self.n_layers, dim_feedforward=self.dim_feedforward,
            dropout=float(self.dropout), max_len=self.max_len,
            positional_encoding=self.positional_encoding, pooling=self.pooling)

    def attention_weights(self, X):
        """The attention maps of every layer and head (eval mode, no dropout).

        Parameters
        ----------
        X : array-like of shape (n_samples, length) or (n_samples, length, n_features),\
 or list of 1-D token sequences
            Sequences, as for ``predict``.

        Returns
        -------
        weights : ndarray of shape (n_layers, n_samples, n_heads, L, L), dtype float32
            ``weights[l, i, h, q, k]``: how much position ``q`` attends to position
            ``k`` in head ``h`` of layer ``l`` for sequence ``i``; each row sums to 1
            over the keys, padding keys get exactly 0. With ``pooling="cls"``, ``L =
            length + 1`` and position 0 is the ``[CLS]`` vector (so ``weights[:, :, :,
            0]`` is what the pooled output reads); else ``L = length``. Ragged token
            lists are padded to their longest sequence first.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            On input that ``predict`` refuses.
        """
        seqs, _ = self._predict_input(X)
        _, maps = self._forward(seqs, fn=lambda module, xb: module(xb, return_attention=True))
        return np.ascontiguousarray(maps.swapaxes(0, 1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # sequences (n, length, n_features)
        return tags


class TransformerClassifier(NeuralClassifierMixin, _BaseTransformer):
    """Transformer encoder classifier of sequences, trained with PyTorch.

    Token embeddings (or a linear projection of numeric features) plus learned or
    sinusoidal positional encodings, ``n_layers`` pre-norm encoder blocks of
    multi-head self-attention (Definition 3.100 of the notes, computed by
    :class:`MultiHeadSelfAttention`) and a feed-forward network, a final layer norm,
    ``[CLS]`` or mean pooling, and a linear output layer trained on the cross-entropy
    of a softmax over the classes. The training parameters are scikit-learn's
    ``MLPClassifier`` vocabulary. Labels may be of any type.

    Parameters
    ----------
%(network_params)s
    %(training_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
%(attributes)s
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit`` and prediction: ragged token sequences without ``padding_idx``,
        token ids outside ``[0, vocab_size)``, non-integer tokens, sequences longer than
        ``max_len``, input of another shape than in training, ``n_heads`` not dividing
        ``d_model``, ``padding_idx`` without ``vocab_size``, multilabel targets, a
        diverging loss.

    See Also
    --------
    TransformerRegressor : The same network for regression.
    MultiHeadSelfAttention : The attention layer.
    MLPClassifier : A fully connected network on flat features.

    Notes
    -----
%(input_note)s

    References
    ----------
%(references)s

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neural import TransformerClassifier
    >>> X = np.random.RandomState(0).randint(1, 6, size=(40, 8))
    >>> y = (X[:, 0] > X[:, -1]).astype(int)
    >>> clf = TransformerClassifier(vocab_size=6, padding_idx=0, d_model=16, n_heads=2,
    ...                             n_layers=1, max_iter=3, random_state=0).fit(X, y)
    >>> clf.attention_weights([[1, 2, 3], [4, 5]]).shape
    (1, 2, 2, 4, 4)
    """

    def __init__(self, vocab_size=None, *, padding_idx=None, d_model=64, n_heads=4,
                 n_layers=2, dim_feedforward=128, dropout=0.1, max_len=512,
                 positional_encoding="learned", pooling="cls", solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None, classes=None):
        if y is None:
            raise ValueError(f"This {type(self).__name__} estimator requires y to be "
                             "passed, but the target y is None.")
        seqs, dtype, y = self._sequences(X, y, reset=reset)
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} takes one label per sequence (binary "
                             f"or multiclass), got {type_of_target(y)} targets.")
        labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        if reset:
            self.classes_ = labels
            self.n_outputs_ = max(len(labels), 1)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(f"y contains labels {unknown!r} that are not in classes_ "
                             f"{self.classes_!r}.")
        weight = self._sample_weight(sample_weight, len(y))
        target = np.searchsorted(self.classes_, y).astype(np.int64)
        return seqs, target, weight


class TransformerRegressor(NeuralRegressorMixin, _BaseTransformer):
    """Transformer encoder regressor of sequences, trained with PyTorch.

    The network of :class:`TransformerClassifier` with a linear output layer of one
    unit per target, trained on half the squared error (as scikit-learn's
    ``MLPRegressor``). Multi-output targets are supported.

    Parameters
    ----------
%(network_params)s
    normalize_y : bool, default=False
        Train on standardised targets (mean 0, variance 1 per output) and map the
        predictions back, as :class:`MLPRegressor`'s ``normalize_y``.
    %(training_params)s

    Attributes
    ----------
%(attributes)s
    %(training_attributes)s

    Raises
    ------
    ValueError
        As :class:`TransformerClassifier` (but any numeric targets).

    See Also
    --------
    TransformerClassifier : The classification counterpart.

    Notes
    -----
%(input_note)s

    References
    ----------
%(references)s

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neural import TransformerRegressor
    >>> X = np.random.RandomState(0).rand(40, 6, 2)
    >>> reg = TransformerRegressor(d_model=16, n_heads=2, n_layers=1, max_iter=3,
    ...                            random_state=0).fit(X, X.sum(axis=(1, 2)))
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {"normalize_y": ["boolean"]}

    def __init__(self, vocab_size=None, *, padding_idx=None, d_model=64, n_heads=4,
                 n_layers=2, dim_feedforward=128, dropout=0.1, max_len=512,
                 positional_encoding="learned", pooling="cls", normalize_y=False,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.normalize_y = normalize_y

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        if y is None:
            raise ValueError(f"This {type(self).__name__} estimator requires y to be "
                             "passed, but the target y is None.")
        seqs, dtype, y = self._sequences(X, y, reset=reset, y_numeric=True)
        weight = self._sample_weight(sample_weight, len(y))
        Y = self._target_columns(y, weight, reset=reset)
        return seqs, self._training_target(Y), weight


for _cls in (TransformerClassifier, TransformerRegressor):
    _cls.__doc__ = fill(_cls.__doc__, network_params=_NETWORK_PARAMS,
                        attributes=_ATTRIBUTES, input_note=_INPUT_NOTE,
                        references=_REFERENCES)
