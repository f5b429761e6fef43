"""Object detectors of the R-CNN family as estimators: :class:`RCNNDetector`,
:class:`FastRCNNDetector` and :class:`FasterRCNNDetector` (§3.5.6 of the notes).

The networks are plain ``torch.nn`` modules (``skml/neural/_modules/detection.py``) over
the CNN backbones of ``skml/neural/_modules/cnn.py``; the estimators validate images and
targets, compute selective-search proposals, and train the networks with the one loop
of :class:`~skml.neural.NeuralEstimator` (the network returns its dict of losses in
training mode, the loop's default step sums them and records each in ``history_``).
torch is imported lazily.
"""
import hashlib
import numbers
import types

import numpy as np
from sklearn.utils.validation import check_array, check_is_fitted

from skml.neural._base import (
    NeuralEstimator,
    _torch,
    as_float32,
    training_params,
)
from skml.utils import store_init_params
from skml.neural._docs import fill
from skml.neural.mlp import ACTIVATIONS
from skml.utils import Interval, StrOptions

__all__ = ["FastRCNNDetector", "FasterRCNNDetector", "RCNNDetector"]

ARCHITECTURES = ("lenet", "alexnet", "vgg", "resnet", "densenet")
_AUTO_HIDDEN = (128,)  # the RoI head's fully connected widths for "auto"
_MAX_SIDE = 4096
_MAX_COUNT = 2**31 - 1
# Selective search is deterministic for a fixed seed: proposals are computed with this
# one, so the proposals of an image never depend on the estimator's random_state.
_SS_SEED = 0

_REFERENCES = """\
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.5.6: R-CNN (Example 50,
       Remark 3.89), selective search (Definition 3.98, Example 51), Fast R-CNN
       (Example 52, Remark 3.90), Faster R-CNN and the region proposal network
       (Examples 53-54, Definition 3.99); the intersection over union (§3.2.3).
    .. [2] R. Girshick, J. Donahue, T. Darrell and J. Malik, "Rich feature hierarchies
       for accurate object detection and semantic segmentation", CVPR 2014.
    .. [3] R. Girshick, "Fast R-CNN", ICCV 2015.
    .. [4] S. Ren, K. He, R. Girshick and J. Sun, "Faster R-CNN: Towards Real-Time
       Object Detection with Region Proposal Networks", NeurIPS 2015.
    .. [5] J. R. R. Uijlings, K. E. A. van de Sande, T. Gevers and A. W. M. Smeulders,
       "Selective Search for Object Recognition", IJCV 104, 2013.
    .. [6] K. He, G. Gkioxari, P. Dollar and R. Girshick, "Mask R-CNN", ICCV 2017
       (RoIAlign)."""

_BACKBONE_PARAMS = """\
    architecture : {"lenet", "alexnet", "vgg", "resnet", "densenet"}, default="resnet"
        The convolutional backbone, one of :class:`~skml.neural.CNNClassifier`'s
        (``skml.neural._modules.cnn``), scaled for small images.
    channels : "auto" or tuple of int, default="auto"
        Filters of the backbone's convolutions, as :class:`~skml.neural.CNNClassifier`'s
        ``channels``.
    blocks : "auto" or tuple of int, default="auto"
        Layers per block of the backbone, as :class:`~skml.neural.CNNClassifier`'s
        ``blocks``.
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Widths of the fully connected layers of the region head, before its two
        sibling outputs (class scores and box deltas). ``"auto"``: %(hidden_auto)s.
    activation : "auto" or str, default="auto"
        Activation of every layer (a name of :class:`~skml.neural.MLPClassifier`'s
        ``activation``); ``"auto"``: the architecture's.
    norm : "auto", "batch", "layer" or None, default="auto"
        Normalisation after each convolution of the backbone; ``"auto"``: the
        architecture's.
    pooling : {"auto", "avg", "max"}, default="auto"
        The backbone's downsampling pools; ``"auto"``: the architecture's.
    dropout : float, default=0.0
        Dropout probability after each hidden fully connected layer, in [0, 1)."""

_HEAD_PARAMS = """\
    rois_per_image : int, default=%(rois_per_image)s
        Regions sampled per training image for the region head (Fast R-CNN's 128), among
        the proposals and the true boxes.
    positive_fraction : float, default=0.25
        Largest share of positives (regions of IoU at least ``fg_iou_threshold`` with a
        true box) among them, in (0, 1].
    fg_iou_threshold : float, default=0.5
        IoU with a true box from which a region counts as that object; below it a region
        is background.
    score_threshold : float, default=0.05
        Detections of lower class probability are dropped.
    nms_threshold : float, default=0.5
        IoU above which ``batched_nms`` removes the less confident of two detections of
        one class.
    max_detections : int, default=100
        Most detections kept per image (the most confident)."""

