"""Generative adversarial networks as estimators (§3.4.5 of the notes): the GAN and the
label-conditional GAN."""
import numbers

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skml.neural._base import (
    MAX_WIDTH,
    NeuralEstimator,
    _torch,
    as_float32,
    check_fits_in_memory,
    require_y,
    training_params,
)
from skml.utils import store_init_params
from skml.neural._docs import fill
from skml.neural.mlp import ACTIVATIONS, check_hidden_layer_sizes
from skml.neural.vision import _image_shape
from skml.utils import Interval, StrOptions, check_param

__all__ = ["ConditionalGAN", "GAN"]

ARCHITECTURES = ("mlp", "conv")
LOSSES = ("non_saturating", "minimax")
OUTPUT_ACTIVATIONS = ("tanh", "sigmoid")
_MAX_CRITIC = 1000
# score() compares X with this many generated rows per row of X, drawn with a fixed seed
# so that the score of a fitted model is deterministic.
_SCORE_SEED = 0
# rows of one block of pairwise distances in the energy distance (memory ~ block * n)
_ENERGY_BLOCK = 1024

_COMMON_DOC = """\
    n_components : int, default=16
        Dimension of the latent noise ``z ~ N(0, I)`` fed to the generator.
    generator_layer_sizes : int or tuple of int, default=(128, 128)
        Hidden widths of the generator MLP; for ``architecture="conv"`` the two channel
        widths of its convolution stages (from the latent towards the image).
    discriminator_layer_sizes : int or tuple of int, default=(128, 128)
        Hidden widths of the discriminator MLP; for ``architecture="conv"`` the two
        channel widths of its strided convolutions.
    architecture : {"mlp", "conv"}, default="mlp"
        Fully connected networks (Example 49), or a small DCGAN-style pair of
        convolutional networks for images (needs ``image_shape``).
    image_shape : tuple of int or None, default=None
        ``(channels, height, width)`` or ``(height, width)`` of the images whose
        flattened pixels are the rows of ``X`` (C-order); required by
        ``architecture="conv"``, checked against ``n_features`` when given.
    activation : {"leaky_relu", "relu", "sigmoid", "tanh", "elu", "gelu", "silu", \
            "softplus", "logistic", "identity"}, default="leaky_relu"
        Hidden activation of both networks (leaky ReLU as in Example 49).
    output_activation : {None, "tanh", "sigmoid"}, default=None
        Activation of the generator's output: ``"tanh"`` for data scaled to
        ``[-1, 1]`` (Example 49), ``"sigmoid"`` for ``[0, 1]``, None for unbounded
        data.
    loss : {"non_saturating", "minimax"}, default="non_saturating"
        The generator's loss: ``-log D(G(z))`` (Remark 3.81; strong gradients while
        the discriminator still rejects the samples) or ``log(1 - D(G(z)))`` (the
        minimax objective as written in Remark 3.82).
    n_critic : int, default=1
        Discriminator updates per generator update (each on the same real batch with
        fresh noise).
    dropout : float, default=0.0
        Dropout probability after each hidden layer of the discriminator (Example 49
        uses 0.3)."""

_COMMON_NOTES = """\
    Each training step (one batch) updates the discriminator ``n_critic`` times to
    maximise ``V(G, D) = mean log D(x) + mean log(1 - D(G(z)))`` and then the generator
    once (Example 48), through two optimisers of the same ``solver`` (the loop's
    ``_build_optimizers`` / ``_train_step`` hooks; ``solver="lbfgs"`` is refused: a
    line search on a moving two-player objective is meaningless). The noise ``z`` is
    drawn from the loop's seeded generator, so the same ``random_state`` gives the same
    networks and samples on a CPU. ``history_`` records ``discriminator_loss`` (minus
    ``V``) and ``generator_loss`` per epoch; ``loss`` is their sum, which does not
    measure progress in a two-player game: the default ``n_iter_no_change=10`` stops
    training once it has not decreased for that many epochs, so pass
    ``n_iter_no_change=np.inf`` to train for ``max_iter`` epochs, or use
    ``early_stopping=True``, whose validation score is :meth:`score` on the held-out
    rows (minus their energy distance to as many generated samples). Sample weights
    weight the rows in the real term of ``V`` (and, for the conditional GAN, the
    generated rows conditioned on their labels); a repeated row and a row of weight 2
    are not the same fit, as the noise is drawn per row (the expected failure of
    scikit-learn's ``check_sample_weight_equivalence_on_dense_data``)."""

