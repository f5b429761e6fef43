"""Representation learning as estimators: SimCLR, a CLIP-style dual encoder and triplet
embeddings.

The networks, losses and augmentations are plain torch code in
``skml/neural/_modules/contrastive.py``; the estimators here validate data and train
them with the one loop of :class:`~skml.neural.NeuralEstimator` (their own
``_train_step`` draws the augmentations and mines the triplets from the loop's seeded
generator). torch is imported lazily.
"""
import math
import numbers

import numpy as np
from scipy import sparse
from scipy.special import softmax
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skml.neural._base import (
    NeuralEstimator,
    _derived_seed,
    _torch,
    as_float32,
    classes_and_codes,
    require_y,
    training_params,
)
from skml.neural._docs import fill
from skml.neural._mixins import NeuralTransformerMixin
from skml.neural.mlp import ACTIVATIONS, check_hidden_layer_sizes
from skml.utils import Interval, StrOptions, store_init_params

__all__ = ["DualEncoder", "ImageAugmentation", "RowAugmentation", "SimCLR",
           "TripletEmbedding"]

_ENCODERS = ("auto", "mlp", "lenet", "alexnet", "vgg", "resnet", "densenet")
_MAX_WIDTH = 2**20

_INPUT_NOTE = """\
    ``X`` is a table ``(n_samples, n_features)``, or images ``(n_samples, channels,
    height, width)`` / ``(n_samples, height, width)``, or flat image rows with
    ``image_shape``; ``n_features_in_`` is the number of values per sample."""

_ENCODER_PARAMS = """\
    encoder : {"auto", "mlp", "lenet", "alexnet", "vgg", "resnet", "densenet"}, \
default="auto"
        The encoder network ``f``: ``"mlp"``, a fully connected network of
        ``hidden_layer_sizes`` over flat rows, or one of the CNN backbones of
        :class:`~skml.neural.CNNClassifier` over images (its output layer gives the
        ``n_components`` features). ``"auto"``: ``"resnet"`` for images (4-D/3-D ``X``
        or ``image_shape`` set), ``"mlp"`` for tables.
    hidden_layer_sizes : tuple of int, default=(128,)
        Hidden widths of the ``"mlp"`` encoder.
    channels : "auto" or tuple of int, default="auto"
        Filters of a CNN encoder (one block per width for VGG, ResNet and DenseNet);
        ``"auto"``: the architecture's defaults.
    activation : str, default="relu"
        Activation of the ``"mlp"`` encoder (a name of ``MLPClassifier``'s
        ``activation``).
    image_shape : tuple of int or None, default=None
        ``(channels, height, width)`` or ``(height, width)`` of flat image rows;
        read from ``X`` when images are given."""

_ENCODER_ATTRIBUTES = """\
    image_shape_ : tuple of int or None
        ``(channels, height, width)`` of the training images, None for tables."""


def _n_dims(X):
    if sparse.issparse(X) or hasattr(X, "columns"):
        return 2
    shape = getattr(X, "shape", None)
    return len(shape) if shape is not None else np.asarray(X).ndim


def _n_rows(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape):
        return int(shape[0])
    try:
        return len(X)
    except TypeError:  # an array-like without len (e.g. an __array__ wrapper)
        return len(np.asarray(X))


def _image_shape(value, name):
    """``(C, H, W)`` from a 2- or 3-tuple of positive ints (None stays None)."""
    if value is None:
        return None
    if not (isinstance(value, (tuple, list)) and len(value) in (2, 3)
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                    for v in value)):
        raise ValueError(f"{name} must be (channels, height, width) or (height, width) of "
                         f"positive ints, got {value!r}.")
    value = tuple(int(v) for v in value)
    return value if len(value) == 3 else (1,) + value


def _flatten_images(X, name):
    """``(X as flat rows or unchanged, (C, H, W) of given images or None)``."""
    if _n_dims(X) in (3, 4):
        arr = check_array(X, allow_nd=True, dtype=(np.float64, np.float32),
                          input_name=name)
        shape = tuple(arr.shape[1:]) if arr.ndim == 4 else (1,) + tuple(arr.shape[1:])
        return arr.reshape(len(arr), -1), shape
    return X, None


def _network_input(X, shape):
    """``X`` as the network's float32 input: rows, or images of ``shape``."""
    X32 = as_float32(X)
    return X32 if shape is None else X32.reshape(len(X32), *shape)




