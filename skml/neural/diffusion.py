"""Denoising diffusion models as estimators (§3.4.4 of the notes): DDPM with ancestral
and DDIM sampling and classifier-free guidance, and latent diffusion in the code space
of a fitted autoencoder."""
import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skml.neural._base import (
    MAX_WIDTH,
    NeuralEstimator,
    _torch,
    as_float32,
    check_fits_in_memory,
    classes_and_codes,
    training_params,
)
from skml.utils import store_init_params
from skml.neural._docs import fill
from skml.neural.mlp import ACTIVATIONS, check_hidden_layer_sizes
from skml.neural.vision import _BaseCNN, _int_tuple, _n_dims
from skml.utils import HasMethods, Interval, StrOptions, check_param, check_params

__all__ = ["DiffusionModel", "LatentDiffusion"]

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ancestral", "ddim")
ARCHITECTURES = ("auto", "mlp", "unet")
# score_samples: the noise of every time step comes from a generator with this seed,
# one vector per step shared by all rows, so the bound of a row never depends on the
# other rows of X and repeated calls (and pickled copies) agree.
_BOUND_SEED = 0
# validation score of early_stopping: the same fixed draws of (t, eps)
_VALID_SEED = 1
_MAX_TIMESTEPS = 100_000
_SEED_MAX = np.iinfo(np.int32).max

_SHARED_DOC = """\
    hidden_layer_sizes : int or tuple of int, default=(256, 256, 256)
        Hidden widths of the MLP denoiser; each hidden layer adds a projection of the
        time (and label) embedding before its activation.
    embedding_dim : int, default=64
        Width of the sinusoidal time embedding (and of the label embedding).
    activation : {"silu", "relu", "gelu", "tanh", ...}, default="silu"
        Hidden activation of the MLP denoiser and of the embedding MLP.
    n_timesteps : int, default=1000
        ``T``, the number of noising steps.
    noise_schedule : {"linear", "cosine"}, default="linear"
        ``"linear"``: ``beta_t`` from ``beta_start`` to ``beta_end`` (Ho et al.; both
        scaled by ``1000 / n_timesteps`` so that other ``T`` keep the same total
        noise); ``"cosine"``: Nichol and Dhariwal's schedule of ``alpha_bar_t``.
    beta_start, beta_end : float, default=1e-4, 0.02
        Endpoints of the linear schedule (for ``T = 1000``).
    sampler : {"ancestral", "ddim"}, default="ancestral"
        How :meth:`sample` runs the reverse process: ancestral sampling from
        ``p(x_{t-1} | x_t)`` (Ho et al.) or DDIM (Song et al.; deterministic for
        ``eta=0``).
    n_sampling_steps : int or None, default=None
        Reverse steps of :meth:`sample`, evenly spaced over the ``T`` training steps
        (None: all ``T``). Must not exceed ``n_timesteps``.
    eta : float, default=0.0
        DDIM's noise level (0: deterministic; 1: the ancestral variance).
    label_dropout : float, default=0.1
        Probability with which a training label is replaced by the "no label" token,
        so one network learns the conditional and the unconditional model
        (classifier-free guidance; used only when ``fit`` gets ``y``).
    guidance_scale : float, default=1.0
        Classifier-free guidance at sampling, ``eps = eps_u + s (eps_c - eps_u)``: 0
        samples the unconditional model, 1 the conditional one, larger values push
        samples towards their label (Definition 3.88). Needs a model fitted with ``y``.
    clip_sample : bool, default=True
        Clip the predicted ``x_0`` to the training data's range in every reverse step.
"""


def _fill(doc):
    return fill(doc.replace("%(diffusion_params)s\n", _SHARED_DOC))