_COMMON_REFERENCES = """\
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.4.5: Definition 3.95 (the
       GAN), Examples 48-49 (training workflow and networks), Remarks 3.79-3.84 (the
       non-saturating loss, the minimax objective and the conditional GAN).
    .. [2] I. Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    .. [3] M. Mirza and S. Osindero, "Conditional Generative Adversarial Nets",
       arXiv:1411.1784, 2014.
    .. [4] A. Radford, L. Metz and S. Chintala, "Unsupervised Representation Learning
       with Deep Convolutional Generative Adversarial Networks", ICLR 2016.
    .. [5] G. J. Szekely and M. L. Rizzo, "Energy statistics: A class of statistics
       based on distances", J. Stat. Plan. Inference 143, 2013 (the score)."""


def _energy_distance(A, B):
    """Szekely's energy distance ``2 E|a-b| - E|a-a'| - E|b-b'|`` (V-statistics) of two
    samples, from blocks of Euclidean distances (never an ``n x m`` matrix at once)."""

    def mean_dist(P, Q):
        total = 0.0
        for start in range(0, len(P), _ENERGY_BLOCK):
            total += cdist(P[start:start + _ENERGY_BLOCK], Q).sum()
        return total / (len(P) * len(Q))

    return 2.0 * mean_dist(A, B) - mean_dist(A, A) - mean_dist(B, B)