_PROPOSAL_PARAMS = """\
    ss_scale : float, default=1.0
        ``scale`` of selective search's graph-based segmentation (larger: larger
        initial segments).
    ss_sigma : float, default=0.8
        ``sigma`` of the Gaussian smoothing before the segmentation.
    ss_min_size : int, default=50
        ``min_size`` (pixels) of the initial segments.
    max_proposals : int, default=500
        Most selective-search proposals used per image (the first ones it returns).
        Proposals are computed once per image and cached (keyed by the image's bytes)
        for the estimator's lifetime, not pickled."""

_ATTRIBUTES = """\
    classes_ : ndarray of shape (n_classes,)
        The object labels seen in training, sorted (``predict``'s labels).
    image_shape_ : tuple of int
        ``(channels, height, width)`` of the training images.
    module_ : torch.nn.Module
        The trained network (``skml.neural._modules.detection``)."""

_DATA_NOTE = """\
    Images are ``(n_images, channels, height, width)`` float arrays (PyTorch's layout;
    ``(n_images, height, width)`` for one channel), used as given (scale them, e.g. to
    [0, 1]); at prediction they may have another height and width than in training,
    but the same channels. Targets are a list with one dict per image: ``"boxes"``, an
    array of shape ``(k, 4)`` of ``(x1, y1, x2, y2)`` in pixels (``x1 < x2``, ``y1 <
    y2``, inside the image) and ``"labels"``, ``k`` non-negative integers; ``k = 0`` (an
    image without objects) is allowed: all of it is background. This is the format of
    ``skml.datasets.make_shapes(task="detection")`` and of torchvision's detectors.
    Selective search (R-CNN and Fast R-CNN) reads RGB or grey images: one or three
    channels, values in [0, 1] (it raises a ``ValueError`` otherwise).

    The input is not a 2-D table: the estimator declares ``two_d_array=False`` in its
    tags, so scikit-learn's estimator checks (which feed tables) do not apply; the API
    checks that do not need data are run by ``tests/neural/test_detectors.py``."""


# the Raises section of the detectors whose network sees whole images
_RAISES = """\
    ValueError
        At ``fit``: invalid parameters; images that are not ``(n, C, H, W)`` /
        ``(n, H, W)`` or too small for the architecture; targets that are not one dict
        per image, boxes not of shape ``(k, 4)``, with ``x2 <= x1`` or ``y2 <= y1``,
        outside the image or non-finite, labels not one non-negative integer per box,
        no box at all; with ``warm_start`` or ``partial_fit``, labels outside
        ``classes_``. At prediction: images of other channels.
    TypeError
        When ``y`` is not a list of dicts with ``"boxes"`` and ``"labels"``."""


def _tuple_of(value, name, kind, low):
    """A non-empty tuple of positive numbers of ``kind`` from ``value``."""
    try:
        out = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of numbers, got {value!r}.") from None
    if not out or not all(isinstance(v, kind) and not isinstance(v, bool) and v > low
                          and np.isfinite(v) for v in out):
        raise ValueError(f"{name} must be a non-empty tuple of positive finite numbers, "
                         f"got {value!r}.")
    return out