class _BaseDiffusion(NeuralEstimator):
    """The diffusion machinery shared by :class:`DiffusionModel` and
    :class:`LatentDiffusion`: training by noise prediction, sampling, guidance and the
    variational bound. Subclasses map the data to and from the space diffused in
    (``_fit_inputs``, ``_score_inputs``, ``_decode``) and build the denoiser."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, MAX_WIDTH)],
        "embedding_dim": [Interval(numbers.Integral, 1, 1 << 16)],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "n_timesteps": [Interval(numbers.Integral, 1, _MAX_TIMESTEPS)],
        "noise_schedule": [StrOptions(set(SCHEDULES))],
        "beta_start": [Interval(numbers.Real, 0, 1, closed="neither")],
        "beta_end": [Interval(numbers.Real, 0, 1, closed="neither")],
        "sampler": [StrOptions(set(SAMPLERS))],
        "n_sampling_steps": [None, Interval(numbers.Integral, 1, _MAX_TIMESTEPS)],
        # finite: eta = inf or guidance_scale = +-inf made NaN samples ("diverged")
        "eta": [Interval(numbers.Real, 0, 1e300, closed="left")],
        "label_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "guidance_scale": [Interval(numbers.Real, -1e300, 1e300, closed="neither")],
        "clip_sample": ["boolean"],
    }

    # ------------------------------------------------------------------ checks

    def _check_params(self):
        super()._check_params()
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        if self.noise_schedule == "linear" and self.beta_start > self.beta_end:
            raise ValueError(f"beta_start={self.beta_start} must not exceed "
                             f"beta_end={self.beta_end}.")
        self._check_steps(self.n_sampling_steps)

    def _check_steps(self, n_steps):
        if n_steps is not None and n_steps > self.n_timesteps:
            raise ValueError(
                f"n_sampling_steps={n_steps} exceeds n_timesteps={self.n_timesteps}: the "
                "reverse process cannot take more steps than the training noised with.")

    # ------------------------------------------------------------------ data

    def _encode_labels(self, y, *, reset, n_samples):
        """Integer codes of the labels (None without labels); sets ``classes_``."""
        if reset:
            if y is None:
                self.n_classes_ = 0
                if hasattr(self, "classes_"):
                    del self.classes_
                return None
            y = column_or_1d(y, warn=True)
            # a NaN label became a class that sample(y=nan) could never match
            assert_all_finite(y, input_name="y")
            if len(y) != n_samples:
                raise ValueError(f"y has {len(y)} labels but X has {n_samples} samples.")
            self.classes_, codes = classes_and_codes(y)
            self.n_classes_ = len(self.classes_)
            return codes.astype(np.int64)
        if (y is None) != (self.n_classes_ == 0):
            raise ValueError("warm start / partial_fit must keep to the fitted model: "
                             + ("labels y are needed (the model is conditional)."
                                if y is None else "the model was fitted without labels."))
        return None if y is None else self._label_codes(y, n_samples)

    def _label_codes(self, y, n_samples):
        """Codes of labels ``y`` (a label or one per sample) of a conditional model."""
        y = np.asarray(y)
        if y.ndim == 0:
            y = np.full(n_samples, y.item(), dtype=y.dtype)
        y = column_or_1d(y)
        if len(y) != n_samples:
            raise ValueError(f"y has {len(y)} labels for {n_samples} samples.")
        try:
            pos = np.searchsorted(self.classes_, y)
            pos = np.clip(pos, 0, len(self.classes_) - 1)
            known = self.classes_[pos] == y
        except TypeError:  # labels not comparable with the classes (str vs int)
            known = np.zeros(len(y), dtype=bool)
        if not np.all(known):
            unseen = list(dict.fromkeys(np.asarray(y)[~known].tolist()))[:5]
            raise ValueError(
                f"y holds labels not seen in training: {unseen}; the classes are "
                f"{self.classes_.tolist()}.")
        return pos.astype(np.int64)

    def _prepare_fit_data(self, X, y, *, reset, sample_weight=None):
        inputs = self._fit_inputs(X, y, reset=reset)
        codes = self._encode_labels(y, reset=reset, n_samples=len(inputs))
        if reset:
            flat = inputs.reshape(len(inputs), -1)
            self.data_range_ = (float(flat.min()), float(flat.max()))
        return inputs, codes, self._sample_weight(sample_weight, len(inputs))

    # ------------------------------------------------------------------ the network

    def _schedule(self):
        """A new noise schedule for the fitted model (``noise_schedule_``'s parameters;
        sampling sets its time steps)."""
        from skml.neural._modules.diffusion import NoiseSchedule

        s = self.noise_schedule_
        return NoiseSchedule(s.n_timesteps, s.schedule, s.beta_start, s.beta_end,
                             s.clip_sample)

    def _make_schedule(self):
        from skml.neural._modules.diffusion import NoiseSchedule

        clip = self.data_range_ if self.clip_sample else None
        return NoiseSchedule(int(self.n_timesteps), self.noise_schedule,
                             float(self.beta_start), float(self.beta_end), clip)

    def _build_loss(self, device):
        def loss(eps_hat, eps):  # per sample: the mean squared error of the noise
            return (eps_hat - eps).pow(2).reshape(len(eps), -1).mean(1)

        return loss

    def _train_step(self, batch, optimizers):
        """Noise prediction (Remark 3.75, Ho et al.'s simplified loss): a time step
        ``t ~ U{0..T-1}`` and noise ``eps ~ N(0, I)`` per row from the loop's
        generator, ``x_t`` from ``q(x_t | x_0)`` in closed form, and the squared error
        of the predicted noise; each label is replaced by the "no label" token with
        probability ``label_dropout``."""
        torch = _torch()
        x0, y, weight = batch
        rng, n = self._rng, x0.shape[0]
        schedule = self._train_schedule
        t = torch.randint(0, int(self.n_timesteps), (n,), generator=rng, device=x0.device)
        eps = torch.randn(x0.shape, generator=rng, device=x0.device)
        if y is not None and self.label_dropout > 0:
            drop = torch.rand(n, generator=rng, device=x0.device) < float(self.label_dropout)
            y = torch.where(drop, torch.full_like(y, self.n_classes_), y)
        x_t = schedule.add_noise(x0, eps, t)
        (optimizer,) = optimizers.values()
        module, loss_fn = self.module_, self._loss_fn

        def compute_loss():
            return self._weighted_mean(loss_fn(module(x_t, t, y), eps), weight)

        n_weight = n if weight is None else weight.sum()
        return {"loss": self._optimizer_step(optimizer, compute_loss, n_weight)}

    def _train(self, data, seed, *, fresh, incremental):
        if fresh:  # the schedule is fixed by the fit that creates the network
            self.noise_schedule_ = self._make_schedule()
        elif int(self.n_timesteps) != self.noise_schedule_.n_timesteps:
            raise ValueError("warm start / partial_fit cannot change n_timesteps (the "
                             f"network was trained with {self.noise_schedule_.n_timesteps}).")
        self._train_schedule = self.noise_schedule_
        try:
            super()._train(data, seed, fresh=fresh, incremental=incremental)
        finally:
            self._train_schedule = None

    def _validation_score(self, data):
        """Minus the noise-prediction loss on the held-out rows, at time steps and
        noise drawn with a fixed seed (the same every epoch)."""
        torch = _torch()
        x0, y, weight = (tuple(data) + (None, None))[:3]
        module = self.module_
        device = next(module.parameters()).device
        gen = torch.Generator().manual_seed(_VALID_SEED)
        x0 = torch.from_numpy(x0)
        t = torch.randint(0, int(self.n_timesteps), (len(x0),), generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
        x_t = self._train_schedule.add_noise(x0, eps, t)
        yt = None if y is None else torch.from_numpy(y).to(device)
        was = module.training
        module.eval()
        try:
            with torch.no_grad():
                out = module(x_t.to(device), t.to(device), yt)
                w = None if weight is None else torch.from_numpy(weight).to(device)
                loss = float(self._weighted_mean(self._loss_fn(out, eps.to(device)), w))
        finally:
            module.train(was)
        return -loss if np.isfinite(loss) else float("nan")

    # ------------------------------------------------------------------ sampling

    def _guidance(self, guidance_scale, y):
        """The checked guidance scale and whether labels are used."""
        gs = float(self.guidance_scale if guidance_scale is None else guidance_scale)
        if self.n_classes_ == 0:
            if y is not None:
                raise ValueError(f"{type(self).__name__} was fitted without labels: "
                                 "sample(y=...) needs a model fitted with y.")
            if gs != 1.0:
                raise ValueError(
                    f"guidance_scale={gs} needs a conditional model (classifier-free "
                    "guidance mixes the conditional and unconditional predictions): fit "
                    "with labels y, or leave guidance_scale=1.0.")
            return gs, False
        needs_uncond = y is None or gs != 1.0
        if needs_uncond and self.label_dropout == 0:
            raise ValueError(
                "the model was trained with label_dropout=0, so it has no unconditional "
                + ("prediction: pass labels y." if y is None else
                   f"prediction to guide with: guidance_scale={gs} needs label_dropout > 0"
                   " (or use guidance_scale=1.0)."))
        return gs, y is not None

    def _eps(self, module, x, t, codes, gs):
        """The (guided) noise prediction at step ``t`` for ``x``."""
        torch = _torch()
        tt = torch.full((len(x),), int(t), dtype=torch.long, device=x.device)
        if codes is None:  # unconditional model, or the no-label token
            null = None if self.n_classes_ == 0 else torch.full_like(tt, self.n_classes_)
            return module(x, tt, null)
        if gs == 1.0:
            return module(x, tt, codes)
        null = torch.full_like(codes, self.n_classes_)
        both = module(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([codes, null]))
        cond, uncond = both.chunk(2)
        return uncond + gs * (cond - uncond)

    def _sample_model(self, n_samples, y, random_state, guidance_scale, n_sampling_steps,
                      sampler, eta):
        """Run the reverse process; returns float32 samples in the diffused space."""
        check_is_fitted(self, "module_")
        check_param(n_samples, "n_samples", types=(numbers.Integral,), min_val=1)
        steps = self.n_sampling_steps if n_sampling_steps is None else n_sampling_steps
        steps = self.noise_schedule_.n_timesteps if steps is None else steps
        check_param(steps, "n_sampling_steps", types=(numbers.Integral,), min_val=1)
        self._check_steps(steps)
        sampler = self.sampler if sampler is None else sampler
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}.")
        # the overrides obey the constructor's constraints (eta=-1 was silently
        # deterministic, NaN gave "diverged")
        overrides = {k: v for k, v in (("eta", eta), ("guidance_scale", guidance_scale))
                     if v is not None}
        if overrides:
            check_params(self, overrides)
        eta = float(self.eta if eta is None else eta)
        gs, labelled = self._guidance(guidance_scale, y)
        n = int(n_samples)
        codes = self._label_codes(y, n) if labelled else None
        torch = _torch()
        shape = self._model_shape()
        check_fits_in_memory(n * int(np.prod(shape)) * 4 * 4,
                             f"sample(n_samples={n_samples})", torch.device("cpu"))
        seed = int(check_random_state(random_state).randint(_SEED_MAX))
        module = self.module_
        device = next(module.parameters()).device
        gen = torch.Generator(device=device).manual_seed(seed)
        schedule = self._schedule()
        schedule.set_timesteps(int(steps))
        step = self._inference_batch_size // (2 if labelled and gs != 1.0 else 1)
        out = []
        was = module.training
        module.eval()
        try:
            with torch.no_grad(), self._torch_threads(min(n, step)):
                for lo in range(0, n, step):
                    m = min(step, n - lo)
                    x = torch.randn((m, *shape), generator=gen, device=device)
                    c = None if codes is None else torch.from_numpy(codes[lo:lo + m]).to(device)
                    for t in schedule.timesteps.tolist():
                        eps = self._eps(module, x, t, c, gs)
                        if sampler == "ddim":
                            x = schedule.ddim_step(eps, t, x, eta=eta, generator=gen)
                        else:
                            x = schedule.step(eps, t, x, generator=gen)
                    out.append(x.cpu())
        finally:
            module.train(was)
        samples = torch.cat(out)
        if not bool(torch.isfinite(samples).all()):
            raise ValueError(f"{type(self).__name__}'s reverse process diverged (non-finite"
                             " samples); use clip_sample=True or more training.")
        return samples.numpy()

    # ------------------------------------------------------------------ the bound

    def _bound(self, inputs, codes):
        """Minus the variational bound of each row of ``inputs`` (float32, the diffused
        space), in nats, summed over all ``T`` steps with fixed seeded noise."""
        torch = _torch()
        module = self.module_
        device = next(module.parameters()).device
        schedule = self._schedule()
        T = schedule.n_timesteps
        gen = torch.Generator().manual_seed(_BOUND_SEED)
        noise = torch.randn((T, 1, *inputs.shape[1:]), generator=gen)
        step = self._inference_batch_size
        total = []
        was = module.training
        module.eval()
        try:
            with torch.no_grad(), self._torch_threads(min(len(inputs), step)):
                for lo in range(0, len(inputs), step):
                    x0 = torch.from_numpy(inputs[lo:lo + step]).to(device)
                    c = None if codes is None else torch.from_numpy(codes[lo:lo + step]).to(device)
                    nll = schedule.prior_kl(x0.double())
                    for t in range(T):
                        eps = noise[t].to(device).expand_as(x0)
                        tt = torch.full((len(x0),), t, dtype=torch.long, device=device)
                        x_t = schedule.add_noise(x0, eps, tt)
                        eps_hat = self._eps(module, x_t, t, c, 1.0)
                        nll = nll + schedule.bound_term(eps_hat.double(), eps.double(), t,
                                                        x0.double(), x_t.double())
                    total.append(nll.cpu())
        finally:
            module.train(was)
        return torch.cat(total).numpy()

    def _score_codes(self, y, n):
        if self.n_classes_ == 0:
            if y is not None:
                raise ValueError(f"{type(self).__name__} was fitted without labels: "
                                 "score_samples(X, y) needs a model fitted with y.")
            return None
        if y is None:
            if self.label_dropout == 0:
                raise ValueError("the model was trained with label_dropout=0, so it has "
                                 "no unconditional bound: pass labels y.")
            return None
        return self._label_codes(y, n)

    def score_samples(self, X, y=None):
        """The variational lower bound of ``log p(x)`` of each sample (nats).

        ``-L_T - sum_{t >= 2} L_{t-1} - L_0`` (Remark 3.72, Ho et al.'s eq. 5): the
        prior term in closed form, one consistency KL per time step and the
        reconstruction term of a Gaussian decoder of variance ``beta_1``; see Notes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Data, as given to ``fit``.
        y : array-like of shape (n_samples,), default=None
            Labels (conditional models): the bound of ``log p(x | y)``; None gives
            the unconditional model's bound.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            In nats per sample, float64 (higher is better).

        Raises
        ------
        ValueError
            A wrong number of features or image shape, labels unseen in training, or
            labels for a model fitted without them.
        """
        check_is_fitted(self, "module_")
        inputs, logdet = self._score_inputs(X)
        codes = self._score_codes(y, len(inputs))
        return -self._bound(inputs, codes) + logdet

    def score(self, X, y=None):
        """Mean variational bound of ``X`` in nats per sample (higher is better).

        Parameters
        ----------
        X : array-like
            Data, as given to ``fit``.
        y : array-like of shape (n_samples,), default=None
            Labels of a conditional model (None: the unconditional bound).

        Returns
        -------
        score : float
            The mean of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X, y)))

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_train_schedule", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags


class DiffusionModel(_BaseDiffusion):
    """Denoising diffusion probabilistic model (DDPM; Definition 3.93; Ho et al., 2020).

    The forward process adds Gaussian noise in ``T`` steps, ``q(x_t | x_{t-1}) =
    N(sqrt(1 - beta_t) x_{t-1}, beta_t I)``, so ``q(x_t | x_0) = N(sqrt(alpha_bar_t)
    x_0, (1 - alpha_bar_t) I)`` in closed form (Remark 3.73). A network
    ``eps_theta(x_t, t)`` is trained to predict the noise ``eps`` of ``x_t =
    sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps`` (Remark 3.75), which makes
    ``p(x_{t-1} | x_t)`` match the posterior ``q(x_{t-1} | x_t, x_0)``. :meth:`sample`
    runs the reverse process from ``N(0, I)``: ancestral sampling, or DDIM with fewer
    steps (``n_sampling_steps``). With labels ``y`` at ``fit``, the model is
    conditional and classifier-free guidance (Definition 3.88; Ho and Salimans, 2021)
    mixes its conditional and unconditional predictions at sampling.

    The denoiser is an MLP for rows of features (tables, 2-D points) or a small U-Net
    for images, given as ``(n, C, H, W)`` (or ``(n, H, W)``) arrays or as flat rows
    with ``image_shape``; both take a sinusoidal time embedding.

    Parameters
    ----------
    architecture : {"auto", "mlp", "unet"}, default="auto"
        The denoiser: ``"auto"`` is the U-Net for images (4-D/3-D ``X`` or
        ``image_shape`` set) and the MLP otherwise.
    image_shape : tuple of int or None, default=None
        ``(channels, height, width)`` or ``(height, width)`` of flat rows of ``X``;
        ``n_features`` must equal their product.
    channels : tuple of int, default=(32, 64)
        Widths of the U-Net's levels (one resolution halving between levels).
    %(diffusion_params)s
    %(training_params)s

    Attributes
    ----------
    noise_schedule_ : NoiseSchedule
        The fitted schedule (``skml.neural._modules.diffusion``; pickled as its
        parameters and rebuilt on loading).
    classes_ : ndarray of shape (n_classes,)
        The labels seen by ``fit`` (conditional models only).
    n_classes_ : int
        Number of labels (0: unconditional).
    image_shape_ : tuple of int
        ``(channels, height, width)`` of the images (``(1, 1, n_features)`` for rows).
    data_range_ : tuple of float
        Smallest and largest training value (the range of ``clip_sample``).
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: invalid parameters, ``image_shape`` not matching the features,
        ``n_sampling_steps > n_timesteps``, values beyond float32, a diverging loss. At
        ``sample``: ``n_sampling_steps > n_timesteps``, ``guidance_scale != 1`` or
        labels for a model fitted without labels, labels unseen in training.

    See Also
    --------
    LatentDiffusion : Diffusion in the code space of a fitted autoencoder.
    VAE : The variational autoencoder.

    Notes
    -----
    ``score_samples`` is the variational bound ``log p(x) >= -L_T - sum_t L_{t-1} -
    L_0`` in nats, with every one of the ``T`` consistency terms evaluated (not a
    random subset), each at one noise vector per step drawn from a generator of fixed
    seed and shared by all rows: deterministic, independent of the other rows, and a
    single-draw Monte-Carlo estimate of each expectation. The reverse variance is the
    posterior's ``beta_tilde_t``; the decoder ``p(x_0 | x_1)`` is Gaussian with
    variance ``beta_1`` (a density bound for continuous data, not the discretised
    decoder of Ho et al.). It costs ``T`` network passes over ``X``.

    Training draws a time step and a noise vector per row, so integer sample weights
    are equivalent to repeated rows only in expectation. scikit-learn's checks all pass
    (no expected failures).

    %(float32_note)s

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.4.4: Definition 3.93
       (DDPM), Remarks 3.72-3.77 (the bound, ``q(x_t | x_0)``, noise prediction,
       Tweedie's formula), Definition 3.88 (classifier-free guidance scale).
    .. [2] J. Ho, A. Jain and P. Abbeel, "Denoising Diffusion Probabilistic Models",
       NeurIPS 2020.
    .. [3] J. Song, C. Meng and S. Ermon, "Denoising Diffusion Implicit Models",
       ICLR 2021.
    .. [4] A. Q. Nichol and P. Dhariwal, "Improved Denoising Diffusion Probabilistic
       Models", ICML 2021.
    .. [5] J. Ho and T. Salimans, "Classifier-Free Diffusion Guidance", NeurIPS 2021
       Workshop.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skml.neural import DiffusionModel
    >>> X, _ = make_moons(200, noise=0.05, random_state=0)
    >>> ddpm = DiffusionModel(hidden_layer_sizes=(32, 32), n_timesteps=50, max_iter=5,
    ...                       random_state=0).fit(X)
    >>> ddpm.sample(3, random_state=0).shape
    (3, 2)
    """

    _parameter_constraints = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "image_shape": [None, tuple, list],
        "channels": [tuple, list],
    }
    # images are larger than table rows: fewer per forward pass at inference
    _inference_batch_size = 1024

    # image_shape handling shared with the CNN estimators (no size limit: the U-Net
    # pads images to a multiple of its resolution halvings)
    _image_shape_param = _BaseCNN._image_shape_param
    _validate_images = _BaseCNN._validate_images

    def __init__(self, architecture="auto", *, image_shape=None,
                 hidden_layer_sizes=(256, 256, 256), channels=(32, 64), embedding_dim=64,
                 activation="silu", n_timesteps=1000, noise_schedule="linear",
                 beta_start=1e-4, beta_end=0.02, sampler="ancestral",
                 n_sampling_steps=None, eta=0.0, label_dropout=0.1, guidance_scale=1.0,
                 clip_sample=True, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.architecture = architecture
        self.image_shape = image_shape
        self.channels = channels

    def _check_params(self):
        super()._check_params()
        _int_tuple(self.channels, "channels")
        if self.image_shape is not None:
            self._image_shape_param()

    def _check_image_size(self, shape):
        """Any image size suits the U-Net (it pads to its resolution halvings)."""

    def _uses_unet(self, images_given):
        if self.architecture == "auto":
            return images_given or self.image_shape is not None
        if self.architecture == "unet" and not images_given and self.image_shape is None:
            raise ValueError("architecture='unet' needs images: give X as (n_samples, C, "
                             "H, W) or flat rows with image_shape=(C, H, W).")
        return self.architecture == "unet"

    def _fit_inputs(self, X, y, *, reset):
        images_given = _n_dims(X) in (3, 4)
        if reset:
            self.unet_ = self._uses_unet(images_given)
            self._input_shape = (tuple(np.shape(X)[1:]) if images_given else None)
        images, _, _ = self._validate_images(X, reset=reset)
        return images if self.unet_ else images.reshape(len(images), -1)

    def _score_inputs(self, X):
        images, _, _ = self._validate_images(X, reset=False)
        inputs = images if self.unet_ else images.reshape(len(images), -1)
        return np.ascontiguousarray(inputs), 0.0

    def _model_shape(self):
        return tuple(self.image_shape_) if self.unet_ else (int(self.n_features_in_),)

    def _build_module(self):
        from skml.neural._modules.diffusion import MLPDenoiser, UNetDenoiser

        if self.unet_:
            channels = _int_tuple(self.channels, "channels")
            # the U-Net pads images to a multiple of 2**(levels - 1): many levels on
            # small images asked torch for exabytes (channels=(2,) * 30 on 4x4 images)
            factor = 2 ** (len(channels) - 1)
            c, h, w = self.image_shape_
            padded = (-(-h // factor) * factor, -(-w // factor) * factor)
            check_fits_in_memory(
                4 * max(channels) * padded[0] * padded[1],
                f"one image padded to {padded[0]}x{padded[1]} by the {len(channels) - 1} "
                f"halvings of channels={tuple(channels)} (reduce its length)",
                self._resolve_device())
            return UNetDenoiser(c, channels, int(self.embedding_dim), int(self.n_classes_))
        return MLPDenoiser(int(self.n_features_in_),
                           check_hidden_layer_sizes(self.hidden_layer_sizes),
                           int(self.embedding_dim), int(self.n_classes_), self.activation)

    def sample(self, n_samples=1, y=None, *, random_state=None, guidance_scale=None,
               n_sampling_steps=None, sampler=None, eta=None):
        """Generate samples by running the reverse process from ``N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        y : label or array-like of shape (n_samples,), default=None
            The labels to generate (conditional models): one label for all samples or
            one per sample. None samples the unconditional model.
        random_state : int, RandomState instance or None, default=None
            Seeds the initial noise and the noise of every step (the same seed gives
            the same samples on the CPU).
        guidance_scale : float, default=None
            Overrides ``guidance_scale`` (classifier-free guidance).
        n_sampling_steps : int, default=None
            Overrides ``n_sampling_steps`` (at most ``n_timesteps``).
        sampler : {"ancestral", "ddim"}, default=None
            Overrides ``sampler``.
        eta : float, default=None
            Overrides ``eta`` (DDIM).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features) or (n_samples, ...)
            float64 samples, in the layout of the training ``X`` (images when ``fit``
            got images).

        Raises
        ------
        ValueError
            ``n_sampling_steps > n_timesteps``, ``guidance_scale != 1`` or ``y`` for a
            model fitted without labels, labels unseen in training, no labels for a
            conditional model trained with ``label_dropout=0``.
        """
        samples = self._sample_model(n_samples, y, random_state, guidance_scale,
                                     n_sampling_steps, sampler, eta).astype(np.float64)
        shape = self._input_shape or (int(self.n_features_in_),)
        return samples.reshape(len(samples), *shape)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images (n, H, W) and (n, C, H, W)
        return tags


class LatentDiffusion(_BaseDiffusion):
    """Latent diffusion (Definition 3.94; Rombach et al., 2022): a DDPM in the code
    space of an autoencoder, decoded at sampling.

    ``fit`` encodes ``X`` with the autoencoder (its ``transform``: a
    :class:`~skml.neural.VAE`'s posterior mean or an
    :class:`~skml.neural.AutoEncoder`'s code), standardises the codes per dimension
    (the scale factor of Stable Diffusion, so the schedule's unit-variance noise suits
    them) and trains an MLP denoiser on them, with every option of
    :class:`DiffusionModel` (schedules, DDIM, classifier-free guidance); ``sample``
    runs the reverse process in the code space and decodes the codes with the
    autoencoder's ``inverse_transform``.

    Parameters
    ----------
    autoencoder : estimator with transform and inverse_transform, default=None
        A fitted skml ``VAE`` or ``AutoEncoder`` (any fitted estimator with
        ``transform`` and ``inverse_transform`` works): it is used as is, not refitted.
        An unfitted one (e.g. after ``clone``) is cloned and the clone fitted on ``X``
        first. Required.
    %(diffusion_params)s
    %(training_params)s

    Attributes
    ----------
    autoencoder_ : estimator
        The fitted autoencoder used (``autoencoder`` itself when it was fitted).
    latent_mean_, latent_scale_ : ndarray of shape (n_latent,)
        The standardisation of the codes.
    noise_schedule_ : NoiseSchedule
        As :class:`DiffusionModel`'s.
    classes_, n_classes_, data_range_ :
        As :class:`DiffusionModel`'s (``data_range_`` of the standardised codes).
    %(training_attributes)s

    Raises
    ------
    ValueError
        At ``fit``: no autoencoder, data the autoencoder does not accept, and as
        :class:`DiffusionModel`. At ``sample``: as :class:`DiffusionModel`.

    See Also
    --------
    DiffusionModel : Diffusion in the data space.

    Notes
    -----
    ``score_samples`` is the variational bound of the *code* ``transform(X)``'s
    log-density (nats; the change of variables of the standardisation included), as
    :class:`DiffusionModel`'s: a score of how typical a code is, not a likelihood of
    ``X`` (the decoder's likelihood is not part of it). scikit-learn's checks all pass
    (no expected failures).

    %(float32_note)s

    References
    ----------
    .. [1] H. Dai, "Note on Machine Learning" (preprint), §3.4.4: Definition 3.94
       (latent diffusion), Definition 3.93 (DDPM); §3.4.3 (the VAE).
    .. [2] R. Rombach, A. Blattmann, D. Lorenz, P. Esser and B. Ommer, "High-Resolution
       Image Synthesis with Latent Diffusion Models", CVPR 2022.
    .. [3] J. Ho, A. Jain and P. Abbeel, "Denoising Diffusion Probabilistic Models",
       NeurIPS 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skml.neural import VAE, LatentDiffusion
    >>> X = load_digits().data / 16.0
    >>> vae = VAE(n_components=4, likelihood="bernoulli", max_iter=5,
    ...           random_state=0).fit(X)
    >>> ldm = LatentDiffusion(vae, hidden_layer_sizes=(32,), n_timesteps=50,
    ...                       max_iter=5, random_state=0).fit(X)
    >>> ldm.sample(2, random_state=0).shape
    (2, 64)
    """

    _parameter_constraints = {
        "autoencoder": [None, HasMethods(["fit", "transform", "inverse_transform"])],
    }

    def __init__(self, autoencoder=None, *, hidden_layer_sizes=(256, 256, 256),
                 embedding_dim=64, activation="silu", n_timesteps=1000,
                 noise_schedule="linear", beta_start=1e-4, beta_end=0.02,
                 sampler="ancestral", n_sampling_steps=None, eta=0.0, label_dropout=0.1,
                 guidance_scale=1.0, clip_sample=True, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, l1=0.0, device="auto",
                 n_jobs=None, callbacks=None):
        super().__init__(**training_params(locals()))
        store_init_params(self, locals())
        self.autoencoder = autoencoder

    def _check_params(self):
        super()._check_params()
        if self.autoencoder is None:
            raise ValueError("LatentDiffusion needs an autoencoder: pass a fitted skml VAE "
                             "or AutoEncoder (autoencoder=...).")

    def _fitted_autoencoder(self, X):
        ae = self.autoencoder
        try:
            check_is_fitted(ae)
            return ae
        except Exception:  # NotFittedError, or an estimator check_is_fitted cannot read
            return clone(ae).fit(X)

    def _encode(self, X):
        Z = np.asarray(self.autoencoder_.transform(X), dtype=np.float64)
        if Z.ndim != 2:
            raise ValueError(f"the autoencoder's transform must return a 2-D array of "
                             f"codes, got shape {Z.shape}.")
        if not np.isfinite(Z).all():  # was reported as "diverged: lower the rate"
            raise ValueError("the autoencoder's transform returned non-finite codes (NaN "
                             "or infinity).")
        return Z

    def _fit_inputs(self, X, y, *, reset):
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        if reset:
            self.autoencoder_ = self._fitted_autoencoder(X)
            Z = self._encode(X)
            self.latent_mean_ = Z.mean(0)
            std = Z.std(0)
            if not np.isfinite(std).all():
                # squares of codes near 1e300 overflow (and sample() then returned NaN,
                # 0 * inf): the std of the codes scaled by their largest magnitude
                peak = float(np.abs(Z).max())
                std = (Z / peak).std(0) * peak
            self.latent_scale_ = np.where(std > 1e-12 * max(1.0, np.abs(Z).max()), std, 1.0)
        else:
            Z = self._encode(X)
        return as_float32((Z - self.latent_mean_) / self.latent_scale_, "the codes")

    def _score_inputs(self, X):
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        Z = self._encode(X)
        inputs = as_float32((Z - self.latent_mean_) / self.latent_scale_, "the codes")
        return inputs, -float(np.sum(np.log(self.latent_scale_)))

    def _model_shape(self):
        return (len(self.latent_mean_),)

    def _build_module(self):
        from skml.neural._modules.diffusion import MLPDenoiser

        return MLPDenoiser(len(self.latent_mean_),
                           check_hidden_layer_sizes(self.hidden_layer_sizes),
                           int(self.embedding_dim), int(self.n_classes_), self.activation)

    def sample_latent(self, n_samples=1, y=None, *, random_state=None,
                      guidance_scale=None, n_sampling_steps=None, sampler=None, eta=None):
        """Generate codes (the autoencoder's latent space) by the reverse process.

        Parameters are those of :meth:`sample`.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_latent)
            float64 codes, ready for the autoencoder's ``inverse_transform``.
        """
        Zs = self._sample_model(n_samples, y, random_state, guidance_scale,
                                n_sampling_steps, sampler, eta).astype(np.float64)
        return Zs * self.latent_scale_ + self.latent_mean_

    def sample(self, n_samples=1, y=None, *, random_state=None, guidance_scale=None,
               n_sampling_steps=None, sampler=None, eta=None):
        """Generate data: sample codes by the reverse process and decode them.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        y : label or array-like of shape (n_samples,), default=None
            Labels to generate (conditional models); None samples the unconditional
            model.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise of the reverse process.
        guidance_scale, n_sampling_steps, sampler, eta : default=None
            Override the parameters of the same names.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            The autoencoder's decoding of the sampled codes.

        Raises
        ------
        ValueError
            As :meth:`DiffusionModel.sample`.
        """
        Z = self.sample_latent(n_samples, y, random_state=random_state,
                               guidance_scale=guidance_scale,
                               n_sampling_steps=n_sampling_steps, sampler=sampler, eta=eta)
        return np.asarray(self.autoencoder_.inverse_transform(Z), dtype=np.float64)


DiffusionModel.__doc__ = _fill(DiffusionModel.__doc__)
LatentDiffusion.__doc__ = _fill(LatentDiffusion.__doc__)
