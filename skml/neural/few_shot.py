"""Few-shot learning as an estimator: prototypical networks trained on episodes, which
classify samples of classes never seen in training from a small support set (or,
zero-shot, from class attribute vectors).

The episodes are the batches of the one loop of :class:`~skml.neural.NeuralEstimator`
(its ``_batches`` hook, drawn from the loop's seeded generator); the network and the
prototype logits are in ``skml/neural/_modules/contrastive.py``. torch is imported
lazily.
"""
import math
import numbers

import numpy as np
from scipy.special import softmax
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from skml.neural._base import _torch, as_float32, require_y, training_params
from skml.neural.contrastive import _EmbeddingEstimator, _fill
from skml.utils import Interval, StrOptions, store_init_params

__all__ = ["PrototypicalNetwork"]

_MAX_EPISODE = 2**16  # most classes / shots / queries per episode


def _no_partial_fit(est):
    raise AttributeError(
        "PrototypicalNetwork has no partial_fit: its prototypes_ are the class means of "
        "the training data's embeddings, computed at the end of fit; use warm_start.")


class PrototypicalNetwork(ClassifierMixin, _EmbeddingEstimator):
    """Prototypical network for few-shot and zero-shot classification, trained with
    PyTorch.

    Training is episodic (k-way n-shot, Definitions 3.110-3.111 of the notes): each
    episode draws ``n_way`` of the training classes, ``n_shot`` support and ``n_query``
    query samples of each; a class's prototype is the mean embedding of its support
    samples, and the encoder learns to classify the queries by a softmax over minus
    their squared Euclidean distances to the prototypes (Snell et al.). The network
    thus learns *to compare*, not the training classes, and at prediction time
    ``predict(X, support=(X_s, y_s))`` classifies samples among the classes of any
    support set, classes never seen in training included; one sample per class is
    one-shot learning. Without a support set, the prototypes of the training classes
    (``prototypes_``) are used, as a plain classifier.

    Zero-shot (no labelled sample of the new classes): ``fit(X, y,
    class_attributes=...)`` also trains an embedding ``g`` of class attribute vectors
    (descriptions of the classes) so that ``g(attributes)`` serves as the prototype;
    ``predict(X, class_attributes=(A, labels))`` then classifies among classes known
    only by their attributes.

    %(input_note)s

    Parameters
    ----------
    n_way : int, default=5
        Classes per training episode (``k`` of k-way); at most the number of classes in
        ``y``.
    n_shot : int, default=5
        Support samples per class in a training episode.
    n_query : int, default=5
        Query samples per class in a training episode. A class with fewer than
        ``n_shot + n_query`` samples is drawn with replacement.
    n_components : int, default=64
        Dimension of the embedding.
    augmentation : None, "auto" or callable, default=None
        Random transformation of the episodes' samples in training, as
        :class:`SimCLR`'s ``augmentation`` (``"auto"``: small rotations, shifts and
        noise for images, masking and noise for rows); invariances learned on the
        training classes carry over to new ones. None: none.
    %(encoder_params)s
    %(training_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The training classes.
    prototypes_ : ndarray of shape (n_classes, n_components)
        Mean embedding of each training class (the prototypes ``predict`` uses without
        a support set).
    class_attributes_ : ndarray of shape (n_classes, n_attributes) or None
        The training classes' attribute vectors given to ``fit``.
    n_attributes_ : int
        Length of the attribute vectors (0 without ``class_attributes``).
    %(encoder_attributes)s
    encoder_ : str
        The encoder used (``encoder`` with "auto" resolved).
    %(training_attributes)s

    Raises
    ------
    ImportError
        When PyTorch is not installed.

    Notes
    -----
    %(float32_note)s

    Known debt, as an expected failure of scikit-learn's checks:
    ``check_methods_subset_invariance``: ``predict_proba`` is a softmax over squared
    distances of float32 embeddings, and a batch and a single row may round in the
    last bit, which grows to ~1e-6 relative (the check asks 1e-7).

    With few training classes (the digits 0-4, say), a linear embedding
    (``hidden_layer_sizes=()``) with ``augmentation="auto"`` and a few epochs transfers
    best to new classes; deeper ones specialise to the training classes (user guide).

    An epoch is ``ceil(n_samples / (n_way * (n_shot + n_query)))`` episodes, each a
    batch of the training loop (``batch_size`` and ``shuffle`` are not used: episodes
    are random). No sample weights; no ``partial_fit`` (``prototypes_`` are computed
    from all training data at the end of ``fit``; ``warm_start`` continues training).

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.7, Definitions
       3.110-3.111, Examples 61-63 (k-way n-shot support sets, one-shot and zero-shot
       learning).
    .. [2] J. Snell, K. Swersky and R. Zemel, "Prototypical Networks for Few-shot
       Learning", NeurIPS 2017.
    .. [3] O. Vinyals et al., "Matching Networks for One Shot Learning", NeurIPS 2016
       (episodic training).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skml.neural import PrototypicalNetwork
    >>> X, y = load_digits(return_X_y=True)
    >>> seen = y < 5
    >>> net = PrototypicalNetwork(max_iter=5, random_state=0).fit(
    ...     X[seen] / 16, y[seen])  # doctest: +SKIP
    >>> support = (X[~seen][:50:10] / 16, y[~seen][:50:10])  # one shot per new class
    >>> net.predict(X[~seen] / 16, support=support)  # doctest: +SKIP
    """

    _parameter_constraints = {
        "n_way": [Interval(numbers.Integral, 1, _MAX_EPISODE)],
        "n_shot": [Interval(numbers.Integral, 1, _MAX_EPISODE)],
        "n_query": [Interval(numbers.Integral, 1, _MAX_EPISODE)],
        "augmentation": [None, StrOptions({"auto"}), callable],
    }

    def __init__(self, n_way=5, n_shot=5, n_query=5, *, n_components=64, augmentation=None,
                 encoder="auto",
                 hidden_layer_sizes=(128,), channels="auto", activation="relu",
                 image_shape=None,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())

    # ------------------------------------------------------------------ data

    @staticmethod
    def _attributes(value, name="class_attributes"):
        """``(float array (k, n_attributes), labels (k,))`` from a pair ``(A, labels)``
        or a dict ``{label: vector}``."""
        if isinstance(value, dict):
            labels = list(value)
            A = [value[k] for k in labels]
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            A, labels = value
        else:
            raise TypeError(f"{name} must be a pair (attributes, labels) or a dict "
                            f"{{label: attribute vector}}, got {type(value).__name__}.")
        if len(labels) == 0:  # was check_array's "Expected 2D array, got 1D array"
            raise ValueError(f"{name} is empty: give at least one class.")
        A = check_array(A, dtype=(np.float64, np.float32), input_name=name)
        labels = column_or_1d(np.asarray(labels), warn=False)
        if len(labels) != len(A):
            raise ValueError(f"{name} has {len(A)} attribute vectors but {len(labels)} "
                             "labels.")
        if len(np.unique(labels)) != len(labels):
            raise ValueError(f"{name} gives a label more than once.")
        return A, labels

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None, class_attributes=None):
        require_y(self, y)
        if reset:
            X32, y = self._validate_fit_X(X, y)
            check_classification_targets(y)
            self.classes_, codes = np.unique(y, return_inverse=True)
        else:
            _, X32 = self._validate_X(X)
            y = column_or_1d(y, warn=True)
            if len(y) != len(X32):
                raise ValueError(f"X and y have different numbers of samples: {len(X32)} "
                                 f"and {len(y)}.")
            unseen = np.setdiff1d(y, self.classes_)
            if len(unseen):
                raise ValueError(f"y has classes {unseen.tolist()} not seen in the first "
                                 "fit; warm_start continues on the same classes.")
            codes = np.searchsorted(self.classes_, y)
        n_classes = len(self.classes_)
        if int(self.n_way) > n_classes:
            raise ValueError(
                f"n_way={self.n_way} is larger than the {n_classes} classes available in "
                f"y: a training episode draws n_way distinct classes.")
        if reset:
            self.class_attributes_, self.n_attributes_ = None, 0
            if class_attributes is not None:
                A, labels = self._attributes(class_attributes)
                missing = np.setdiff1d(self.classes_, labels)
                if len(missing):
                    raise ValueError(f"class_attributes has no attribute vector for the "
                                     f"classes {missing.tolist()} of y.")
                order = {lab: i for i, lab in enumerate(labels.tolist())}
                self.class_attributes_ = A[[order[c] for c in self.classes_.tolist()]]
                self.n_attributes_ = A.shape[1]
        elif class_attributes is not None:
            raise ValueError("class_attributes is read by a fresh fit only.")
        codes = codes.astype(np.int64)
        self._fit_inputs = (X32, codes)
        return X32, codes, None

    def _build_module(self):
        from skml.neural._modules.contrastive import EmbeddingNet
        from skml.neural._modules.mlp import MLP

        k = int(self.n_components)
        attribute_encoder = None
        if self.n_attributes_:
            attribute_encoder = MLP(self.n_attributes_, tuple(self.hidden_layer_sizes), k,
                                    activation=self.activation)
        return EmbeddingNet(self._encoder(self.encoder_, k, self.n_features_in_,
                                          self.image_shape_), attribute_encoder)

    def _build_loss(self, device):
        from skml.neural._modules.contrastive import prototype_logits

        torch = _torch()

        def loss(queries, prototypes, target):
            return torch.nn.functional.cross_entropy(prototype_logits(queries, prototypes),
                                                     target)
        return loss

    # ------------------------------------------------------------------ episodes

    def _batches(self, data, generator):
        """One epoch of k-way n-shot episodes: ``(support, query, class codes)``, the
        support ``(n_way * n_shot, ...)`` and queries ``(n_way * n_query, ...)`` grouped
        by class in the order of the codes."""
        torch = _torch()
        X, codes = data[0], data[1]
        codes_cpu = codes.cpu()
        present = torch.unique(codes_cpu)
        members = [torch.nonzero(codes_cpu == c).flatten() for c in present.tolist()]
        n_way = min(int(self.n_way), len(present))
        n_shot, n_query = int(self.n_shot), int(self.n_query)
        need = n_shot + n_query
        n_episodes = max(1, math.ceil(len(codes_cpu) / (n_way * need)))
        for _ in range(n_episodes):
            chosen = torch.randperm(len(present), generator=generator)[:n_way]
            support, query = [], []
            for c in chosen.tolist():
                idx = members[c]
                if len(idx) >= need:
                    pick = idx[torch.randperm(len(idx), generator=generator)[:need]]
                else:  # too few samples: drawn with replacement
                    pick = idx[torch.randint(len(idx), (need,), generator=generator)]
                support.append(pick[:n_shot])
                query.append(pick[n_shot:])
            support = torch.cat(support).to(X.device)
            query = torch.cat(query).to(X.device)
            yield X[support], X[query], present[chosen].to(X.device)

    def _train_step(self, batch, optimizers):
        torch = _torch()
        support, query, classes = batch
        (optimizer,) = optimizers.values()
        module, loss_fn = self.module_, self._loss_fn
        n_way = len(classes)
        n_shot, n_query = len(support) // n_way, len(query) // n_way
        target = torch.arange(n_way, device=query.device).repeat_interleave(n_query)
        attributes = None
        if module.attribute_encoder is not None:
            attributes = torch.from_numpy(as_float32(self.class_attributes_)).to(
                query.device)[classes]
        parts = {}
        inputs = torch.cat([support, query])
        if self.augmentation is not None:  # drawn once per step (L-BFGS re-evaluates)
            inputs = self._augment(self.augmentation)(inputs, self._rng)

        def compute_loss():
            emb = module(inputs)  # one pass: batch norm sees both
            prototypes = emb[:len(support)].reshape(n_way, n_shot, -1).mean(1)
            loss = loss_fn(emb[len(support):], prototypes, target)
            if attributes is not None:
                parts["prototype_loss"] = loss.detach()
                zero_shot = loss_fn(emb[len(support):],
                                    module.embed_attributes(attributes), target)
                parts["attribute_loss"] = zero_shot.detach()
                loss = loss + zero_shot
            return loss

        loss = self._optimizer_step(optimizer, compute_loss, len(query))
        return {"loss": loss, **parts}

    def _stratify_target(self, target):
        return target

    def _validation_score(self, data):
        """Accuracy on the held-out samples of the nearest prototype, the prototypes
        being the held-out classes' mean embeddings."""
        X32, codes = data[0], data[1]
        emb = self._forward(X32, check_finite=False).astype(np.float64)
        labels = np.unique(codes)
        protos = np.stack([emb[codes == c].mean(0) for c in labels])
        pred = labels[np.argmin(_sq_dist(emb, protos), axis=1)]
        return float(np.mean(pred == codes))

    # ------------------------------------------------------------------ public API

    def fit(self, X, y, class_attributes=None):
        """Train the embedding on k-way n-shot episodes of ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Training samples.
        y : array-like of shape (n_samples,)
            Their classes (at least ``n_way``).
        class_attributes : tuple (ndarray (k, n_attributes), labels (k,)) or dict, \
default=None
            Attribute vectors of the classes (at least every class of ``y``), to
            train the zero-shot attribute embedding too.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            If ``n_way`` exceeds the classes of ``y``, ``class_attributes`` misses a
            class of ``y``, or on invalid parameters or data.
        """
        try:
            self._fit(X, y, sample_weight=None, incremental=False,
                      class_attributes=class_attributes)
            X32, codes = self._fit_inputs
        finally:
            self.__dict__.pop("_fit_inputs", None)
        emb = self._forward(X32)
        self.prototypes_ = np.stack([emb[codes == c].mean(0)
                                     for c in range(len(self.classes_))])
        return self

    @available_if(_no_partial_fit)
    def partial_fit(self, X, y=None, sample_weight=None, **kwargs):  # pragma: no cover
        """Not available (see :meth:`fit`)."""

    def _prototypes(self, support, class_attributes):
        """``(prototypes, labels)`` from the support set, the class attributes, or the
        training classes."""
        check_is_fitted(self, "module_")
        if support is not None and class_attributes is not None:
            raise ValueError("give either support or class_attributes, not both.")
        if support is not None:
            if not (isinstance(support, (tuple, list)) and len(support) == 2):
                raise TypeError("support must be a pair (X_support, y_support), got "
                                f"{type(support).__name__}.")
            X_s, y_s = support
            _, Xs32 = self._validate_X(X_s)
            y_s = column_or_1d(np.asarray(y_s), warn=False)
            if len(y_s) != len(Xs32):
                raise ValueError(f"the support set has {len(Xs32)} samples but "
                                 f"{len(y_s)} labels.")
            if len(y_s) == 0:
                raise ValueError("the support set is empty.")
            check_classification_targets(y_s)
            labels, codes = np.unique(y_s, return_inverse=True)
            emb = self._forward(Xs32)
            protos = np.stack([emb[codes == c].mean(0) for c in range(len(labels))])
            return protos, labels
        if class_attributes is not None:
            if not self.n_attributes_:
                raise ValueError("zero-shot prediction needs the attribute embedding: fit "
                                 "with class_attributes=.")
            A, labels = self._attributes(class_attributes)
            if A.shape[1] != self.n_attributes_:
                raise ValueError(f"class_attributes has {A.shape[1]} attributes per "
                                 f"class, but the model was fitted with "
                                 f"{self.n_attributes_}.")
            protos = self._forward(as_float32(A, "class_attributes"),
                                   fn=lambda m, a: m.embed_attributes(a))
            return protos, labels
        return self.prototypes_, self.classes_

    def _distances(self, X, support, class_attributes):
        protos, labels = self._prototypes(support, class_attributes)
        X, X32 = self._validate_X(X)
        emb = self._forward(X32).astype(np.float64)
        return _sq_dist(emb, protos.astype(np.float64)), labels

    def predict(self, X, support=None, class_attributes=None):
        """The class of the nearest prototype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Query samples.
        support : tuple (X_support, y_support), default=None
            A labelled support set (k-way n-shot: any classes, seen in training or
            not, ``n`` samples each, ``n = 1`` for one-shot); the prototypes are its
            classes' mean embeddings.
        class_attributes : tuple (ndarray (k, n_attributes), labels (k,)) or dict, \
default=None
            Zero-shot: the candidate classes' attribute vectors (the model must have
            been fitted with ``class_attributes``).

        Without either, the training classes' ``prototypes_``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels of the support set / attributes / training classes.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            On samples that do not match the training data's features, a support set
            whose labels and samples differ in number, or both support and
            class_attributes.
        """
        d, labels = self._distances(X, support, class_attributes)
        return labels[np.argmin(d, axis=1)]

    def predict_proba(self, X, support=None, class_attributes=None):
        """Softmax over the candidate classes of minus the squared distances to their
        prototypes (columns in the order of the sorted labels).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
        support, class_attributes : see :meth:`predict`

        Returns
        -------
        proba : ndarray of shape (n_samples, n_candidate_classes)

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            As :meth:`predict`.
        """
        d, _ = self._distances(X, support, class_attributes)
        return softmax(-d, axis=1)

    def score(self, X, y, sample_weight=None, support=None, class_attributes=None):
        """Accuracy on ``(X, y)`` among the classes of the support set (or attributes,
        or training classes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        support, class_attributes : see :meth:`predict`

        Returns
        -------
        score : float

        Raises
        ------
        ValueError
            If ``y`` holds a class the support set (attributes, training classes) has
            no sample of: the episode's classes must all be in the support set.
        """
        protos_labels = self._prototypes(support, class_attributes)[1]
        y = column_or_1d(np.asarray(y), warn=False)
        missing = np.setdiff1d(y, protos_labels)
        if len(missing):
            where = ("the support set" if support is not None else "class_attributes"
                     if class_attributes is not None else "the training classes")
            raise ValueError(f"{where} has no sample of the classes {missing.tolist()} "
                             "of y: every class of the episode must be in it.")
        pred = self.predict(X, support=support, class_attributes=class_attributes)
        return float(accuracy_score(y, pred, sample_weight=sample_weight))


def _sq_dist(a, b):
    """Squared Euclidean distances of the rows of ``a`` to those of ``b`` in float64,
    each row shifted by its distance to its nearest ``b_r`` (the argmin and the softmax
    of minus the distances do not see a per-row shift).

    The shifted values are computed as ``(b_r - b_k) . ((a - b_k) + (a - b_r))``, which
    keeps the gaps between prototypes when ``a`` is far from all of them: plain
    squared distances of 1e57 cannot hold gaps of 1e26, and queries of 1e30 got
    uniform probabilities instead of the nearest prototype's."""
    diff = a[:, None, :] - b[None, :, :]
    r = np.argmin((diff ** 2).sum(-1), axis=1)
    diff_r = diff[np.arange(len(a)), r]
    return ((b[r][:, None, :] - b[None, :, :]) * (diff + diff_r[:, None, :])).sum(-1)


PrototypicalNetwork.__doc__ = _fill(PrototypicalNetwork.__doc__)
