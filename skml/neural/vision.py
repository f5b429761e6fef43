"""Convolutional networks as estimators: image classification and regression on LeNet,
AlexNet, VGG, ResNet and DenseNet backbones, and their class activation maps.

The networks are plain ``torch.nn`` modules (``skml/neural/_modules/cnn.py``); the
estimators here convert images to and from them and train them with the one loop of
:class:`~skml.neural.NeuralEstimator`. torch is imported lazily.
"""
import numbers

import numpy as np
from scipy import sparse
from scipy.special import softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from skml.neural._base import (
    MAX_WIDTH,
    NeuralEstimator,
    _derived_seed,
    _is_stochastic,
    _torch,
    as_float32,
    training_params,
)
from skml.neural._docs import fill
from skml.metrics import iou_score
from skml.neural._mixins import NeuralClassifierMixin, NeuralRegressorMixin
from skml.neural.mlp import ACTIVATIONS, check_hidden_layer_sizes
from skml.utils import Interval, StrOptions, store_init_params

__all__ = ["ARCHITECTURES", "CNNClassifier", "CNNRegressor", "FCNSegmenter",
           "class_activation_map", "grad_cam"]

#: Values of ``architecture=`` (§3.5.2-3.5.5 of the notes).
ARCHITECTURES = ("lenet", "alexnet", "vgg", "resnet", "densenet")
#: Keys of ``augment=``.
AUGMENTATIONS = ("flip", "shift", "crop")
_MAX_SIDE = 4096  # largest image side accepted (and resize target)

_REFERENCES = """\
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.2 (convolution and pooling,
       global average/max pooling, Definitions 3.25-3.35, Remarks 3.19-3.23), §3.5.2-3.5.5
       (LeNet, AlexNet, VGG, DenseNet, residual blocks; transfer learning).
    .. [2] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning
       applied to document recognition", Proc. IEEE 86, 1998.
    .. [3] A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet Classification with
       Deep Convolutional Neural Networks", NeurIPS 2012.
    .. [4] K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for
       Large-Scale Image Recognition", ICLR 2015.
    .. [5] K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image
       Recognition", CVPR 2016.
    .. [6] G. Huang, Z. Liu, L. van der Maaten and K. Q. Weinberger, "Densely Connected
       Convolutional Networks", CVPR 2017."""

_NETWORK_PARAMS = """\
    architecture : {"lenet", "alexnet", "vgg", "resnet", "densenet"}, default="lenet"
        The backbone, each scaled for small images (``skml.neural._modules.cnn``):
        ``"lenet"``: LeNet-5, two 5x5 convolutions with sigmoid and 2x2 average pooling
        (Remark 3.85; ``activation="relu", pooling="max"`` gives the modern variant) and
        a 120-84 head, at least 12x12 images; ``"alexnet"``: five convolutions with
        overlapping 3x3 max pooling, a 128-128 head, at least 15x15; ``"vgg"``: blocks
        of 3x3 convolutions each closed by a 2x2 max pooling (``blocks``), at least
        8x8; ``"resnet"``: a 3x3 stem and stages of basic residual blocks with batch
        normalisation and global average pooling, any size; ``"densenet"``: dense
        blocks (``channels`` are the growth rates) joined by transitions, global
        average pooling, at least 4x4.
    image_shape : tuple of int or None, default=None
        ``(channels, height, width)`` or ``(height, width)`` (one channel) of the images
        when ``X`` is given as flat rows ``(n_samples, channels * height * width)`` (C
        order: a row is ``image.ravel()``). With images ``(n, C, H, W)`` or ``(n, H,
        W)`` it is read from ``X`` (if given, it must agree). ``None`` with flat rows:
        each row is a one-channel image of height 1.
    resize : int, tuple of int or None, default=None
        Resample the images bilinearly to ``(height, width)`` (an int: square) inside
        the network, e.g. to give 8x8 images to LeNet. ``None``: images must be at
        least the architecture's minimum size.
    channels : "auto" or tuple of int, default="auto"
        Filters of the convolutions: per layer for LeNet (2) and AlexNet (5), per block
        or stage for VGG and ResNet, growth rates per dense block for DenseNet.
        ``"auto"``: lenet (6, 16), alexnet (24, 48, 64, 64, 48), vgg (16, 32, 64),
        resnet (16, 32, 64), densenet (12, 12, 12).
    blocks : "auto" or tuple of int, default="auto"
        Layers per block (VGG: convolutions per block; ResNet: residual blocks per
        stage; DenseNet: layers per dense block), as many as ``channels``. ``"auto"``:
        vgg (1, 1, 2), resnet (2, 2, 2), densenet (3, 3, 3). Not used by LeNet and
        AlexNet.
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Widths of the fully connected layers between the pooled features and the
        output layer. ``"auto"``: lenet (120, 84), alexnet (128, 128), vgg (128,),
        resnet and densenet none (global pooling straight into the output layer, as
        class activation maps need).
    activation : "auto" or str, default="auto"
        Activation of every layer (a name of :class:`~skml.neural.MLPClassifier`'s
        ``activation``); ``"auto"``: sigmoid for LeNet, relu for the others.
    norm : "auto", "batch", "layer" or None, default="auto"
        Normalisation after each convolution: ``torch.nn.BatchNorm2d``, a one-group
        ``GroupNorm`` (layer norm over C, H, W), or none. ``"auto"``: batch for ResNet
        and DenseNet, none for the others.
    pooling : {"auto", "avg", "max"}, default="auto"
        The downsampling pools of LeNet, AlexNet, VGG and DenseNet's transitions.
        ``"auto"``: average for LeNet and DenseNet, max for AlexNet and VGG.
    global_pool : {"auto", "avg", "max"} or None, default="auto"
        How the last feature map becomes a vector: global average or max pooling over
        H and W (Remark 3.23), or ``None``: flattened. ``"auto"``: avg for ResNet and
        DenseNet, flattened for the others.
    dropout : float, default=0.0
        Dropout probability after each hidden fully connected layer, in [0, 1).
    augment : dict or None, default=None
        Random transformations of each training image, drawn anew in every epoch from
        the loop's seeded generator (never at prediction): ``{"flip": True}`` mirrors
        half the images left-right, ``{"shift": k}`` translates by up to ``k`` pixels
        each way (zeros fill), ``{"crop": s}`` crops a random window of ``s`` to 1 times
        each side and resizes it back (``s`` in (0, 1]). Keys combine.
    freeze : list of str or None, default=None
        Names of submodules whose weights stay fixed in training (and whose batch-norm
        statistics and dropout stay in eval mode), for fine-tuning: the blocks of
        ``module_`` (``"conv1"``, ``"stage1"``, ``"block2"``, ``"dense1"``, ``"head"``,
        dotted names such as ``"head.fc1"``, ...). See ``module_block_names_``."""