class _BaseGAN(NeuralEstimator):
    """The adversarial training step, the networks and sampling, shared by the GAN and
    the conditional GAN."""

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, MAX_WIDTH)],
        "generator_layer_sizes": ["array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
        "discriminator_layer_sizes": ["array-like",
                                      Interval(numbers.Integral, 1, MAX_WIDTH)],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "image_shape": [None, tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "output_activation": [None, StrOptions(set(OUTPUT_ACTIVATIONS))],
        "loss": [StrOptions(set(LOSSES))],
        "n_critic": [Interval(numbers.Integral, 1, _MAX_CRITIC)],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }
    _conditional = False

    # ------------------------------------------------------------------ parameters

    def _check_params(self):
        super()._check_params()
        if self.solver == "lbfgs":
            raise ValueError(
                f"{type(self).__name__} does not support solver='lbfgs': its two "
                "networks chase a moving objective, which a line search cannot follow; "
                "use a stochastic solver ('adam', 'sgd', ...).")
        gen = check_hidden_layer_sizes(self.generator_layer_sizes, "generator_layer_sizes")
        disc = check_hidden_layer_sizes(self.discriminator_layer_sizes,
                                        "discriminator_layer_sizes")
        if self.architecture == "conv":
            for name, sizes in (("generator_layer_sizes", gen),
                                ("discriminator_layer_sizes", disc)):
                if len(sizes) != 2:
                    raise ValueError(
                        f"{name} must hold 2 channel widths for architecture='conv', got "
                        f"{getattr(self, name)!r}.")
            if self.image_shape is None:
                raise ValueError("architecture='conv' needs image_shape=(channels, "
                                 "height, width) of the images in the rows of X.")
        if self.image_shape is not None:
            self._image_shape_param()

    def _image_shape_param(self):
        return _image_shape(self.image_shape)

    # ------------------------------------------------------------------ data

    def _validate_rows(self, X, reset, y=None):
        """``X`` (and ``y``, when given) validated; sets ``image_shape_`` when
        ``reset``."""
        kwargs = dict(reset=reset, dtype=(np.float64, np.float32))
        if y is None:
            X = validate_data(self, X, **kwargs)
        else:
            X, y = validate_data(self, X, y, **kwargs)
        if reset:
            shape = None
            if self.image_shape is not None:
                shape = self._image_shape_param()
                if int(np.prod(shape)) != X.shape[1]:
                    raise ValueError(
                        f"image_shape={self.image_shape!r} holds {int(np.prod(shape))} "
                        f"values per image, but X has {X.shape[1]} features.")
            self.image_shape_ = shape
        return X if y is None else (X, y)

    def _build_module(self):
        from skml.neural._modules.gan import build_gan

        n_classes = len(self.classes_) if self._conditional else 0
        return build_gan(
            self.architecture, int(self.n_features_in_), int(self.n_components),
            generator_hidden=check_hidden_layer_sizes(self.generator_layer_sizes),
            discriminator_hidden=check_hidden_layer_sizes(self.discriminator_layer_sizes),
            image_shape=self.image_shape_, activation=self.activation,
            out_activation=self.output_activation, dropout=float(self.dropout),
            n_classes=n_classes,
            embedding_dim=int(self.embedding_dim) if self._conditional else 0)

    def _build_loss(self, device):
        return None  # the step computes the adversarial losses itself

    # ------------------------------------------------------------------ training

    def _build_optimizers(self, module):
        """One optimiser of the ``solver`` per network."""
        return {"discriminator": self._make_optimizer(module["discriminator"].parameters()),
                "generator": self._make_optimizer(module["generator"].parameters())}

    def _train_step(self, batch, optimizers):
        """``n_critic`` discriminator updates, then one generator update (Example 48);
        the noise comes from the loop's generator."""
        from skml.neural._modules.gan import discriminator_loss, generator_loss

        torch = _torch()
        x, labels, weight = batch
        n = x.shape[0] if weight is None else weight.sum()
        gen, disc = self.module_["generator"], self.module_["discriminator"]
        latent = int(self.n_components)

        def noise():
            return torch.randn((x.shape[0], latent), generator=self._rng, device=x.device)

        for _ in range(int(self.n_critic)):
            with torch.no_grad():
                fake = gen(noise(), labels)

            def d_loss():
                return discriminator_loss(disc(x, labels), disc(fake, labels), weight)

            loss_d = self._optimizer_step(optimizers["discriminator"], d_loss, n)
        z = noise()
        kind = self.loss
        disc.requires_grad_(False)  # the generator's step needs no discriminator grads
        try:
            loss_g = self._optimizer_step(
                optimizers["generator"],
                lambda: generator_loss(disc(gen(z, labels), labels), kind, weight), n)
        finally:
            disc.requires_grad_(True)
        return {"loss": loss_d + loss_g, "discriminator_loss": loss_d,
                "generator_loss": loss_g}

    def _validation_score(self, data):
        """Minus the energy distance of the held-out rows to generated ones (class by
        class for the conditional GAN): :meth:`score`."""
        return -self._distance(data[0], data[1] if self._conditional else None)

    def _distance(self, X, codes):
        """Energy distance between ``X`` and ``len(X)`` samples drawn with a fixed seed
        (for label indices ``codes``: per class, averaged with the class frequencies)."""
        X = np.asarray(X, dtype=np.float64)
        fake = self._generate(len(X), codes, _SCORE_SEED)
        if codes is None:
            return _energy_distance(X, fake)
        total = 0.0
        for k in np.unique(codes):
            rows = codes == k
            total += rows.sum() * _energy_distance(X[rows], fake[rows])
        return total / len(X)

    # ------------------------------------------------------------------ sampling

    def _generate(self, n_samples, codes, random_state):
        """``n_samples`` generator outputs (float64) for label indices ``codes`` (None:
        unconditional), the noise seeded by ``random_state``."""
        check_is_fitted(self, "module_")
        torch = _torch()
        n, latent = int(n_samples), int(self.n_components)
        check_fits_in_memory(n * (4 * (latent + 1) + 8 * int(self.n_features_in_)),
                             f"sample(n_samples={n_samples})", torch.device("cpu"))
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        z = torch.randn(n, latent, generator=torch.Generator().manual_seed(seed)).numpy()
        if codes is None:
            out = self._forward(z, lambda m, zb: m["generator"](zb))
        else:
            # the label indices ride along as a last float32 column (exact below 2**24),
            # so that the base's batched eval-mode inference can be used as it is
            zl = np.ascontiguousarray(np.column_stack([z, codes.astype(np.float32)]))
            out = self._forward(
                zl, lambda m, b: m["generator"](b[:, :-1], b[:, -1].long()))
        return out.astype(np.float64)

    def _logits(self, X, codes=None):
        """The discriminator's logits for the rows of ``X`` (float32) with label indices
        ``codes`` (one column per given index vector)."""
        if codes is None:
            return self._forward(X, lambda m, xb: m["discriminator"](xb))
        xl = np.ascontiguousarray(np.column_stack([X, codes.astype(np.float32)]))
        return self._forward(
            xl, lambda m, b: m["discriminator"](b[:, :-1], b[:, -1].long()))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class GAN(_BaseGAN):
    """Generative adversarial network (Definition 3.95; Goodfellow et al., 2014).

    A generator ``G`` maps noise ``z ~ N(0, I)`` to samples; a discriminator ``D``
    gives the probability that a sample is real. They play
    ``min_G max_D mean log D(x) + mean log(1 - D(G(z)))`` (Remark 3.82), whose optimum
    for ``D`` turns the generator's objective into the Jensen-Shannon divergence between
    the data and the model; the generator minimises the non-saturating loss
    ``-log D(G(z))`` by default (Remark 3.81). The two networks are one
    ``nn.ModuleDict(generator=..., discriminator=...)`` in ``module_``.

    Parameters
    ----------
%s
    %%(training_params)s

    Attributes
    ----------
    image_shape_ : tuple of int or None
        ``(channels, height, width)`` of the images in the rows (``image_shape``), or
        None.
    %%(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, ``solver="lbfgs"``, ``image_shape`` that does not
        match the number of features (or missing with ``architecture="conv"``), values
        beyond float32, a network too large for memory, a diverging loss. At ``score``:
        a wrong number of features. At ``sample``: a sample count too large for memory.

    See Also
    --------
    ConditionalGAN : The GAN conditioned on class labels.
    VAE : A likelihood-based generative model.

    Notes
    -----
%s

    ``score(X)`` is minus the energy distance (Szekely) between ``X`` and
    ``len(X)`` samples generated with a fixed seed: 0 for a generator whose samples are
    distributed as ``X``, lower the further apart; it is deterministic for a fitted
    model and usable in ``GridSearchCV``.

    References
    ----------
%s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from skml.neural import GAN
    >>> X, _ = make_moons(500, noise=0.05, random_state=0)
    >>> gan = GAN(n_components=2, generator_layer_sizes=(32,),
    ...           discriminator_layer_sizes=(32,), max_iter=5,
    ...           n_iter_no_change=np.inf, random_state=0).fit(X)
    >>> gan.sample(3, random_state=0).shape
    (3, 2)
    """

    def __init__(self, n_components=16, generator_layer_sizes=(128, 128),
                 discriminator_layer_sizes=(128, 128), *, architecture="mlp",
                 image_shape=None, activation="leaky_relu", output_activation=None,
                 loss="non_saturating", n_critic=1, dropout=0.0, solver="adam",
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
        X = self._validate_rows(X, reset)
        return as_float32(X), None, self._sample_weight(sample_weight, X.shape[0])

    def sample(self, n_samples=1, random_state=None):
        """Generate new data: ``G(z)`` for draws ``z ~ N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise (the same seed gives the same samples).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            In float64 (flattened images for ``image_shape``).
        """
        check_is_fitted(self, "module_")
        check_param(n_samples, "n_samples", types=(numbers.Integral,), min_val=1)
        return self._generate(n_samples, None, random_state)

    def decision_function(self, X):
        """The discriminator's logit that each row is real data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        logits : ndarray of shape (n_samples,)
            ``log D(x) - log(1 - D(x))`` in float64: high for rows the discriminator
            takes for training data, low for rows it takes for generated ones (a
            plausibility score, e.g. for outlier screening).
        """
        X, X32 = self._validate_X(X)
        return self._logits(X32).astype(np.float64)

    def score(self, X, y=None):
        """Minus the energy distance between ``X`` and as many generated samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data (e.g. held out).
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-(2 E|x - g| - E|x - x'| - E|g - g'|)`` over the rows ``x`` of ``X`` and
            ``len(X)`` samples ``g`` drawn with a fixed seed; 0 is best.
        """
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return -self._distance(X, None)


class ConditionalGAN(_BaseGAN):
    """Conditional GAN: a GAN whose two networks also see a class label (Remark 3.84;
    Mirza and Osindero, 2014).

    The label enters both networks through a learned embedding of ``embedding_dim``,
    mapped linearly onto the first layer (of the generator, from the noise; of the
    discriminator, from the sample or its convolutional features) and added there, the
    same as concatenating the embedding to that layer's input. The generator so learns
    ``p(x | y)``: ``sample(n, y=...)`` draws samples of the requested classes. Training
    conditions the generated half of every batch on the labels of its real half, so the
    classes are generated in their training proportions.

    Parameters
    ----------
%s
    embedding_dim : int, default=16
        Dimension of the learned label embedding of each network.
    %%(training_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels seen in ``fit``.
    class_prior_ : ndarray of shape (n_classes,)
        Their frequencies in the training data: the proportions ``sample`` draws
        labels in when ``y`` is not given.
    image_shape_ : tuple of int or None
        ``(channels, height, width)`` of the images in the rows (``image_shape``), or
        None.
    %%(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: as :class:`GAN`, and labels with NaN or of another length than
        ``X``. At ``sample`` and ``score``: labels not seen in ``fit``, ``y`` whose
        length is not ``n_samples``.

    See Also
    --------
    GAN : The unconditional GAN.

    Notes
    -----
%s

    ``score(X, y)`` is minus the energy distance between ``X`` and samples generated
    for the labels ``y`` (a fixed seed), computed per class and averaged with the
    class frequencies of ``y``: 0 for a generator whose class-conditional samples are
    distributed as ``X``'s rows of each class.

    References
    ----------
%s

    Examples
    --------
    >>> import numpy as np
    >>> from skml.neural import ConditionalGAN
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> cgan = ConditionalGAN(output_activation="tanh", max_iter=2,
    ...                       n_iter_no_change=np.inf, random_state=0).fit(X / 8 - 1, y)
    >>> cgan.sample(4, y=[0, 1, 2, 3], random_state=0).shape
    (4, 64)
    """

    _conditional = True
    _parameter_constraints = {"embedding_dim": [Interval(numbers.Integral, 1, MAX_WIDTH)]}

    def __init__(self, n_components=16, generator_layer_sizes=(128, 128),
                 discriminator_layer_sizes=(128, 128), *, architecture="mlp",
                 image_shape=None, activation="leaky_relu", output_activation=None,
                 loss="non_saturating", n_critic=1, dropout=0.0, embedding_dim=16,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto", n_jobs=None,
                 callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.embedding_dim = embedding_dim

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        require_y(self, y)
        X, y = self._validate_rows(X, reset, y)
        weight = self._sample_weight(sample_weight, X.shape[0])
        if reset:
            try:
                self.classes_, codes = np.unique(y, return_inverse=True)
            except TypeError:  # np.unique sorts: '<' between str and int fails
                raise ValueError(
                    "y mixes labels of types that cannot be ordered into classes "
                    "(e.g. str and int); give labels of one type.") from None
            counts = np.bincount(codes, weights=weight, minlength=len(self.classes_))
            self.class_prior_ = counts / counts.sum()
        codes = self._encode(y)
        return as_float32(X), codes.astype(np.int64), weight

    def _encode(self, y):
        """Indices of the labels ``y`` in ``classes_``; labels not seen in ``fit`` raise
        a ``ValueError`` naming them."""
        y = np.asarray(y)
        try:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
        except TypeError:  # labels not comparable with the classes (e.g. str vs int)
            unseen = np.unique(y.astype(object).astype(str))
        if len(unseen):
            raise ValueError(
                f"y contains labels not seen in fit: {unseen.tolist()[:10]}; "
                f"{type(self).__name__} was fitted on the classes "
                f"{self.classes_.tolist()}.")
        return np.searchsorted(self.classes_, y)

    def _stratify_target(self, target):
        return target

    def sample(self, n_samples=1, y=None, random_state=None):
        """Generate samples of the requested classes: ``G(z, y)``, ``z ~ N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        y : array-like of shape (n_samples,), scalar or None, default=None
            The class of each sample (a scalar: all of that class); labels must have
            been seen in ``fit``. None draws the classes in their training proportions
            (``class_prior_``) with ``random_state``.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise (and the classes when ``y`` is None).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            In float64 (flattened images for ``image_shape``).
        """
        check_is_fitted(self, "module_")
        check_param(n_samples, "n_samples", types=(numbers.Integral,), min_val=1)
        n = int(n_samples)
        rng = check_random_state(random_state)
        if y is None:
            codes = rng.choice(len(self.classes_), size=n, p=self.class_prior_)
        else:
            y = np.asarray(y)
            if y.ndim == 0:
                y = np.full(n, y[()])
            y = column_or_1d(y)
            if len(y) != n:
                raise ValueError(f"y has {len(y)} labels, but n_samples={n}.")
            codes = self._encode(y)
        return self._generate(n, codes, rng)

    def decision_function(self, X):
        """The discriminator's logit that each row is real data of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes)
            ``log D(x, c) - log(1 - D(x, c))`` for each class ``c`` of ``classes_``, in
            float64: high where ``x`` looks like a real sample of class ``c``.
        """
        X, X32 = self._validate_X(X)
        codes = np.empty(len(X32), dtype=np.int64)
        columns = []
        for k in range(len(self.classes_)):  # one pass per class, of the rows of X
            codes.fill(k)
            columns.append(self._logits(X32, codes))
        return np.column_stack(columns).astype(np.float64)

    def score(self, X, y):
        """Minus the class-wise energy distance between ``X`` and generated samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data (e.g. held out).
        y : array-like of shape (n_samples,)
            Their labels (seen in ``fit``).

        Returns
        -------
        score : float
            Minus the energy distance between the rows of each class and as many
            samples generated for it (a fixed seed), averaged with the class
            frequencies of ``y``; 0 is best.
        """
        check_is_fitted(self, "module_")
        X, y = validate_data(self, X, y, reset=False, dtype=(np.float64, np.float32))
        return -self._distance(X, self._encode(y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


for _cls in (GAN, ConditionalGAN):
    _cls.__doc__ = fill(_cls.__doc__ % (_COMMON_DOC, _COMMON_NOTES, _COMMON_REFERENCES))