class _BaseDetector(NeuralEstimator):
    """Shared parts of the detectors: images, targets, the backbone configuration,
    prediction and scoring."""

    _parameter_constraints = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "channels": [StrOptions({"auto"}), tuple, list],
        "blocks": [StrOptions({"auto"}), tuple, list],
        "hidden_layer_sizes": [StrOptions({"auto"}), tuple, list],
        "activation": [StrOptions({"auto", *ACTIVATIONS})],
        "norm": [StrOptions({"auto", "batch", "layer"}), None],
        "pooling": [StrOptions({"auto", "avg", "max"})],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "rois_per_image": [Interval(numbers.Integral, 1, _MAX_COUNT)],
        "positive_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
        "fg_iou_threshold": [Interval(numbers.Real, 0, 1, closed="right")],
        "score_threshold": [Interval(numbers.Real, 0, 1, closed="left")],
        "nms_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "max_detections": [Interval(numbers.Integral, 1, _MAX_COUNT)],
    }
    # images per forward pass at prediction
    _inference_batch_size = 16
    # whether the network takes selective-search proposals (R-CNN, Fast R-CNN)
    _uses_proposals = True
    _global_pool = "avg"

    # ------------------------------------------------------------------ parameters

    def _check_params(self):
        super()._check_params()
        self._cnn_config()

    def _cnn_config(self):
        """The CNN builder's keyword arguments (``build_cnn``), checked as
        :class:`~skml.neural.CNNClassifier` checks them."""
        from skml.neural.vision import _BaseCNN

        view = types.SimpleNamespace(
            architecture=self.architecture, channels=self.channels, blocks=self.blocks,
            hidden_layer_sizes=self.hidden_layer_sizes, activation=self.activation,
            norm=self.norm, pooling=self.pooling, global_pool=self._global_pool,
            dropout=self.dropout)
        return _BaseCNN._config(view)

    def _head_hidden(self, config):
        return config.get("hidden", _AUTO_HIDDEN)

    def _activation(self, config):
        from skml.neural._modules.cnn import DEFAULTS

        return config.get("activation", DEFAULTS[self.architecture]["activation"])

    def _detector_kwargs(self):
        return dict(rois_per_image=self.rois_per_image,
                    positive_fraction=self.positive_fraction,
                    fg_iou_threshold=self.fg_iou_threshold,
                    score_threshold=self.score_threshold,
                    nms_threshold=self.nms_threshold, max_detections=self.max_detections)

    # ------------------------------------------------------------------ the data

    def _validate_images(self, X, *, reset):
        """Float32 images ``(n, C, H, W)``; sets ``image_shape_`` when ``reset``."""
        if not hasattr(X, "ndim"):
            X = np.asarray(X)
        ndim = X.ndim
        if ndim not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} takes images of shape (n_images, channels, height,"
                f" width) or (n_images, height, width), got an array of {ndim} "
                "dimension(s).")
        arr = check_array(X, allow_nd=True, dtype=(np.float64, np.float32),
                          input_name="X")
        if arr.ndim == 3:
            arr = arr[:, None]
        c, h, w = arr.shape[1:]
        if reset:
            self._check_image_size((c, h, w))
            self.image_shape_ = (c, h, w)
        elif c != self.image_shape_[0]:
            raise ValueError(
                f"X has images of {c} channel(s), but {type(self).__name__} was fitted "
                f"on images of {self.image_shape_[0]}.")
        return as_float32(arr)

    def _check_image_size(self, shape):
        """A clear error when the network cannot take images (or crops) of ``shape``."""
        torch = _torch()
        try:
            with torch.device("meta"):
                self._build_network(shape, 1)
        except RuntimeError:
            raise ValueError(
                f"images of {shape[1]}x{shape[2]} pixels are too small for "
                f"architecture={self.architecture!r}: its convolutions and pooling leave "
                "no feature map; give larger images or another architecture.") from None

    def _validate_targets(self, y, images, *, reset):
        """The checked targets as NumPy ``(boxes float32 (k, 4), labels)`` per image;
        sets ``classes_`` when ``reset``."""
        n, _, h, w = images.shape
        if isinstance(y, dict) or not isinstance(y, (list, tuple)):
            raise TypeError(
                f"y must be a list of {n} dicts with 'boxes' and 'labels' (one per image), "
                f"got {type(y).__name__}.")
        if len(y) != n:
            raise ValueError(f"y holds {len(y)} targets for {n} images; give one dict "
                             "per image.")
        out = []
        for i, t in enumerate(y):
            if not isinstance(t, dict) or "boxes" not in t or "labels" not in t:
                raise TypeError(f"y[{i}] must be a dict with 'boxes' and 'labels', got "
                                f"{t!r:.80}.")
            boxes = np.asarray(t["boxes"], dtype=np.float64)
            if boxes.size == 0:
                boxes = boxes.reshape(0, 4)
            if boxes.ndim != 2 or boxes.shape[1] != 4:
                raise ValueError(f"y[{i}]['boxes'] must have shape (k, 4), got "
                                 f"{boxes.shape}.")
            if not np.all(np.isfinite(boxes)):
                raise ValueError(f"y[{i}]['boxes'] has non-finite values.")
            labels = np.asarray(t["labels"])
            if labels.size == 0:
                labels = labels.reshape(0)
            if labels.ndim != 1 or len(labels) != len(boxes):
                raise ValueError(f"y[{i}] has {len(boxes)} boxes but labels of shape "
                                 f"{labels.shape}; give one label per box.")
            if len(labels) and not (np.issubdtype(labels.dtype, np.integer)
                                    or (np.issubdtype(labels.dtype, np.floating)
                                        and np.all(np.abs(labels) < 2.0**63)
                                        and np.all(labels == np.round(labels)))):
                raise ValueError(f"y[{i}]['labels'] must be integers, got dtype "
                                 f"{labels.dtype}.")
            if len(labels) and labels.dtype.kind == "u" \
                    and labels.max() > np.iinfo(np.int64).max:
                raise ValueError(f"y[{i}]['labels'] must fit in int64, got "
                                 f"{int(labels.max())}.")
            labels = labels.astype(np.int64)
            if np.any(labels < 0):
                raise ValueError(f"y[{i}]['labels'] must be non-negative integers (class "
                                 f"labels), got {labels[labels < 0][0]}.")
            bad = np.flatnonzero((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))
            if len(bad):
                raise ValueError(
                    f"y[{i}]['boxes'][{bad[0]}] = {boxes[bad[0]].tolist()} is not a box "
                    "(x1, y1, x2, y2) with x1 < x2 and y1 < y2.")
            outside = np.flatnonzero((boxes[:, 0] < 0) | (boxes[:, 1] < 0)
                                     | (boxes[:, 2] > w) | (boxes[:, 3] > h))
            if len(outside):
                raise ValueError(
                    f"y[{i}]['boxes'][{outside[0]}] = {boxes[outside[0]].tolist()} is not "
                    f"inside the image of {w}x{h} pixels ([0, width] x [0, height]).")
            out.append((boxes.astype(np.float32), labels))
        seen = np.unique(np.concatenate([lab for _, lab in out]))
        if reset is None:  # scoring: any labels (unseen ones are simply never found)
            pass
        elif reset:
            if len(seen) == 0:
                raise ValueError("y has no boxes at all: at least one object is needed to "
                                 "learn its class.")
            self.classes_ = seen
        else:
            unknown = np.setdiff1d(seen, self.classes_)
            if len(unknown):
                raise ValueError(f"y has labels {unknown.tolist()} that are not in classes_ "
                                 f"{self.classes_.tolist()}.")
        return out

    def _proposals(self, images):
        """Selective-search proposals ``(p, 4)`` float32 per image (cached by the image's
        bytes); never empty (the whole image where search finds nothing)."""
        from skml.neural.detection import selective_search

        cache = self.__dict__.setdefault("_proposal_cache", {})
        params = (float(self.ss_scale), float(self.ss_sigma), int(self.ss_min_size))
        out = []
        for img in images:
            key = (hashlib.sha1(np.ascontiguousarray(img).tobytes()).hexdigest(),
                   img.shape, params)
            props = cache.get(key)
            if props is None:
                # channels last: selective search reads (H, W, 3) or (H, W, 1)
                props = np.asarray(selective_search(
                    np.moveaxis(img, 0, -1), scale=params[0], sigma=params[1], min_size=params[2],
                    random_state=_SS_SEED), dtype=np.float32).reshape(-1, 4)
                cache[key] = props
            props = props[:int(self.max_proposals)]
            if len(props) == 0:
                props = np.array([[0, 0, img.shape[-1], img.shape[-2]]], dtype=np.float32)
            out.append(props)
        return out

    def _network_targets(self, checked, proposals):
        """The network's targets: torch tensors (CPU), labels counted from 1."""
        torch = _torch()
        out = []
        for i, (boxes, labels) in enumerate(checked):
            t = {"boxes": torch.from_numpy(boxes),
                 "labels": torch.from_numpy(np.searchsorted(self.classes_, labels) + 1)}
            if proposals is not None:
                t["proposals"] = torch.from_numpy(proposals[i])
            out.append(t)
        return out

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        images = self._validate_images(X, reset=reset)
        checked = self._validate_targets(y, images, reset=reset)
        proposals = self._proposals(images) if self._uses_proposals else None
        return images, self._network_targets(checked, proposals), None

    # ------------------------------------------------------------------ training

    def _build_loss(self, device):
        return None  # the network computes its own losses (a dict, in training mode)

    def _build_module(self):
        return self._build_network(self.image_shape_, len(self.classes_))

    def _train_step(self, batch, optimizers):
        # the anchors' and regions' sampling draws from the loop's seeded generator
        self.module_.generator = self._rng
        try:
            return super()._train_step(batch, optimizers)
        finally:
            self.module_.generator = None

    def _validation_score(self, data):
        """mAP@0.5 of the held-out images (what ``early_stopping`` maximises)."""
        from skml.metrics import mean_average_precision

        images, targets = data[0], data[1]
        proposals = ([t["proposals"].numpy() for t in targets] if self._uses_proposals
                     else None)
        preds = self._detect(images, proposals)
        truth = [{"boxes": t["boxes"].numpy(),
                  "labels": self.classes_[t["labels"].numpy() - 1]} for t in targets]
        return float(mean_average_precision(truth, preds, iou_threshold=0.5))

    # ------------------------------------------------------------------ prediction

    def _detect(self, images, proposals):
        """Detections (user format) of float32 images, in eval mode, in batches."""
        torch = _torch()
        module = self.module_
        device = next(module.parameters()).device
        was_training = module.training
        module.eval()
        step = self._inference_batch_size
        out = []
        try:
            with torch.no_grad(), self._torch_threads(min(len(images), step)):
                for start in range(0, len(images), step):
                    xb = torch.from_numpy(images[start:start + step]).to(device)
                    if proposals is None:
                        dets = module(xb)
                    else:
                        dets = module(xb, [{"proposals": torch.from_numpy(p)}
                                           for p in proposals[start:start + step]])
                    out.extend(dets)
        finally:
            module.train(was_training)
        return [{"boxes": d["boxes"].cpu().numpy().astype(np.float32),
                 "labels": self.classes_[d["labels"].cpu().numpy() - 1],
                 "scores": d["scores"].cpu().numpy().astype(np.float32)} for d in out]

    def predict(self, X):
        """Detect the objects of images.

        Parameters
        ----------
        X : array-like of shape (n_images, channels, height, width) or \
(n_images, height, width)
            Images, with the channels of the training images.

        Returns
        -------
        detections : list of dict
            Per image, ``{"boxes": ndarray (m, 4) float32 (x1, y1, x2, y2) in pixels,
            "labels": ndarray (m,) of classes_, "scores": ndarray (m,) float32}``, by
            decreasing score.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            On images that are not 3-D or 4-D, have other channels than in training,
            or hold NaN/inf.
        """
        check_is_fitted(self, "module_")
        images = self._validate_images(X, reset=False)
        proposals = self._proposals(images) if self._uses_proposals else None
        return self._detect(images, proposals)

    def score(self, X, y):
        """Mean average precision at IoU 0.5 of the detections of ``X`` against ``y``
        (:func:`skml.metrics.mean_average_precision`).

        Parameters
        ----------
        X : array-like of shape (n_images, channels, height, width) or \
(n_images, height, width)
            Images.
        y : list of dict
            True ``{"boxes", "labels"}`` per image.

        Returns
        -------
        score : float
            mAP@0.5 in [0, 1].

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            On invalid images or targets.
        """
        check_is_fitted(self, "module_")
        from skml.metrics import mean_average_precision

        images = self._validate_images(X, reset=False)
        checked = self._validate_targets(y, images, reset=None)
        truth = [{"boxes": b, "labels": lab} for b, lab in checked]
        proposals = self._proposals(images) if self._uses_proposals else None
        return float(mean_average_precision(truth, self._detect(images, proposals),
                                            iou_threshold=0.5))

    def fit(self, X, y):
        """Train the detector on images ``X`` and their objects ``y``.

        Parameters
        ----------
        X : array-like of shape (n_images, channels, height, width) or \
(n_images, height, width)
            Training images.
        y : list of dict
            Per image, ``{"boxes": (k, 4) (x1, y1, x2, y2) in pixels, "labels": (k,)
            non-negative ints}``; ``k`` may be 0.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(X, y)

    # ------------------------------------------------------------------ pickling

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_proposal_cache", None)  # a cache, rebuilt on demand
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # images (n, C, H, W) and a list of per-image target dicts, not a 2-D table
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        tags.target_tags.one_d_labels = False
        tags.target_tags.two_d_labels = False
        return tags


class _SelectiveSearchMixin:
    """The selective-search parameters' constraints (R-CNN and Fast R-CNN)."""

    _parameter_constraints = {
        "ss_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "ss_sigma": [Interval(numbers.Real, 0, None, closed="left")],
        "ss_min_size": [Interval(numbers.Integral, 1, _MAX_COUNT)],
        "max_proposals": [Interval(numbers.Integral, 1, _MAX_COUNT)],
    }