class _EmbeddingEstimator(NeuralEstimator):
    """Shared parts of the representation learners: the encoder and its inputs."""

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, _MAX_WIDTH)],
        "encoder": [StrOptions(set(_ENCODERS))],
        "hidden_layer_sizes": [tuple, list],
        "channels": [StrOptions({"auto"}), tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "image_shape": [None, tuple, list],
    }
    _inference_batch_size = 1024

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        self._channels()
        _image_shape(self.image_shape, "image_shape")

    def _channels(self):
        if isinstance(self.channels, str):
            return None
        ch = tuple(self.channels)
        if not ch or not all(isinstance(c, numbers.Integral) and not isinstance(c, bool)
                             and 1 <= c <= _MAX_WIDTH for c in ch):
            raise ValueError(f"channels must be 'auto' or a non-empty tuple of ints in "
                             f"[1, {_MAX_WIDTH}], got {self.channels!r}.")
        return tuple(int(c) for c in ch)

    # ------------------------------------------------------------------ inputs

    def _resolve_shape(self, shape, n_features, param, param_name, encoder):
        """The ``(C, H, W)`` of the inputs (None for tables) and the encoder kind."""
        given = _image_shape(param, param_name)
        if shape is None and given is not None:
            if int(np.prod(given)) != n_features:
                raise ValueError(f"{param_name}={param!r} holds {int(np.prod(given))} "
                                 f"values per image, but X has {n_features} features.")
            shape = given
        elif shape is not None and given is not None and given != shape:
            raise ValueError(f"{param_name}={param!r} does not match the images of X, of "
                             f"shape {shape} (channels, height, width).")
        kind = encoder
        if kind == "auto":
            kind = "mlp" if shape is None else "resnet"
        if kind != "mlp" and shape is None:
            raise ValueError(f"encoder={encoder!r} is a CNN and needs images: give X as "
                             "(n, C, H, W) or (n, H, W) arrays, or set image_shape.")
        return shape, kind

    def _check_encoder_fits(self, kind, shape, n_features):
        """A clear error when the images are too small for the CNN encoder."""
        if kind == "mlp":
            return
        from skml.neural._modules.contrastive import build_encoder

        torch = _torch()
        try:
            with torch.device("meta"):
                build_encoder(kind, 1, image_shape=shape, channels=self._channels())
        except RuntimeError:
            raise ValueError(
                f"images of {shape[1]}x{shape[2]} pixels are too small for "
                f"encoder={kind!r}; use encoder='resnet' (any size) or 'mlp'.") from None

    def _validate_fit_X(self, X, y="no_validation", **y_kwargs):
        """Validate the training inputs (setting ``n_features_in_``, ``image_shape_``
        and ``encoder_``); returns ``(float32 network input, y)``."""
        X, shape = _flatten_images(X, "X")
        if isinstance(y, str) and y == "no_validation":
            X = validate_data(self, X, dtype=(np.float64, np.float32))
        else:
            X, y = validate_data(self, X, y, dtype=(np.float64, np.float32), **y_kwargs)
        shape, kind = self._resolve_shape(shape, X.shape[1], self.image_shape,
                                          "image_shape", self.encoder)
        self._check_encoder_fits(kind, shape, X.shape[1])
        self.image_shape_ = shape
        self.encoder_ = kind
        return _network_input(X, shape), y

    def _validate_X(self, X):
        check_is_fitted(self, "module_")
        X, shape = _flatten_images(X, "X")
        if shape is not None and shape != self.image_shape_:
            raise ValueError(f"X has images of shape {shape}, but {type(self).__name__} "
                             f"was fitted on inputs of shape {self.image_shape_}.")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return X, _network_input(X, self.image_shape_)

    def _encoder(self, kind, n_out, n_features, shape):
        from skml.neural._modules.contrastive import build_encoder

        return build_encoder(kind, n_out, n_features=n_features, image_shape=shape,
                             hidden=check_hidden_layer_sizes(self.hidden_layer_sizes),
                             channels=self._channels(), activation=self.activation)

    def _embed(self, X32, method=None):
        """The network's output (or ``method(module, x)``) over ``X32``, as NumPy."""
        return self._forward(X32, fn=method)

    def _augment(self, augmentation):
        """The augmentation callable: ``augmentation`` itself, or for "auto" the
        default views of images or rows."""
        if callable(augmentation):
            return augmentation
        return RowAugmentation() if self.image_shape_ is None else ImageAugmentation()

    @property
    def _n_features_out(self):
        return int(self.n_components)

    def fit(self, X, y=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Training inputs.
        y : array-like of shape (n_samples,), default=None
            Labels (``TripletEmbedding``; ignored by ``SimCLR``).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            On invalid parameters or data, or a training loss that diverges.
        """
        return self._fit(X, y, sample_weight=None, incremental=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images (n, H, W) and (n, C, H, W)
        return tags


# ---------------------------------------------------------------------- views


class ImageAugmentation:
    """Random views of images ``(n, C, H, W)`` for contrastive learning: each image
    rotated by up to ``rotation`` degrees, rescaled by a factor in ``[1 - scale, 1 +
    scale]`` and shifted by up to ``shift`` pixels along each axis (one bilinear
    ``affine_grid``/``grid_sample``, zeros fill in), then Gaussian noise of standard
    deviation ``noise`` (in pixel units) added.

    Called as ``augment(x, generator)``, with every draw from ``generator`` (a
    ``torch.Generator`` on ``x``'s device). Picklable, so an estimator holding one
    stays picklable and clonable.

    Parameters
    ----------
    shift : float, default=1.0
        Largest translation along each axis, in pixels.
    rotation : float, default=15.0
        Largest rotation, in degrees, either way.
    scale : float, default=0.1
        Largest relative change of size, either way.
    noise : float, default=0.05
        Standard deviation of the added Gaussian noise, in pixel-value units.

    References
    ----------
    .. [1] T. Chen et al., "A Simple Framework for Contrastive Learning of Visual
       Representations", ICML 2020 (composition of augmentations).
    """

    def __init__(self, shift=1.0, rotation=15.0, scale=0.1, noise=0.05):
        self.shift = shift
        self.rotation = rotation
        self.scale = scale
        self.noise = noise

    def __repr__(self):
        return (f"ImageAugmentation(shift={self.shift}, rotation={self.rotation}, "
                f"scale={self.scale}, noise={self.noise})")

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self):
        return hash(tuple(sorted(vars(self).items())))

    def __call__(self, x, generator):
        torch = _torch()
        F = torch.nn.functional
        n, _, h, w = x.shape
        opts = dict(device=x.device, dtype=x.dtype)

        def uniform(half_width):
            return half_width * (2.0 * torch.rand(n, generator=generator, **opts) - 1.0)

        angle = uniform(math.radians(float(self.rotation)))
        zoom = 1.0 + uniform(float(self.scale))
        # affine_grid maps output to input coordinates in [-1, 1]: a pixel is 2 / side
        tx = uniform(2.0 * float(self.shift) / w)
        ty = uniform(2.0 * float(self.shift) / h)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, tx], 1),
                             torch.stack([sin, cos, ty], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                            align_corners=False)
        if self.noise > 0:
            out = out + float(self.noise) * torch.randn(out.shape, generator=generator,
                                                        **opts)
        return out


class RowAugmentation:
    """Random views of table rows ``(n, d)``: each feature replaced by the batch's
    mean with probability ``mask`` (feature masking, as in SCARF/VIME), then Gaussian
    noise of ``noise`` times the batch's standard deviation of each feature added.
    Called as ``augment(x, generator)``; picklable.

    Parameters
    ----------
    noise : float, default=0.1
        Noise standard deviation, as a fraction of each feature's batch standard
        deviation.
    mask : float, default=0.2
        Probability of each feature being replaced by the batch mean.

    References
    ----------
    .. [1] D. Bahri, H. Jiang, Y. Tay and D. Metzler, "SCARF: Self-Supervised
       Contrastive Learning using Random Feature Corruption", ICLR 2022.
    """

    def __init__(self, noise=0.1, mask=0.2):
        self.noise = noise
        self.mask = mask

    def __repr__(self):
        return f"RowAugmentation(noise={self.noise}, mask={self.mask})"

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self):
        return hash(tuple(sorted(vars(self).items())))

    def __call__(self, x, generator):
        torch = _torch()
        opts = dict(device=x.device, dtype=x.dtype)
        flat = x.reshape(len(x), -1)
        mean = flat.mean(0, keepdim=True)
        std = flat.std(0, keepdim=True) if len(x) > 1 else torch.zeros_like(mean)
        out = flat
        if self.mask > 0:
            drop = torch.rand(flat.shape, generator=generator, **opts) < float(self.mask)
            out = torch.where(drop, mean.expand_as(flat), out)
        if self.noise > 0:
            out = out + float(self.noise) * std * torch.randn(flat.shape,
                                                              generator=generator, **opts)
        return out.reshape(x.shape)


# ---------------------------------------------------------------------- SimCLR


class SimCLR(NeuralTransformerMixin, _EmbeddingEstimator):
    """SimCLR: contrastive self-supervised representations, trained with PyTorch.

    Each training batch is augmented twice (two random views of every sample); an
    encoder ``f`` and a projection head ``g`` are trained so that the two views of a
    sample agree: NT-Xent, the cross entropy of picking a sample's other view among
    the ``2N - 1`` other views of the batch by cosine similarity over a temperature
    (Definition 3.85). After training the head is discarded: ``transform`` returns the
    encoder's representation ``h = f(x)``, e.g. for a linear probe.

    %(input_note)s

    Parameters
    ----------
    n_components : int, default=64
        Dimension of the representation ``h`` (the encoder's output).
    projection_dim : int, default=32
        Dimension of the projection ``z = g(h)`` the loss compares (``g``: one hidden
        layer of ``n_components`` units with ReLU).
    temperature : float, default=0.5
        ``tau`` of NT-Xent, > 0 (Chen et al. use 0.5 at small batch sizes).
    augmentation : "auto" or callable, default="auto"
        ``augmentation(x, generator)`` returns a random view of the batch ``x`` (a
        float32 tensor ``(n, C, H, W)`` for images, ``(n, n_features)`` for tables)
        drawing every random number from ``generator`` (a ``torch.Generator`` on
        ``x``'s device, the loop's seeded one). ``"auto"``:
        :class:`~skml.neural.ImageAugmentation` ``()`` (rotations up to 15 degrees,
        rescaling by up to 10%, shifts up to a pixel, Gaussian noise 0.05) for images,
        :class:`~skml.neural.RowAugmentation` ``()`` (20% of the features masked by
        the batch mean, Gaussian noise of 0.1 standard deviation) for tables.
    %(encoder_params)s
    %(training_params)s

    Attributes
    ----------
    %(encoder_attributes)s
    encoder_ : str
        The encoder used (``encoder`` with "auto" resolved).
    %(training_attributes)s

    Raises
    ------
    ImportError
        When PyTorch is not installed.

    See Also
    --------
    TripletEmbedding : supervised embeddings from labelled triplets.
    DualEncoder : contrastive learning across two modalities (CLIP).

    Notes
    -----
    %(float32_note)s

    No sample weights: every sample is an anchor of the contrastive loss with every
    other as a negative.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.3.2, Definition 3.85.
    .. [2] T. Chen, S. Kornblith, M. Norouzi and G. Hinton, "A Simple Framework for
       Contrastive Learning of Visual Representations", ICML 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skml.neural import SimCLR
    >>> X = load_digits().data[:200].reshape(-1, 1, 8, 8) / 16
    >>> H = SimCLR(n_components=16, channels=(8,), max_iter=2,
    ...            random_state=0).fit_transform(X)  # doctest: +SKIP
    >>> H.shape  # doctest: +SKIP
    (200, 16)
    """

    _parameter_constraints = {
        "projection_dim": [Interval(numbers.Integral, 1, _MAX_WIDTH)],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "augmentation": [StrOptions({"auto"}), callable],
    }

    def __init__(self, n_components=64, *, projection_dim=32, temperature=0.5,
                 augmentation="auto", encoder="auto", hidden_layer_sizes=(128,),
                 channels="auto", activation="relu", image_shape=None,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        X32, _ = self._validate_fit_X(X) if reset else (self._validate_X(X)[1], None)
        return X32, None, None

    def _build_module(self):
        from skml.neural._modules.contrastive import SimCLRNet

        encoder = self._encoder(self.encoder_, self.n_components, self.n_features_in_,
                                self.image_shape_)
        return SimCLRNet(encoder, int(self.n_components), int(self.projection_dim))

    def _build_loss(self, device):
        from skml.neural._modules.contrastive import nt_xent_loss

        temperature = float(self.temperature)
        return lambda z1, z2: nt_xent_loss(z1, z2, temperature)

    def _views_loss(self, x, generator):
        """NT-Xent of two random views of ``x`` (both views in one forward pass, so a
        batch-normalised encoder sees them together)."""
        torch = _torch()
        augment = self._augment(self.augmentation)
        views = torch.cat([augment(x, generator), augment(x, generator)])
        z = self.module_.project(views)
        return self._loss_fn(z[:len(x)], z[len(x):])

    def _train_step(self, batch, optimizers):
        x = batch[0]
        (optimizer,) = optimizers.values()
        torch = _torch()
        # the views are drawn once per step (an L-BFGS closure re-evaluates the same)
        augment = self._augment(self.augmentation)
        views = torch.cat([augment(x, self._rng), augment(x, self._rng)])
        module, n = self.module_, len(x)

        def compute_loss():
            z = module.project(views)
            return self._loss_fn(z[:n], z[n:])

        return {"loss": self._optimizer_step(optimizer, compute_loss, n)}

    def _validation_score(self, data):
        """Minus NT-Xent on the held-out rows, with views drawn from a generator fixed
        for the fit (so scores of different epochs compare the same views)."""
        torch = _torch()
        device = next(self.module_.parameters()).device
        x = torch.from_numpy(data[0]).to(device)
        gen = torch.Generator(device=device).manual_seed(_derived_seed(self._seed, 3))
        was_training = self.module_.training
        self.module_.eval()
        try:
            with torch.no_grad():
                loss = float(self._views_loss(x, gen))
        finally:
            self.module_.train(was_training)
        return -loss if np.isfinite(loss) else float("nan")


# ---------------------------------------------------------------------- triplets


class TripletEmbedding(NeuralTransformerMixin, _EmbeddingEstimator):
    """Metric learning with the triplet loss: an embedding where samples of the same
    class are closer than samples of other classes by a margin, trained with PyTorch.

    The encoder's output is normalised to the unit sphere (FaceNet) and trained on the
    triplet loss ``max(||f(a) - f(p)||^2 - ||f(a) - f(n)||^2 + margin, 0)``
    (Definition 3.70) over triplets mined in each batch: ``"batch_hard"``, each
    anchor's farthest positive and nearest negative; ``"semi_hard"``, every positive
    pair with the nearest negative farther than the positive. ``transform`` returns
    the embedding, ready for :class:`~sklearn.neighbors.KNeighborsClassifier` in a
    :class:`~sklearn.pipeline.Pipeline`. Labels may be of any type.

    %(input_note)s

    Parameters
    ----------
    n_components : int, default=32
        Dimension of the embedding.
    margin : float, default=0.2
        ``alpha`` of Definition 3.70, in squared distance on the unit sphere (so at
        most 4 matters).
    mining : {"batch_hard", "semi_hard"}, default="batch_hard"
        How the triplets are chosen in each batch (the batch should hold several
        samples of each class: keep ``batch_size`` well above the number of classes).
    augmentation : None, "auto" or callable, default=None
        Random transformation of each batch in training, as :class:`SimCLR`'s
        ``augmentation`` (the embedding learns its invariances); None: none.
    %(encoder_params)s
    %(training_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in fit.
    %(encoder_attributes)s
    encoder_ : str
        The encoder used (``encoder`` with "auto" resolved).
    %(training_attributes)s

    Raises
    ------
    ImportError
        When PyTorch is not installed.

    See Also
    --------
    skml.metrics.triplet_margin_loss : the same loss on NumPy arrays.
    PrototypicalNetwork : few-shot classification of classes not seen in training.

    Notes
    -----
    %(float32_note)s

    No sample weights (a triplet's weight is not defined by its three samples').

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), Definition 3.70.
    .. [2] F. Schroff, D. Kalenichenko and J. Philbin, "FaceNet: A Unified Embedding
       for Face Recognition and Clustering", CVPR 2015.
    .. [3] A. Hermans, L. Beyer and B. Leibe, "In Defense of the Triplet Loss for
       Person Re-Identification", arXiv:1703.07737, 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from skml.neural import TripletEmbedding
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = make_pipeline(TripletEmbedding(max_iter=5, random_state=0),
    ...                      KNeighborsClassifier(1)).fit(X / 16, y)  # doctest: +SKIP
    """

    _parameter_constraints = {
        "margin": [Interval(numbers.Real, 0, None)],
        "mining": [StrOptions({"batch_hard", "semi_hard"})],
        "augmentation": [None, StrOptions({"auto"}), callable],
    }

    def __init__(self, n_components=32, *, margin=0.2, mining="batch_hard",
                 augmentation=None, encoder="auto", hidden_layer_sizes=(128,), channels="auto",
                 activation="relu", image_shape=None,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        require_y(self, y)
        if reset:
            X32, y = self._validate_fit_X(X, y)
            self.classes_, codes = classes_and_codes(y)
        else:
            _, X32 = self._validate_X(X)
            y = np.asarray(y).ravel()
            unseen = np.setdiff1d(y, self.classes_)
            if len(unseen):
                raise ValueError(f"y has labels {unseen.tolist()} not seen in the first "
                                 "fit; partial_fit continues on the same classes.")
            codes = np.searchsorted(self.classes_, y)
        if len(X32) != len(codes):
            raise ValueError(f"X and y have different numbers of samples: {len(X32)} "
                             f"and {len(codes)}.")
        return X32, codes.astype(np.int64), None

    def _build_module(self):
        from skml.neural._modules.contrastive import EmbeddingNet

        return EmbeddingNet(self._encoder(self.encoder_, self.n_components,
                                          self.n_features_in_, self.image_shape_),
                            normalize=True)

    def _build_loss(self, device):
        from skml.neural._modules.contrastive import triplet_loss

        margin, mining = float(self.margin), self.mining
        return lambda emb, labels: triplet_loss(emb, labels, margin, mining)

    def _train_step(self, batch, optimizers):
        x, labels = batch[0], batch[1]
        if self.augmentation is not None:  # drawn once per step (L-BFGS re-evaluates)
            x = self._augment(self.augmentation)(x, self._rng)
        (optimizer,) = optimizers.values()
        module, loss_fn = self.module_, self._loss_fn
        return {"loss": self._optimizer_step(optimizer, lambda: loss_fn(module(x), labels),
                                             len(x))}

    def _stratify_target(self, target):
        return target

    def _validation_score(self, data):
        """Minus the triplet loss over all held-out samples (mined among them)."""
        torch = _torch()
        emb = self._forward(data[0], to_numpy=False, check_finite=False)
        labels = torch.from_numpy(data[1]).to(emb.device)
        with torch.no_grad():
            loss = float(self._loss_fn(emb, labels))
        return -loss if np.isfinite(loss) else float("nan")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


# ---------------------------------------------------------------------- CLIP


class DualEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NeuralEstimator):
    """A CLIP-style dual encoder: two encoders map paired samples of two modalities
    into one embedding space, trained with PyTorch.

    ``fit(X_a, X_b)`` takes the ``n`` pairs as two arrays (rows ``i`` of both are a
    pair: an image and its caption, a digit and a rendered label, two sensors). Each
    batch's ``N x N`` cosine similarities, times a learnable scale ``1 /
    temperature``, are trained with CLIP's symmetric cross entropy: each ``a`` must
    pick its own ``b`` among the batch's, and each ``b`` its ``a`` (Definition 3.86).
    ``transform_a`` / ``transform_b`` embed either side (unit rows); zero-shot
    ``predict(X_a, candidates_b)`` returns, for each ``a``, the index of the candidate
    ``b`` of highest cosine similarity (e.g. of the class descriptions, as CLIP's
    zero-shot classifier), ``predict_proba`` the softmax of the scaled similarities.

    Either side is a table or images (``(n, C, H, W)``, ``(n, H, W)``, or flat rows
    with ``image_shape_a`` / ``image_shape_b``); a 1-D ``X_b`` is one feature.

    Parameters
    ----------
    n_components : int, default=32
        Dimension of the shared embedding space.
    temperature : float, default=0.07
        Initial temperature (CLIP's); learned during training (``temperature_``),
        kept >= 0.01 as CLIP clips its scale at 100.
    encoder_a, encoder_b : {"auto", "mlp", "lenet", "alexnet", "vgg", "resnet", \
"densenet"}, default="auto"
        Encoders of the two sides, as ``encoder`` of :class:`SimCLR`.
    hidden_layer_sizes : tuple of int, default=(128,)
        Hidden widths of the ``"mlp"`` encoders.
    channels : "auto" or tuple of int, default="auto"
        Filters of the CNN encoders.
    activation : str, default="relu"
        Activation of the ``"mlp"`` encoders.
    image_shape_a, image_shape_b : tuple of int or None, default=None
        Image shapes of flat rows of either side.
    %(training_params)s

    Attributes
    ----------
    temperature_ : float
        The learned temperature.
    candidates_ : ndarray of shape (n_candidates, n_features_b)
        The distinct rows of the training ``X_b`` (flat), the candidates of ``predict``
        when none are given.
    n_features_b_ : int
        Values per sample of ``X_b``.
    image_shape_a_, image_shape_b_ : tuple of int or None
        Image shapes of the two sides, None for tables.
    %(training_attributes)s

    Raises
    ------
    ImportError
        When PyTorch is not installed.

    Notes
    -----
    %(float32_note)s

    Pairs sharing a ``b`` (e.g. one label image per class) are negatives of each
    other in a batch, as in CLIP; the loss then cannot reach zero, but still pulls each
    ``a`` to its own ``b``'s embedding. No sample weights.

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.3.2, Definition 3.86 and
       Example 45 (zero-shot prediction).
    .. [2] A. Radford et al., "Learning Transferable Visual Models From Natural
       Language Supervision", ICML 2021.
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, _MAX_WIDTH)],
        "temperature": [Interval(numbers.Real, 0.01, None)],
        "encoder_a": [StrOptions(set(_ENCODERS))],
        "encoder_b": [StrOptions(set(_ENCODERS))],
        "hidden_layer_sizes": [tuple, list],
        "channels": [StrOptions({"auto"}), tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "image_shape_a": [None, tuple, list],
        "image_shape_b": [None, tuple, list],
    }
    _inference_batch_size = 1024

    def __init__(self, n_components=32, *, temperature=0.07, encoder_a="auto",
                 encoder_b="auto", hidden_layer_sizes=(128,), channels="auto",
                 activation="relu", image_shape_a=None, image_shape_b=None,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    # the encoders and their inputs: _EmbeddingEstimator's helpers, once per side
    _channels = _EmbeddingEstimator._channels
    _resolve_shape = _EmbeddingEstimator._resolve_shape
    _check_encoder_fits = _EmbeddingEstimator._check_encoder_fits
    _encoder = _EmbeddingEstimator._encoder
    _n_features_out = _EmbeddingEstimator._n_features_out

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        self._channels()
        _image_shape(self.image_shape_a, "image_shape_a")
        _image_shape(self.image_shape_b, "image_shape_b")

    def _validate_b(self, X_b, reset):
        """``X_b`` as flat rows (1-D: one feature), checked against the fit's."""
        X_b, shape = _flatten_images(X_b, "X_b")
        X_b = check_array(X_b, ensure_2d=False, dtype=(np.float64, np.float32),
                          input_name="X_b")
        if X_b.ndim == 1:
            X_b = X_b.reshape(-1, 1)
        if reset:
            return X_b, shape
        if shape is not None and shape != self.image_shape_b_:
            raise ValueError(f"X_b has images of shape {shape}, but {type(self).__name__} "
                             f"was fitted on X_b of shape {self.image_shape_b_}.")
        if X_b.shape[1] != self.n_features_b_:
            raise ValueError(f"X_b has {X_b.shape[1]} features, but "
                             f"{type(self).__name__} is expecting {self.n_features_b_} "
                             "features of X_b as input.")
        return X_b, shape

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        require_y(self, y, " (fit(X_a, X_b) takes the pairs' two sides)")
        n_a, n_b = _n_rows(X), _n_rows(y)
        if n_a != n_b:
            raise ValueError(f"X_a and X_b must hold the same number of pairs (row i of "
                             f"both is a pair), got {n_a} and {n_b} rows.")
        if not reset:
            _, Xa32 = self._validate_X(X)
            X_b, _ = self._validate_b(y, reset=False)
            return Xa32, _network_input(X_b, self.image_shape_b_), None
        X, shape_a = _flatten_images(X, "X_a")
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        X_b, shape_b = self._validate_b(y, reset=True)
        shape_a, kind_a = self._resolve_shape(shape_a, X.shape[1], self.image_shape_a,
                                              "image_shape_a", self.encoder_a)
        shape_b, kind_b = self._resolve_shape(shape_b, X_b.shape[1], self.image_shape_b,
                                              "image_shape_b", self.encoder_b)
        self._check_encoder_fits(kind_a, shape_a, X.shape[1])
        self._check_encoder_fits(kind_b, shape_b, X_b.shape[1])
        self.image_shape_a_, self.image_shape_b_ = shape_a, shape_b
        self.encoders_ = (kind_a, kind_b)
        self.n_features_b_ = X_b.shape[1]
        self.candidates_ = np.unique(X_b, axis=0)
        return (_network_input(X, shape_a), _network_input(X_b, shape_b), None)

    def _build_module(self):
        from skml.neural._modules.contrastive import DualEncoderNet

        k = int(self.n_components)
        return DualEncoderNet(
            self._encoder(self.encoders_[0], k, self.n_features_in_, self.image_shape_a_),
            self._encoder(self.encoders_[1], k, self.n_features_b_, self.image_shape_b_),
            float(self.temperature))

    def _build_loss(self, device):
        from skml.neural._modules.contrastive import clip_loss

        module = self.module_

        def loss(xa, xb):
            return clip_loss(module(xa), module.embed_b(xb), module.logit_scale())
        return loss

    def _train_step(self, batch, optimizers):
        xa, xb = batch[0], batch[1]
        (optimizer,) = optimizers.values()
        return {"loss": self._optimizer_step(optimizer, lambda: self._loss_fn(xa, xb),
                                             len(xa))}

    def _validation_score(self, data):
        """Minus the symmetric contrastive loss over all held-out pairs."""
        torch = _torch()
        device = next(self.module_.parameters()).device
        xa, xb = (torch.from_numpy(p).to(device) for p in data[:2])
        was_training = self.module_.training
        self.module_.eval()
        try:
            with torch.no_grad():
                loss = float(self._loss_fn(xa, xb))
        finally:
            self.module_.train(was_training)
        return -loss if np.isfinite(loss) else float("nan")

    def fit(self, X, y=None):
        """Train the two encoders on the pairs ``(X[i], y[i])``.

        Parameters
        ----------
        X : array-like of shape (n_pairs, n_features_a) or (n_pairs, C, H, W)
            Side ``a`` of the pairs.
        y : array-like of shape (n_pairs, n_features_b), (n_pairs,) or (n_pairs, C, H, W)
            Side ``b`` of the pairs (required).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            If ``y`` is None, the two sides hold different numbers of pairs, or on
            invalid parameters or data.
        """
        return self._fit(X, y, sample_weight=None, incremental=False)

    @property
    def temperature_(self):
        check_is_fitted(self, "module_")
        return float(1.0 / self.module_.logit_scale().detach().cpu())

    def _validate_X(self, X):
        check_is_fitted(self, "module_")
        X, shape = _flatten_images(X, "X_a")
        if shape is not None and shape != self.image_shape_a_:
            raise ValueError(f"X_a has images of shape {shape}, but {type(self).__name__}"
                             f" was fitted on X_a of shape {self.image_shape_a_}.")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return X, _network_input(X, self.image_shape_a_)

    def transform_a(self, X_a):
        """Embeddings of side ``a`` (unit rows).

        Parameters
        ----------
        X_a : array-like of shape (n_samples, n_features_a) or (n_samples, C, H, W)

        Returns
        -------
        E : ndarray of shape (n_samples, n_components)
            In the dtype of ``X_a``.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If ``X_a`` does not match the training data's features.
        """
        X, X32 = self._validate_X(X_a)
        return self._forward(X32).astype(X.dtype, copy=False)

    transform = transform_a

    def transform_b(self, X_b):
        """Embeddings of side ``b`` (unit rows).

        Parameters
        ----------
        X_b : array-like of shape (n_samples, n_features_b), (n_samples,) or \
(n_samples, C, H, W)

        Returns
        -------
        E : ndarray of shape (n_samples, n_components)
            In the dtype of ``X_b``.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If ``X_b`` does not match the training data's side ``b``.
        """
        check_is_fitted(self, "module_")
        X_b, _ = self._validate_b(X_b, reset=False)
        X32 = _network_input(X_b, self.image_shape_b_)
        return self._forward(X32, fn=lambda m, x: m.embed_b(x)).astype(X_b.dtype,
                                                                         copy=False)

    def _similarities(self, X_a, candidates_b):
        ea = self.transform_a(X_a).astype(np.float64)
        cand = self.candidates_ if candidates_b is None else candidates_b
        if _n_rows(cand) == 0:
            raise ValueError("candidates_b is empty: give at least one candidate.")
        eb = self.transform_b(cand).astype(np.float64)
        return ea @ eb.T

    def predict(self, X, candidates_b=None):
        """Zero-shot prediction: for each ``a``, the index of the candidate ``b`` of
        highest cosine similarity (Example 45 of the notes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_a) or (n_samples, C, H, W)
            Side ``a`` samples.
        candidates_b : array-like of shape (n_candidates, n_features_b), default=None
            Candidate ``b`` samples (e.g. one description per class, of classes
            never seen in training); None: ``candidates_``.

        Returns
        -------
        index : ndarray of shape (n_samples,), dtype=int64
            Row of ``candidates_b`` matched to each sample.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If either array does not match its training side, or no candidate is given.
        """
        return np.argmax(self._similarities(X, candidates_b), axis=1).astype(np.int64)

    def predict_proba(self, X, candidates_b=None):
        """Softmax over the candidates of the similarities times the learned scale
        ``1 / temperature_`` (CLIP's zero-shot probabilities).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_a) or (n_samples, C, H, W)
        candidates_b : array-like of shape (n_candidates, n_features_b), default=None

        Returns
        -------
        proba : ndarray of shape (n_samples, n_candidates)

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            As :meth:`predict`.
        """
        return softmax(self._similarities(X, candidates_b) / self.temperature_, axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def _fill(doc):
    return (fill(doc).replace("    %(input_note)s", _INPUT_NOTE)
            .replace("    %(encoder_params)s", _ENCODER_PARAMS)
            .replace("    %(encoder_attributes)s", _ENCODER_ATTRIBUTES))


for _cls in (SimCLR, TripletEmbedding, DualEncoder):
    _cls.__doc__ = _fill(_cls.__doc__)