_CNN_ATTRIBUTES = """\
    image_shape_ : tuple of int
        ``(channels, height, width)`` of the training images.
    module_block_names_ : tuple of str
        Names of the network's blocks, in order (what ``freeze`` and
        :func:`grad_cam`'s ``layer`` take).
    module_ : torch.nn.Module
        The trained network (``skml.neural._modules.cnn.CNN``)."""

_INPUT_NOTE = """\
    Images are given as ``(n_samples, channels, height, width)`` arrays (PyTorch's
    layout), ``(n_samples, height, width)`` for one channel, or flat rows with
    ``image_shape``; ``n_features_in_`` is ``channels * height * width``. Pixel values
    are used as given (scale them, e.g. to [0, 1]). sklearn's estimator checks run on
    flat rows (one-channel images of height 1 unless ``image_shape`` is set)."""


def _pair(value, name):
    """``(h, w)`` from an int or a pair of ints (each in [1, 4096])."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    try:
        h, w = value
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}.") from None
    for v in (h, w):
        if not (isinstance(v, numbers.Integral) and not isinstance(v, bool)
                and 1 <= v <= _MAX_SIDE):
            raise ValueError(f"{name} must hold ints in [1, {_MAX_SIDE}], got {value!r}.")
    return int(h), int(w)


def _int_tuple(value, name, max_value=MAX_WIDTH):
    try:
        out = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be 'auto' or a tuple of ints, got {value!r}.") from None
    if not out or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                          and 1 <= v <= max_value for v in out):
        raise ValueError(f"{name} must be 'auto' or a non-empty tuple of ints in "
                         f"[1, {max_value}], got {value!r}.")
    return tuple(int(v) for v in out)


def _image_shape(shape):
    """The ``image_shape`` parameter as ``(channels, height, width)`` (one channel for
    ``(height, width)``), checked."""
    if not (isinstance(shape, (tuple, list)) and len(shape) in (2, 3)
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                    and v >= 1 for v in shape)):
        raise ValueError("image_shape must be (channels, height, width) or (height, "
                         f"width) of positive ints, got {shape!r}.")
    shape = tuple(int(v) for v in shape)
    return shape if len(shape) == 3 else (1,) + shape


def _n_dims(X):
    """Dimensions of array-like ``X`` (2 for sparse matrices and data frames)."""
    if sparse.issparse(X) or hasattr(X, "columns"):
        return 2
    shape = getattr(X, "shape", None)
    return len(shape) if shape is not None else np.asarray(X).ndim


class _BaseCNN(NeuralEstimator):
    """Shared parts of the CNN estimators: the images, the network, augmentation and
    freezing."""

    _parameter_constraints = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "image_shape": [None, tuple, list],
        "resize": [None, Interval(numbers.Integral, 1, _MAX_SIDE), tuple, list],
        "channels": [StrOptions({"auto"}), tuple, list],
        "blocks": [StrOptions({"auto"}), tuple, list],
        "hidden_layer_sizes": [StrOptions({"auto"}), tuple, list],
        "activation": [StrOptions({"auto", *ACTIVATIONS})],
        "norm": [StrOptions({"auto", "batch", "layer"}), None],
        "pooling": [StrOptions({"auto", "avg", "max"})],
        "global_pool": [StrOptions({"auto", "avg", "max"}), None],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "augment": [None, dict],
        "freeze": [None, list, tuple],
    }
    # images are larger than table rows: fewer per forward pass at inference
    _inference_batch_size = 512

    def _check_params(self):
        super()._check_params()
        self._config()
        if self.image_shape is not None:
            self._image_shape_param()
        if self.resize is not None:
            _pair(self.resize, "resize")
        self._augmentation()
        if self.freeze is not None and not all(isinstance(f, str) for f in self.freeze):
            raise TypeError(f"freeze must be a list of block names, got {self.freeze!r}.")

    # ------------------------------------------------------------------ the network

    def _config(self):
        """The builder's keyword arguments for the parameters that are not "auto"."""
        config = {}
        if not (isinstance(self.channels, str) and self.channels == "auto"):
            config["channels"] = _int_tuple(self.channels, "channels")
        if not (isinstance(self.blocks, str) and self.blocks == "auto"):
            config["blocks"] = _int_tuple(self.blocks, "blocks", max_value=1024)
        if not (isinstance(self.hidden_layer_sizes, str)
                and self.hidden_layer_sizes == "auto"):
            config["hidden"] = check_hidden_layer_sizes(self.hidden_layer_sizes)
        for name in ("activation", "norm", "pooling", "global_pool"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value == "auto"):
                config[name] = value
        config["dropout"] = float(self.dropout)
        arch = self.architecture
        fixed = {"lenet": 2, "alexnet": 5}
        if "channels" in config and arch in fixed and len(config["channels"]) != fixed[arch]:
            raise ValueError(f"channels must hold {fixed[arch]} widths for architecture="
                             f"{arch!r}, got {config['channels']!r}.")
        if "blocks" in config and arch in fixed:
            raise ValueError(f"blocks is not used by architecture={arch!r} (a fixed "
                             "layout); leave it 'auto'.")
        if arch not in fixed:
            from skml.neural._modules.cnn import DEFAULTS

            n_ch = len(config.get("channels", DEFAULTS[arch]["channels"]))
            n_bl = len(config.get("blocks", DEFAULTS[arch]["blocks"]))
            if n_ch != n_bl:
                raise ValueError(f"channels and blocks must have the same length for "
                                 f"architecture={arch!r}, got {n_ch} and {n_bl}.")
        return config

    def _image_shape_param(self):
        return _image_shape(self.image_shape)

    def _augmentation(self):
        """The checked ``augment`` dict (empty for None)."""
        aug = {} if self.augment is None else dict(self.augment)
        unknown = set(aug) - set(AUGMENTATIONS)
        if unknown:
            raise ValueError(f"augment has unknown keys {sorted(unknown)}; the keys are "
                             f"{list(AUGMENTATIONS)}.")
        if "flip" in aug and not isinstance(aug["flip"], (bool, np.bool_)):
            raise TypeError(f"augment['flip'] must be a bool, got {aug['flip']!r}.")
        if "shift" in aug and not (isinstance(aug["shift"], numbers.Integral)
                                   and not isinstance(aug["shift"], bool)
                                   and 0 <= aug["shift"] <= _MAX_SIDE):
            raise ValueError(f"augment['shift'] must be an int in [0, {_MAX_SIDE}] "
                             f"(pixels), got {aug['shift']!r}.")
        if "crop" in aug and not (isinstance(aug["crop"], numbers.Real)
                                  and not isinstance(aug["crop"], bool)
                                  and 0 < aug["crop"] <= 1):
            raise ValueError(f"augment['crop'] must be a float in (0, 1], got "
                             f"{aug['crop']!r}.")
        return aug

    def _build_module(self):
        from skml.neural._modules.cnn import build_cnn

        c, h, w = self.image_shape_
        resize = None if self.resize is None else _pair(self.resize, "resize")
        return build_cnn(self.architecture, c, self.n_outputs_, (h, w), resize=resize,
                         **self._config())

    def _check_image_size(self, shape):
        """A clear error when images of ``shape`` are too small for the network."""
        from skml.neural._modules.cnn import build_cnn, min_image_size

        c, h, w = shape
        size = (h, w) if self.resize is None else _pair(self.resize, "resize")
        torch = _torch()
        config = self._config()
        try:
            with torch.device("meta"):
                build_cnn(self.architecture, c, 1, size, **config)
        except RuntimeError:
            least = min_image_size(self.architecture, c, config)
            where = "images" if self.resize is None else "resize"
            raise ValueError(
                f"{where} of {size[0]}x{size[1]} pixels are too small for "
                f"architecture={self.architecture!r}: its convolutions and pooling need "
                f"at least {least[0]}x{least[1]}. Give larger images or set resize= "
                f"(e.g. resize={least})."
            ) from None

    @property
    def module_block_names_(self):
        """tuple of str: the blocks of ``module_``, in order."""
        check_is_fitted(self, "module_")
        return tuple(name for name, _ in self.module_.named_children())

    # ------------------------------------------------------------------ the images

    def _validate_images(self, X, y="no_validation", *, reset, **y_kwargs):
        """``(images float32 (n, C, H, W), X as validated, y)``; sets ``image_shape_``
        and ``n_features_in_`` when ``reset``."""
        images_given = _n_dims(X) in (3, 4)
        shape = None
        if images_given:
            arr = check_array(X, allow_nd=True, dtype=(np.float64, np.float32),
                              input_name="X")
            shape = tuple(arr.shape[1:]) if arr.ndim == 4 else (1,) + tuple(arr.shape[1:])
            if not reset and shape != self.image_shape_:
                raise ValueError(
                    f"X has images of shape {shape}, but {type(self).__name__} was "
                    f"fitted on images of shape {self.image_shape_} (channels, height, "
                    "width).")
            X = arr.reshape(len(arr), -1)
        kwargs = dict(reset=reset, dtype=(np.float64, np.float32))
        if isinstance(y, str) and y == "no_validation":  # prediction
            X = validate_data(self, X, **kwargs)
        else:
            X, y = validate_data(self, X, y, **kwargs, **y_kwargs)
        if reset:
            given = None if self.image_shape is None else self._image_shape_param()
            if shape is None:
                shape = given if given is not None else (1, 1, X.shape[1])
                if int(np.prod(shape)) != X.shape[1]:
                    raise ValueError(
                        f"image_shape={self.image_shape!r} holds {int(np.prod(shape))} "
                        f"values per image, but X has {X.shape[1]} features.")
            elif given is not None and given != shape:
                raise ValueError(
                    f"image_shape={self.image_shape!r} does not match the images of X, "
                    f"of shape {shape} (channels, height, width).")
            self._check_image_size(shape)
            self.image_shape_ = shape
        images = as_float32(X).reshape(len(X), *self.image_shape_)
        return images, X, y

    def _images_for_prediction(self, X):
        check_is_fitted(self, "module_")
        images, X, _ = self._validate_images(X, reset=False)
        return images, X

    def _predict_input(self, X):
        images, X = self._images_for_prediction(X)
        return images, X.dtype

    # ------------------------------------------------------------------ training

    def _frozen_names(self, module):
        names = () if self.freeze is None else tuple(self.freeze)
        for name in names:
            try:
                module.get_submodule(name)
            except AttributeError:
                raise ValueError(
                    f"freeze names {name!r}, which is not a block of the network; its "
                    f"blocks are {[n for n, _ in module.named_children()]} (dotted names "
                    "reach inside them).") from None
        return names

    def _build_optimizers(self, module):
        frozen = self._frozen_names(module)
        trainable = []
        for name, p in module.named_parameters():
            fixed = any(name == f or name.startswith(f + ".") for f in frozen)
            p.requires_grad_(not fixed)
            if not fixed:
                trainable.append(p)
        if not trainable:
            raise ValueError(f"freeze={self.freeze!r} leaves no weight to train.")
        module.frozen = frozen
        self._optimizer_freeze = frozen
        return {"module": self._make_optimizer(trainable)}

    def _check_optimizer_freeze(self):
        """A changed ``freeze`` (e.g. set before ``partial_fit``) needs a new optimiser
        over the weights it leaves trainable."""
        wanted = () if self.freeze is None else tuple(self.freeze)
        if getattr(self, "_optimizer_freeze", None) != wanted:
            self._train_state = None

    def _train_step(self, batch, optimizers):
        aug = self._augmentation()
        if aug:
            from skml.neural._modules.cnn import augment_images

            batch = (augment_images(batch[0], self._rng, **aug),) + tuple(batch[1:])
        return super()._train_step(batch, optimizers)

    def _new_head(self, n_outputs):
        """Replace the output layer by a new one of ``n_outputs`` units (transfer
        learning: the rest of the network is kept), seeded from the fit's seed."""
        torch = _torch()
        old = self.module_.head.out
        gen_seed = _derived_seed(self._seed, len(self.history_), 2)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(gen_seed)
            new = torch.nn.Linear(old.in_features, n_outputs)
        self.module_.head.out = new.to(old.weight.device)
        self._train_state = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images (n, H, W) and (n, C, H, W)
        return tags