class FasterRCNNDetector(_BaseDetector):
    """Faster R-CNN object detector (region proposal network + Fast R-CNN head), trained
    with PyTorch.

    One backbone pass per image gives a feature map shared by a region proposal network
    (RPN: for every position and each of ``len(anchor_sizes) * len(aspect_ratios)``
    anchors, an objectness score and box deltas) and Fast R-CNN's region head: the
    RPN's best ``rpn_pre_nms_top_n`` anchors per image are decoded, reduced by NMS at
    ``rpn_nms_threshold`` to ``rpn_post_nms_top_n`` proposals, each pooled from the
    feature map (``roi_pooling``) to ``pool_size`` x ``pool_size`` and classified (one
    class per label, plus background) with per-class box regression; detections are
    filtered by ``score_threshold`` and per-class NMS. Trained end to end (the
    approximate joint training of Ren et al.) on the sum of four losses, each recorded
    in ``history_``: the RPN's objectness (binary cross-entropy over
    ``rpn_batch_size_per_image`` sampled anchors, half positive at most: IoU >= 0.7 or
    an object's best anchor; negative below 0.3) and box (smooth L1) losses, and the
    head's classification (cross-entropy) and box losses. The training parameters are
    scikit-learn's ``MLPClassifier`` vocabulary.

    Parameters
    ----------
%(backbone_params)s
    roi_pooling : {"align", "pool"}, default="align"
        How a region's features are pooled: bilinear RoIAlign (Mask R-CNN) or the max
        RoI pooling of Fast R-CNN (footnote 27 of the notes).
    pool_size : int, default=7
        Side of the pooled grid.
    anchor_sizes : tuple of float, default=(16, 32, 64)
        Anchor sides in pixels (the square root of the anchor's area).
    aspect_ratios : tuple of float, default=(0.5, 1.0, 2.0)
        Anchor height / width ratios.
    rpn_nms_threshold : float, default=0.7
        IoU of the NMS among proposals.
    rpn_pre_nms_top_n : int, default=1000
        Anchors of highest objectness decoded per image before that NMS.
    rpn_post_nms_top_n : int, default=300
        Proposals kept per image after it.
    rpn_batch_size_per_image : int, default=256
        Anchors sampled per training image for the RPN's losses (Example 54's 128
        positive and 128 negative).
%(head_params)s
    %(training_params)s

    Attributes
    ----------
%(attributes)s
    %(training_attributes)s

    Raises
    ------
%(raises)s

    See Also
    --------
    FastRCNNDetector : The same head on selective-search proposals.
    RCNNDetector : One CNN pass per proposal.

    Notes
    -----
%(data_note)s

    ``fit`` does not take ``sample_weight``. ``history_`` records per epoch ``loss``
    (their sum plus the L2 term) and ``rpn_objectness``, ``rpn_box``, ``cls``,
    ``box``; ``early_stopping`` maximises the held-out images' mAP@0.5.

    References
    ----------
%(references)s

    Examples
    --------
    >>> from skml.datasets import make_shapes
    >>> from skml.neural import FasterRCNNDetector
    >>> X, y = make_shapes(8, task="detection", image_size=32, random_state=0)
    >>> det = FasterRCNNDetector(channels=(8, 8), blocks=(1, 1), anchor_sizes=(8, 16),
    ...                          max_iter=2, random_state=0).fit(X, y)
    >>> sorted(det.predict(X[:1])[0])
    ['boxes', 'labels', 'scores']
    """

    _parameter_constraints = {
        "roi_pooling": [StrOptions({"align", "pool"})],
        "pool_size": [Interval(numbers.Integral, 1, 256)],
        "anchor_sizes": [tuple, list],
        "aspect_ratios": [tuple, list],
        "rpn_nms_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "rpn_pre_nms_top_n": [Interval(numbers.Integral, 1, _MAX_COUNT)],
        "rpn_post_nms_top_n": [Interval(numbers.Integral, 1, _MAX_COUNT)],
        "rpn_batch_size_per_image": [Interval(numbers.Integral, 1, _MAX_COUNT)],
    }
    _uses_proposals = False

    def __init__(self, architecture="resnet", *, channels="auto", blocks="auto",
                 hidden_layer_sizes="auto", activation="auto", norm="auto", pooling="auto",
                 dropout=0.0, roi_pooling="align", pool_size=7, anchor_sizes=(16, 32, 64),
                 aspect_ratios=(0.5, 1.0, 2.0), rpn_nms_threshold=0.7,
                 rpn_pre_nms_top_n=1000, rpn_post_nms_top_n=300,
                 rpn_batch_size_per_image=256, rois_per_image=128, positive_fraction=0.25,
                 fg_iou_threshold=0.5, score_threshold=0.05, nms_threshold=0.5,
                 max_detections=100, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.roi_pooling = roi_pooling
        self.pool_size = pool_size
        self.anchor_sizes = anchor_sizes
        self.aspect_ratios = aspect_ratios
        self.rpn_nms_threshold = rpn_nms_threshold
        self.rpn_pre_nms_top_n = rpn_pre_nms_top_n
        self.rpn_post_nms_top_n = rpn_post_nms_top_n
        self.rpn_batch_size_per_image = rpn_batch_size_per_image

    def _check_params(self):
        super()._check_params()
        _tuple_of(self.anchor_sizes, "anchor_sizes", numbers.Real, 0)
        _tuple_of(self.aspect_ratios, "aspect_ratios", numbers.Real, 0)

    def _build_network(self, image_shape, n_classes):
        from skml.neural._modules.detection import FasterRCNN, conv_backbone

        config = self._cnn_config()
        hidden = self._head_hidden(config)
        config.pop("hidden", None)
        config.pop("dropout", None)
        c, h, w = image_shape
        backbone, out_channels = conv_backbone(self.architecture, c, (h, w), **config)
        return FasterRCNN(
            backbone, out_channels, n_classes, anchor_sizes=self.anchor_sizes,
            aspect_ratios=self.aspect_ratios, rpn_nms_threshold=self.rpn_nms_threshold,
            pre_nms_top_n=self.rpn_pre_nms_top_n, post_nms_top_n=self.rpn_post_nms_top_n,
            rpn_batch_size=self.rpn_batch_size_per_image, pool_size=self.pool_size,
            hidden=hidden, pooling=self.roi_pooling,
            activation=self._activation(config), dropout=float(self.dropout),
            **self._detector_kwargs())



class FastRCNNDetector(_SelectiveSearchMixin, _BaseDetector):
    """Fast R-CNN object detector on selective-search proposals, trained with PyTorch.

    Selective search proposes up to ``max_proposals`` regions per image (computed once
    per image and cached); one backbone pass gives the image's feature map, from which
    each region's features are pooled (``roi_pooling``: RoIAlign or the max RoI pooling
    of the paper) to ``pool_size`` x ``pool_size`` and fed to fully connected layers
    ending in two siblings: a softmax over the classes plus background and per-class
    box regression. Detections are filtered by ``score_threshold`` and per-class NMS.
    Trained on the cross-entropy (``cls``) plus the smooth L1 box loss (``box``) of
    ``rois_per_image`` sampled regions per image (the proposals and the true boxes),
    each recorded in ``history_``. The training parameters are scikit-learn's
    ``MLPClassifier`` vocabulary.

    Parameters
    ----------
%(backbone_params)s
    roi_pooling : {"align", "pool"}, default="align"
        How a region's features are pooled: bilinear RoIAlign (Mask R-CNN) or the max
        RoI pooling of Fast R-CNN (footnote 27 of the notes).
    pool_size : int, default=7
        Side of the pooled grid.
%(proposal_params)s
%(head_params)s
    %(training_params)s

    Attributes
    ----------
%(attributes)s
    %(training_attributes)s

    Raises
    ------
%(raises)s

    See Also
    --------
    FasterRCNNDetector : Learned proposals (an RPN) instead of selective search.
    RCNNDetector : One CNN pass per proposal.

    Notes
    -----
%(data_note)s

    ``fit`` does not take ``sample_weight``. ``history_`` records per epoch ``loss``,
    ``cls`` and ``box``; ``early_stopping`` maximises the held-out images' mAP@0.5.

    References
    ----------
%(references)s

    Examples
    --------
    >>> from skml.datasets import make_shapes
    >>> from skml.neural import FastRCNNDetector
    >>> X, y = make_shapes(4, task="detection", image_size=32, random_state=0)
    >>> det = FastRCNNDetector(channels=(8, 8), blocks=(1, 1), ss_min_size=20,
    ...                        max_iter=2, random_state=0).fit(X, y)
    >>> sorted(det.predict(X[:1])[0])
    ['boxes', 'labels', 'scores']
    """

    _parameter_constraints = {
        "roi_pooling": [StrOptions({"align", "pool"})],
        "pool_size": [Interval(numbers.Integral, 1, 256)],
    }

    def __init__(self, architecture="resnet", *, channels="auto", blocks="auto",
                 hidden_layer_sizes="auto", activation="auto", norm="auto", pooling="auto",
                 dropout=0.0, roi_pooling="align", pool_size=7, ss_scale=1.0, ss_sigma=0.8,
                 ss_min_size=50, max_proposals=500, rois_per_image=128,
                 positive_fraction=0.25, fg_iou_threshold=0.5, score_threshold=0.05,
                 nms_threshold=0.5, max_detections=100, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.roi_pooling = roi_pooling
        self.pool_size = pool_size

    def _build_network(self, image_shape, n_classes):
        from skml.neural._modules.detection import FastRCNN, conv_backbone

        config = self._cnn_config()
        hidden = self._head_hidden(config)
        config.pop("hidden", None)
        config.pop("dropout", None)
        c, h, w = image_shape
        backbone, out_channels = conv_backbone(self.architecture, c, (h, w), **config)
        return FastRCNN(backbone, out_channels, n_classes, pool_size=self.pool_size,
                        hidden=hidden, pooling=self.roi_pooling,
                        activation=self._activation(config),
                        dropout=float(self.dropout), **self._detector_kwargs())


class RCNNDetector(_SelectiveSearchMixin, _BaseDetector):
    """R-CNN object detector: a CNN run on every selective-search proposal, trained with
    PyTorch.

    Selective search proposes up to ``max_proposals`` regions per image (computed once
    per image and cached); each region is cropped from the image and warped to
    ``crop_size`` x ``crop_size`` pixels (bilinear sampling), and a whole CNN (backbone,
    pooling, fully connected layers) gives its class scores (the classes plus
    background) and per-class box regression; detections are filtered by
    ``score_threshold`` and per-class NMS. Trained on the cross-entropy (``cls``) plus
    the smooth L1 box loss (``box``) of ``rois_per_image`` sampled regions per image.
    The original's per-class linear SVMs on frozen CNN features are replaced by the
    network's own softmax layer, trained jointly (as Fast R-CNN showed to be as
    accurate). One network pass per region makes it the slowest of the three
    (Remark 3.89). The training parameters are scikit-learn's ``MLPClassifier``
    vocabulary.

    Parameters
    ----------
%(backbone_params)s
    global_pool : {"auto", "avg", "max"} or None, default=None
        How the CNN's last feature map becomes a vector, as
        :class:`~skml.neural.CNNClassifier`'s ``global_pool``. The default flattens it:
        a global pool forgets where in the crop the features are, which the box
        regression needs.
    crop_size : int, default=32
        Side in pixels of the warped crops the CNN sees.
%(proposal_params)s
%(head_params)s
    %(training_params)s

    Attributes
    ----------
%(attributes)s
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters; images that are not ``(n, C, H, W)`` /
        ``(n, H, W)`` or crops too small for the architecture; targets that are not one
        dict per image, boxes not of shape ``(k, 4)``, with ``x2 <= x1`` or ``y2 <=
        y1``, outside the image or non-finite, labels not one non-negative integer per
        box, no box at all; with ``warm_start`` or ``partial_fit``, labels outside
        ``classes_``. At prediction: images of other channels.
    TypeError
        When ``y`` is not a list of dicts with ``"boxes"`` and ``"labels"``.

    See Also
    --------
    FastRCNNDetector : One backbone pass per image, regions pooled from its features.
    FasterRCNNDetector : Learned proposals.

    Notes
    -----
%(data_note)s

    ``fit`` does not take ``sample_weight``. ``history_`` records per epoch ``loss``,
    ``cls`` and ``box``; ``early_stopping`` maximises the held-out images' mAP@0.5.

    References
    ----------
%(references)s

    Examples
    --------
    >>> from skml.datasets import make_shapes
    >>> from skml.neural import RCNNDetector
    >>> X, y = make_shapes(4, task="detection", image_size=32, random_state=0)
    >>> det = RCNNDetector(channels=(8,), blocks=(1,), crop_size=16, ss_min_size=20,
    ...                    max_proposals=50, max_iter=2, random_state=0).fit(X, y)
    >>> sorted(det.predict(X[:1])[0])
    ['boxes', 'labels', 'scores']
    """

    _parameter_constraints = {
        "global_pool": [StrOptions({"auto", "avg", "max"}), None],
        "crop_size": [Interval(numbers.Integral, 1, _MAX_SIDE)],
    }

    def __init__(self, architecture="resnet", *, channels="auto", blocks="auto",
                 hidden_layer_sizes="auto", activation="auto", norm="auto", pooling="auto",
                 global_pool=None, dropout=0.0, crop_size=32, ss_scale=1.0, ss_sigma=0.8,
                 ss_min_size=50, max_proposals=500, rois_per_image=64,
                 positive_fraction=0.25, fg_iou_threshold=0.5, score_threshold=0.05,
                 nms_threshold=0.5, max_detections=100, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.global_pool = global_pool
        self.crop_size = crop_size

    @property
    def _global_pool(self):
        return self.global_pool

    def _head_hidden(self, config):
        return config.get("hidden")  # None: the architecture's own head

    def _build_network(self, image_shape, n_classes):
        from skml.neural._modules.detection import RCNN, rcnn_network

        config = self._cnn_config()
        size = int(self.crop_size)
        try:
            net = rcnn_network(self.architecture, image_shape[0], n_classes, size,
                               **config)
        except RuntimeError:
            raise ValueError(
                f"crop_size={size} is too small for architecture={self.architecture!r}: "
                "its convolutions and pooling leave no feature map; give a larger "
                "crop_size.") from None
        return RCNN(net, n_classes, crop_size=size, **self._detector_kwargs())


for _cls, _values in (
        (FasterRCNNDetector, dict(hidden_auto="(128,)", rois_per_image="128")),
        (FastRCNNDetector, dict(hidden_auto="(128,)", rois_per_image="128")),
        (RCNNDetector, dict(hidden_auto="the architecture's head", rois_per_image="64"))):
    _cls.__doc__ = fill(_cls.__doc__, backbone_params=_BACKBONE_PARAMS,
                        head_params=_HEAD_PARAMS, proposal_params=_PROPOSAL_PARAMS,
                        attributes=_ATTRIBUTES, data_note=_DATA_NOTE, raises=_RAISES,
                        references=_REFERENCES, **_values)