class CNNClassifier(NeuralClassifierMixin, _BaseCNN):
    """Convolutional network classifier of images, trained with PyTorch.

    One of five backbones (LeNet, AlexNet, VGG, ResNet, DenseNet, each scaled for small
    images), then global pooling or flattening and a fully connected head, trained on
    the cross-entropy of a softmax over the classes. The training parameters are
    scikit-learn's ``MLPClassifier`` vocabulary. Labels may be of any type.

    Parameters
    ----------
%(network_params)s
    %(training_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_outputs_ : int
        Output units (the number of classes).
%(cnn_attributes)s
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, images smaller than the architecture needs (the
        message names the minimum size), ``image_shape`` that does not match ``X``,
        multilabel targets, a diverging loss. At prediction: images of another shape
        than in training.

    See Also
    --------
    CNNRegressor : The same backbones for regression.
    class_activation_map, grad_cam : Where in an image the network sees a class.
    MLPClassifier : A fully connected network on flat features.

    Notes
    -----
%(input_note)s

    Fine-tuning (transfer learning, §3.5 of the notes): with ``warm_start=True``, a
    ``fit`` on labels outside ``classes_`` keeps the network but replaces its output
    layer by a new one for the labels of ``y`` (scikit-learn's MLP refuses new labels
    instead); so does ``partial_fit(..., classes=new_classes)`` with classes other than
    ``classes_``. Set ``freeze`` to the early blocks to keep them fixed.

    The network computes in float32: sklearn's
    ``check_sample_weight_equivalence_on_dense_data`` is expected to fail at its 1e-7
    tolerance (``skml/utils/_test_common.py``), as for the MLPs.

    References
    ----------
%(references)s

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skml.neural import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier("resnet", image_shape=(8, 8), channels=(8,), blocks=(1,),
    ...                     max_iter=2, random_state=0).fit(X[:100] / 16, y[:100])
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    def __init__(self, architecture="lenet", *, image_shape=None, resize=None,
                 channels="auto", blocks="auto", hidden_layer_sizes="auto",
                 activation="auto", norm="auto", pooling="auto", global_pool="auto",
                 dropout=0.0, augment=None, freeze=None, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None, classes=None):
        images, X, y = self._validate_images(X, y, reset=reset, multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} takes one label per image (binary "
                             f"or multiclass), got {type_of_target(y)} targets.")
        labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        if reset:
            self.classes_ = labels
            self.n_outputs_ = max(len(labels), 1)
        else:
            self._check_optimizer_freeze()
            # a new task: partial_fit with other classes=, or a warm-start fit on labels
            # outside classes_ (a subset of classes_ just continues training)
            if (not np.array_equal(labels, self.classes_) if classes is not None
                    else not self._incremental
                    and len(np.setdiff1d(labels, self.classes_))):
                # transfer learning: a new output layer for the new classes
                self.classes_ = labels
                self.n_outputs_ = max(len(labels), 1)
                self._new_head(self.n_outputs_)
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if len(unknown):
                raise ValueError(
                    f"y contains labels {unknown!r} that are not in classes_ "
                    f"{self.classes_!r}; pass classes= to partial_fit to train a new "
                    "output layer for other classes.")
        self._fit_dtype = X.dtype
        weight = self._sample_weight(sample_weight, len(y))
        target = np.searchsorted(self.classes_, y).astype(np.int64)
        return images, target, weight


class CNNRegressor(NeuralRegressorMixin, _BaseCNN):
    """Convolutional network regressor of images, trained with PyTorch.

    The backbones of :class:`CNNClassifier` with a linear output layer of one unit per
    target, trained on half the squared error (as scikit-learn's ``MLPRegressor``).
    Multi-output targets are supported.

    Parameters
    ----------
%(network_params)s
    normalize_y : bool, default=False
        Train on standardised targets (mean 0, variance 1 per output) and map the
        predictions back, as :class:`MLPRegressor`'s ``normalize_y``.
    %(training_params)s

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
%(cnn_attributes)s
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, images smaller than the architecture needs (the
        message names the minimum size), ``image_shape`` that does not match ``X``, a
        diverging loss. At prediction: images of another shape than in training.

    See Also
    --------
    CNNClassifier : The classification counterpart.

    Notes
    -----
%(input_note)s

    The network computes in float32: sklearn's
    ``check_sample_weight_equivalence_on_dense_data`` is expected to fail at its 1e-7
    tolerance, as for the MLPs.

    References
    ----------
%(references)s

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neural import CNNRegressor
    >>> X = np.random.RandomState(0).rand(32, 1, 8, 8)
    >>> reg = CNNRegressor("resnet", channels=(4,), blocks=(1,), max_iter=2,
    ...                    random_state=0).fit(X, X.mean(axis=(1, 2, 3)))
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {"normalize_y": ["boolean"]}

    def __init__(self, architecture="lenet", *, image_shape=None, resize=None,
                 channels="auto", blocks="auto", hidden_layer_sizes="auto",
                 activation="auto", norm="auto", pooling="auto", global_pool="auto",
                 dropout=0.0, augment=None, freeze=None, normalize_y=False, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        images, X, y = self._validate_images(X, y, reset=reset, y_numeric=True,
                                             multi_output=True)
        weight = self._sample_weight(sample_weight, len(y))
        if not reset:
            self._check_optimizer_freeze()
        Y = self._target_columns(y, weight, reset=reset)
        self._fit_dtype = X.dtype
        return images, self._training_target(Y), weight


for _cls in (CNNClassifier, CNNRegressor):
    _cls.__doc__ = fill(_cls.__doc__, network_params=_NETWORK_PARAMS,
                        cnn_attributes=_CNN_ATTRIBUTES, input_note=_INPUT_NOTE,
                        references=_REFERENCES)


# ---------------------------------------------------------------------- heat maps


def _heat_map_inputs(model, X, target):
    """The fitted network, the images as float32 ``(n, C, H, W)`` and the output unit
    each map explains (``target``: labels of a classifier, output indices of a
    regressor; None: the predicted class, or output 0)."""
    if not isinstance(model, _BaseCNN):
        raise TypeError(f"model must be a fitted CNNClassifier or CNNRegressor, got "
                        f"{type(model).__name__}.")
    images, _ = model._images_for_prediction(X)
    n = len(images)
    if target is None:
        if isinstance(model, CNNClassifier):
            units = np.argmax(model._forward(images), axis=1)
        else:
            units = np.zeros(n, dtype=np.int64)
    else:
        target = np.asarray(target)
        target = np.full(n, target) if target.ndim == 0 else target
        if target.shape != (n,):
            raise ValueError(f"target must be one value or one per image ({n}), got "
                             f"shape {target.shape}.")
        if isinstance(model, CNNClassifier):
            units = np.searchsorted(model.classes_, target)
            bad = (units >= len(model.classes_)) | (
                model.classes_[np.minimum(units, len(model.classes_) - 1)] != target)
            if bad.any():
                raise ValueError(f"target has labels {np.unique(target[bad])!r} that are "
                                 f"not in classes_ {model.classes_!r}.")
        else:
            if not np.issubdtype(target.dtype, np.integer) or (
                    (target < 0) | (target >= model.n_outputs_)).any():
                raise ValueError(f"target must hold output indices in [0, "
                                 f"{model.n_outputs_ - 1}], got {target!r}.")
            units = target
    return model.module_, images, units.astype(np.int64)


def _input_grid(module, layer, images, device):
    """Where the cells of ``layer``'s map lie in the input (``output_grid``, probed on
    one image)."""
    from skml.neural._modules.cnn import output_grid

    return output_grid(module, layer, _torch().from_numpy(images[:1]).to(device))


def _scaled(maps, shift_min):
    """Each map scaled into [0, 1]: ``(m - min) / (max - min)`` when ``shift_min`` (CAM),
    else ``m / max`` of a non-negative map (Grad-CAM); a constant map is all zeros."""
    torch = _torch()
    flat = maps.reshape(len(maps), -1)
    lo = flat.amin(1, keepdim=True) if shift_min else torch.zeros_like(flat[:, :1])
    span = flat.amax(1, keepdim=True) - lo
    out = torch.where(span > 0, (flat - lo) / torch.where(span > 0, span, 1.0), 0.0)
    return out.reshape(maps.shape).clamp_(0.0, 1.0)


def class_activation_map(model, X, target=None):
    """Class activation maps (CAM): where a global-average-pooling CNN sees a class.

    For a network whose last feature map ``A`` (``K`` channels) is averaged over space
    and fed straight into the output layer ``z_c = sum_k w_ck mean(A_k) + b_c``, the map
    of class ``c`` is ``M_c = sum_k w_ck A_k`` (Zhou et al.): its spatial mean is the
    class score less the bias. Each map is resampled bilinearly to the input resolution
    and scaled to [0, 1] (``(M - min) / (max - min)``; all zeros where ``M`` is
    constant).

    Parameters
    ----------
    model : CNNClassifier or CNNRegressor
        Fitted, with ``global_pool="avg"`` and no hidden fully connected layer
        (``hidden_layer_sizes=()``; the default of the ResNet and DenseNet
        architectures).
    X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
        Images, as for ``model.predict``.
    target : label, array-like of shape (n_samples,) or None, default=None
        The class of each map (one label for all images, or one per image); None: the
        predicted class. For a regressor: output indices (None: output 0).

    Returns
    -------
    maps : ndarray of shape (n_samples, H, W), dtype float32
        Heat maps at the input resolution, in [0, 1].

    Raises
    ------
    TypeError
        If ``model`` is not a CNN estimator.
    ValueError
        If its network has no global average pooling straight into the output layer
        (use :func:`grad_cam`), or ``target`` holds unknown labels.
    NotFittedError
        Before the model is fitted.

    See Also
    --------
    grad_cam : Gradient-weighted maps of any convolutional layer, for any head.

    References
    ----------
    .. [1] B. Zhou, A. Khosla, A. Lapedriza, A. Oliva and A. Torralba, "Learning Deep
       Features for Discriminative Localization", CVPR 2016.
    .. [2] H. Dai, "Note on Machine Learning" (preprint), §3.2, Definition 3.32 and
       Remark 3.23 (global average pooling).
    """
    torch = _torch()
    from skml.neural._modules.cnn import GlobalPool, map_to_input

    module, images, units = _heat_map_inputs(model, X, target)
    head = [name for name, _ in module.head.named_children()]
    if not (isinstance(module.pool, GlobalPool) and module.pool.kind == "avg"
            and head == ["out"]):
        raise ValueError(
            "class_activation_map needs global average pooling straight into the output "
            "layer (global_pool='avg', hidden_layer_sizes=()); this network has "
            f"pool={module.pool!r} and head layers {head}. Use grad_cam instead.")
    weight = module.head.out.weight.detach()  # (n_outputs, K)
    device = weight.device
    size = model.image_shape_[1:]
    out = []
    step = model._inference_batch_size
    was_training = module.training
    module.eval()
    try:
        grid = _input_grid(module, module.get_submodule(module.feature_names[-1]),
                           images, device)
        with torch.no_grad():
            for lo in range(0, len(images), step):
                x = torch.from_numpy(images[lo:lo + step]).to(device)
                feats = module.features(x)  # (b, K, h, w)
                w = weight[torch.from_numpy(units[lo:lo + step]).to(device)]  # (b, K)
                maps = torch.einsum("bk,bkhw->bhw", w, feats)
                out.append(_scaled(map_to_input(maps, size, grid), shift_min=True).cpu())
    finally:
        module.train(was_training)
    return torch.cat(out).numpy()


def grad_cam(model, X, layer=None, target=None):
    """Gradient-weighted class activation maps (Grad-CAM) of any convolutional layer.

    With ``A`` the output of ``layer`` (``K`` channels) and ``y_c`` the network's output
    for the target (a class logit, or a regression output), each channel is weighted by
    the spatial mean of the gradient, ``alpha_k = mean_ij dy_c / dA_k[i, j]``, and the
    map is ``ReLU(sum_k alpha_k A_k)`` (Selvaraju et al.): the regions whose increase
    raises ``y_c``. Each map is resampled bilinearly to the input resolution and
    divided by its maximum (all zeros where it is zero everywhere), so it lies in
    [0, 1]. For global-average-pooling networks and the last feature layer it equals
    :func:`class_activation_map` up to the scaling.

    Parameters
    ----------
    model : CNNClassifier or CNNRegressor
        Fitted.
    X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
        Images, as for ``model.predict``.
    layer : str or None, default=None
        Name of the submodule whose output map is explained (``model.module_``'s
        names: ``"stage2"``, ``"conv1"``, ``"block3.conv1"``, ...; see
        ``model.module_block_names_``). None: the last convolutional block.
    target : label, array-like of shape (n_samples,) or None, default=None
        The class of each map (one label for all images, or one per image); None: the
        predicted class. For a regressor: output indices (None: output 0).

    Returns
    -------
    maps : ndarray of shape (n_samples, H, W), dtype float32
        Heat maps at the input resolution, in [0, 1].

    Raises
    ------
    TypeError
        If ``model`` is not a CNN estimator.
    ValueError
        If ``layer`` names no submodule, or one whose output is not a feature map
        ``(n, K, h, w)``; or ``target`` holds unknown labels.
    NotFittedError
        Before the model is fitted.

    See Also
    --------
    class_activation_map : The maps of global-average-pooling networks, without
        gradients.

    References
    ----------
    .. [1] R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh and D. Batra,
       "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
       Localization", ICCV 2017.
    .. [2] H. Dai, "Note on Machine Learning" (preprint), §3.2 (convolutional layers
       and their feature maps).
    """
    torch = _torch()
    from skml.neural._modules.cnn import map_to_input

    module, images, units = _heat_map_inputs(model, X, target)
    if layer is None:
        layer = module.feature_names[-1]
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a submodule name (str) or None, got {layer!r}.")
    try:
        sub = module.get_submodule(layer)
    except AttributeError:
        raise ValueError(
            f"layer={layer!r} is not a submodule of the network; its blocks are "
            f"{[n for n, _ in module.named_children()]} (dotted names reach inside)."
        ) from None
    device = next(module.parameters()).device
    size = model.image_shape_[1:]
    captured = {}

    def keep(_, __, output):
        captured["A"] = output
    hook = sub.register_forward_hook(keep)
    out = []
    step = model._inference_batch_size
    was_training = module.training
    module.eval()
    try:
        grid = _input_grid(module, sub, images, device)
        with torch.enable_grad():
            for lo in range(0, len(images), step):
                # the input requires a gradient, so every map does (frozen blocks too)
                x = torch.from_numpy(images[lo:lo + step]).to(device).requires_grad_()
                y = module(x)
                A = captured.pop("A")
                if not (torch.is_tensor(A) and A.ndim == 4):
                    raise ValueError(
                        f"layer={layer!r} outputs "
                        f"{tuple(A.shape) if torch.is_tensor(A) else type(A).__name__}, "
                        "not a feature map (n, channels, height, width).")
                idx = torch.from_numpy(units[lo:lo + step]).to(device)
                score = y.gather(1, idx[:, None]).sum()
                (grad,) = torch.autograd.grad(score, A)
                alpha = grad.mean((2, 3), keepdim=True)
                maps = torch.relu((alpha * A).sum(1)).detach()
                out.append(_scaled(map_to_input(maps, size, grid), shift_min=False).cpu())
    finally:
        hook.remove()
        module.train(was_training)
    return torch.cat(out).numpy()


# ---------------------------------------------------------------------- segmentation


class FCNSegmenter(ClassifierMixin, NeuralEstimator):
    """Fully convolutional network for semantic segmentation (a label per pixel).

    An encoder-decoder (``skml.neural._modules.fcn.FCN``): at each of ``len(channels)``
    resolutions two 3x3 convolutions, 2x2 max pooling down, then upsampling back up
    (a transposed convolution, or a resize followed by a convolution), adding the
    encoder's map of the same resolution (FCN's skip connections) or stacking it with
    the upsampled map (U-Net's), and a 1x1 convolution scoring each class at each
    pixel. Trained on the per-pixel cross-entropy or the
    soft Dice loss. Images of any size (not only the training size) are segmented.

    Parameters
    ----------
    channels : tuple of int, default=(16, 32, 64)
        Filters at each resolution, from the input's down; ``len(channels) - 1``
        halvings.
    upsample : {"transposed", "resize_conv"}, default="transposed"
        ``"transposed"``: ``ConvTranspose2d`` of kernel 3 and stride 2 (its uneven
        overlap tends to leave checkerboard artifacts); ``"resize_conv"``:
        nearest-neighbour doubling then a 3x3 convolution (Odena et al.'s remedy).
    loss : {"cross_entropy", "dice"}, default="cross_entropy"
        The per-pixel cross-entropy averaged over each image's pixels, or the soft Dice
        loss ``1 - mean_c (2 sum p_c t_c + 1) / (sum p_c + sum t_c + 1)`` per image
        (``p`` the softmax, ``t`` the one-hot mask; robust to small objects).
    activation : str, default="relu"
        Activation after each convolution (a name of :class:`MLPClassifier`'s).
    norm : {"batch", "layer"} or None, default="batch"
        Normalisation after each convolution.
    skip : {"sum", "concat"}, default="sum"
        How each decoder block receives the encoder's map of its resolution:
        ``"sum"`` adds it to the upsampled map (Long et al.'s FCN); ``"concat"`` stacks
        the two along the channels (Ronneberger et al.'s U-Net), so the block's first
        convolution weighs where and what separately, at twice its input width. On
        ``make_shapes`` masks of four classes, ``"concat"`` with
        ``learning_rate="cosine"`` trains more reliably across seeds (the user guide's
        table).
    %(training_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The pixel labels seen in training.
    n_features_in_ : int
        Channels of the images.
    module_ : torch.nn.Module
        The trained network.
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: masks whose shape is not that of the images, invalid parameters, a
        diverging loss. At prediction: images with another number of channels.

    See Also
    --------
    CNNClassifier : One label per image.
    skml.datasets.make_shapes : Images and masks to learn from.

    Notes
    -----
    ``X`` holds images ``(n_samples, channels, height, width)`` or ``(n_samples, height,
    width)``, with masks ``y`` of shape ``(n_samples, height, width)``; ``predict``
    returns such masks. A 2-D ``X`` holds one pixel per row (one-pixel images with
    ``n_features`` channels) and ``y`` one label per row, the contract sklearn's
    estimator checks use. ``score`` is the mean intersection over union of the classes
    (Definition 3.61 of the notes), not the pixel accuracy.

    The network computes in float32: sklearn's ``check_methods_subset_invariance`` (a
    convolution over a batch and over a single image may round differently) and
    ``check_sample_weight_equivalence_on_dense_data`` are expected to fail at their
    1e-7 tolerances (``skml/utils/_test_common.py``).

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.2 (transposed convolution,
       upsampling, fully convolutional networks: Definitions 3.33-3.34, Remarks
       3.24-3.30) and Definition 3.61 (intersection over union).
    .. [2] J. Long, E. Shelhamer and T. Darrell, "Fully Convolutional Networks for
       Semantic Segmentation", CVPR 2015.
    .. [3] A. Odena, V. Dumoulin and C. Olah, "Deconvolution and Checkerboard
       Artifacts", Distill, 2016.
    .. [4] F. Milletari, N. Navab and S.-A. Ahmadi, "V-Net: Fully Convolutional Neural
       Networks for Volumetric Medical Image Segmentation", 3DV 2016 (the Dice loss).
    .. [5] O. Ronneberger, P. Fischer and T. Brox, "U-Net: Convolutional Networks for
       Biomedical Image Segmentation", MICCAI 2015 (concatenated skip connections).

    Examples
    --------
    >>> from skml.datasets import make_shapes
    >>> from skml.neural import FCNSegmenter
    >>> X, masks = make_shapes(16, task="segmentation", image_size=16, random_state=0)
    >>> seg = FCNSegmenter(channels=(4, 8), max_iter=2, random_state=0).fit(X, masks)
    >>> seg.predict(X[:2]).shape
    (2, 16, 16)
    """

    _parameter_constraints = {
        "channels": [tuple, list],
        "upsample": [StrOptions({"transposed", "resize_conv"})],
        "loss": [StrOptions({"cross_entropy", "dice"})],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "norm": [StrOptions({"batch", "layer"}), None],
        "skip": [StrOptions({"sum", "concat"})],
    }
    _inference_batch_size = 256

    def __init__(self, channels=(16, 32, 64), *, upsample="transposed",
                 loss="cross_entropy", activation="relu", norm="batch", skip="sum",
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    def _check_params(self):
        super()._check_params()
        _int_tuple(self.channels, "channels")

    def _images(self, X, *, reset):
        """``(images float32 (n, C, H, W), dtype, pixel_rows)``."""
        pixel_rows = _n_dims(X) not in (3, 4)
        if pixel_rows:
            X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
            images = X[:, :, None, None]
        else:
            arr = check_array(X, allow_nd=True, dtype=(np.float64, np.float32),
                              input_name="X")
            images = arr if arr.ndim == 4 else arr[:, None]
            if reset:
                self.n_features_in_ = images.shape[1]
            elif images.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has images of {images.shape[1]} channels, but "
                    f"{type(self).__name__} was fitted on {self.n_features_in_}.")
            X = arr
        return as_float32(images), X.dtype, pixel_rows

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None, classes=None):
        images, dtype, pixel_rows = self._images(X, reset=reset)
        small = len(images) < 2 or (self.solver != "lbfgs" and self.batch_size != "auto"
                                    and self.batch_size < 2)
        if self.norm == "batch" and small:
            # the coarsest map may be one pixel: batch statistics need two images
            raise ValueError("norm='batch' needs batches of at least 2 images; got "
                             f"n_samples={len(images)} and batch_size={self.batch_size}.")
        if y is None:
            raise ValueError(f"This {type(self).__name__} estimator requires y to be "
                             "passed, but the target y is None.")
        masks = np.asarray(y)
        if pixel_rows:
            masks = column_or_1d(masks, warn=True)
            if len(masks) != len(images):
                raise ValueError(f"X has {len(images)} rows but y has {len(masks)}.")
            masks = masks[:, None, None]
        elif masks.shape != (len(images),) + images.shape[2:]:
            raise ValueError(
                f"y must hold one mask per image, of shape {(len(images),) + images.shape[2:]}"
                f" (n_samples, height, width), got {masks.shape}.")
        check_classification_targets(masks.ravel())
        labels = np.unique(masks)
        if reset:
            self.classes_ = labels if classes is None else np.unique(np.asarray(classes))
            unknown = np.setdiff1d(labels, self.classes_)
            if len(unknown):
                raise ValueError(f"y contains labels {unknown!r} that are not in "
                                 f"classes={classes!r}.")
        else:
            unknown = np.setdiff1d(labels, self.classes_)
            if len(unknown):
                raise ValueError(f"y contains labels {unknown!r} that are not in "
                                 f"classes_ {self.classes_!r}.")
        weight = self._sample_weight(sample_weight, len(images))
        target = np.searchsorted(self.classes_, masks).astype(np.int64)
        return images, target, weight

    def _build_module(self):
        from skml.neural._modules.fcn import FCN

        return FCN(self.n_features_in_, max(len(self.classes_), 1),
                   channels=_int_tuple(self.channels, "channels"), upsample=self.upsample,
                   activation=self.activation, norm=self.norm, skip=self.skip)

    def _build_loss(self, device):
        torch = _torch()
        F = torch.nn.functional
        if self.loss == "cross_entropy":
            def loss(out, t):
                return F.cross_entropy(out, t, reduction="none").mean((1, 2))
        else:
            def loss(out, t):
                p = torch.softmax(out, 1)
                onehot = F.one_hot(t, out.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
                inter = (p * onehot).sum((2, 3))
                sizes = p.sum((2, 3)) + onehot.sum((2, 3))
                return 1.0 - ((2 * inter + 1.0) / (sizes + 1.0)).mean(1)
        return loss

    def _validation_score(self, data):
        images, target, _ = data
        scores = self._forward(images, check_finite=False)
        if not np.all(np.isfinite(scores)):
            return float("nan")
        n_classes = max(len(self.classes_), 1)
        return float(iou_score(target, scores.argmax(1), labels=np.arange(n_classes),
                               zero_division=np.nan))

    def _scores(self, X):
        check_is_fitted(self, "module_")
        images, dtype, pixel_rows = self._images(X, reset=False)
        return self._forward(images).astype(np.float64), dtype, pixel_rows

    def predict_proba(self, X):
        """Per-pixel class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
            Images (or pixels, one per row).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes, H, W) or (n_samples, n_classes)
            Probability of each class in ``classes_`` order at each pixel, in the dtype
            of ``X``.
        """
        scores, dtype, pixel_rows = self._scores(X)
        proba = softmax(scores, axis=1).astype(dtype, copy=False)
        return proba[:, :, 0, 0] if pixel_rows else proba

    def predict(self, X):
        """Label masks.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
            Images (or pixels, one per row).

        Returns
        -------
        masks : ndarray of shape (n_samples, H, W) or (n_samples,)
            The most probable class at each pixel.
        """
        scores, _, pixel_rows = self._scores(X)
        masks = self.classes_[scores.argmax(1)]
        return masks[:, 0, 0] if pixel_rows else masks

    def score(self, X, y, sample_weight=None):
        """Mean intersection over union of the classes between ``predict(X)`` and the
        masks ``y``, over all pixels (:func:`skml.metrics.iou_score`, ``average="macro"``;
        classes absent from both masks are left out).

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
            Images.
        y : array-like of shape (n_samples, H, W) or (n_samples,)
            True masks.
        sample_weight : None
            Not supported (pixels are counted, not weighted).

        Returns
        -------
        score : float
            The mean IoU, in [0, 1].
        """
        if sample_weight is not None:
            raise ValueError("FCNSegmenter.score does not support sample_weight.")
        pred = self.predict(X)
        y = np.asarray(y)
        if y.shape != pred.shape:
            raise ValueError(f"y has shape {y.shape}, the predicted masks {pred.shape}.")
        # classes absent from both masks are left out of the mean (NaN)
        return float(iou_score(y, pred, labels=np.union1d(self.classes_, np.unique(y)),
                               zero_division=np.nan))

    def fit(self, X, y, sample_weight=None):
        """Train the network on images ``X`` and their masks ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
            Training images (or pixels, one per row).
        y : array-like of shape (n_samples, H, W) or (n_samples,)
            Label masks.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the images in the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(X, y, sample_weight=sample_weight)

    @available_if(_is_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One more epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
            Training images.
        y : array-like of shape (n_samples, H, W) or (n_samples,)
            Label masks.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the images in the loss.
        classes : array-like of shape (n_classes,), default=None
            All the pixel labels, needed on the first call when ``y`` lacks some.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                         classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images (n, H, W) and (n, C, H, W)
        return tags


FCNSegmenter.__doc__ = fill(FCNSegmenter.__doc__)
