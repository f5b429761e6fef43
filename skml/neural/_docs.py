"""Docstring fragments shared by the neural estimators (the training parameters and the
attributes every ``NeuralEstimator`` has), so each class documents its full signature in
the same words. A class docstring writes ``%(training_params)s``,
``%(training_attributes)s`` and ``%(float32_note)s`` where they go, and the module calls
``Cls.__doc__ = fill(Cls.__doc__)``; a common test checks that every neural estimator
does."""

TRAINING_PARAMS = """\
    solver : {"adam", "sgd", "lbfgs", "adamw", "rmsprop", "adagrad"}, default="adam"
        The optimiser (``torch.optim``). ``"adam"``, ``"sgd"`` (with ``momentum`` and
        ``nesterovs_momentum``) and ``"lbfgs"`` (a quasi-Newton method on the whole
        training set, often better for small data) are scikit-learn's; ``"adamw"``
        (Adam with decoupled weight decay ``alpha``), ``"rmsprop"`` and ``"adagrad"``
        are torch's.
    alpha : float, default=0.0001
        Strength of the L2 penalty ``alpha / (2 n) * sum ||W||^2`` on the weight
        matrices (not the biases), where ``n`` is the batch's total sample weight, as in
        scikit-learn. For ``solver="adamw"`` it is AdamW's decoupled weight decay of
        the weight matrices instead.
    batch_size : int or "auto", default="auto"
        Samples per mini-batch: ``"auto"`` is ``min(200, n_samples)``; larger values are
        clipped to ``n_samples`` (with a warning). An epoch cuts the (shuffled) samples
        into ``ceil(n_samples / batch_size)`` batches whose sizes differ by at most one.
        Not used by ``"lbfgs"``, which takes all samples at once.
    learning_rate : {"constant", "invscaling", "adaptive", "step", "cosine"}, \
default="constant"
        Schedule of the step size. As in scikit-learn, ``"invscaling"``
        (``learning_rate_init / (t + 1) ** power_t`` after each epoch, ``t`` the samples
        seen so far) and ``"adaptive"`` (divided by 5 each time ``n_iter_no_change``
        epochs pass without an improvement of ``tol``; training stops once it falls
        below 1e-6) apply to ``solver="sgd"`` only. skml's ``"step"`` (times 0.1 every
        ``max_iter // 3`` epochs) and ``"cosine"`` (half a cosine from
        ``learning_rate_init`` to 0 over ``max_iter`` epochs) apply to every solver but
        ``"lbfgs"``.
    learning_rate_init : float, default=0.001
        Initial step size (not used by ``"lbfgs"``, whose line search sets the step).
    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.
    max_iter : int, default=200
        Maximum number of epochs (of iterations for ``"lbfgs"``) of a ``fit``.
    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split, dropout and the
        training noise. The same integer gives identical weights on the CPU.
    tol : float, default=1e-4
        Improvement that counts: training stops when the training loss (with
        ``early_stopping``: the validation score) has not improved by at least ``tol``
        for more than ``n_iter_no_change`` consecutive epochs. For ``"lbfgs"``, the
        largest gradient entry below which it stops.
    verbose : bool or int, default=False
        ``>= 1``: a tqdm progress bar over the epochs with the running loss (and the
        validation score); ``>= 2``: also scikit-learn's line per epoch.
    warm_start : bool, default=False
        When fitted, ``fit`` continues from the current weights (with a new optimiser)
        instead of a new network.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``, in [0, 1].
    nesterovs_momentum : bool, default=True
        Whether ``solver="sgd"`` uses Nesterov's momentum (when ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers), stop when the validation score has not improved by ``tol`` for
        more than ``n_iter_no_change`` epochs, and restore the weights of the best
        epoch. Not used by ``"lbfgs"`` nor ``partial_fit``.
    validation_fraction : float, default=0.1
        Share of the training data held out for ``early_stopping``, in [0, 1).
    beta_1 : float, default=0.9
        Decay of Adam's first-moment estimate (``"adam"``, ``"adamw"``), in [0, 1).
    beta_2 : float, default=0.999
        Decay of Adam's second-moment estimate (``"adam"``, ``"adamw"``), in [0, 1).
    epsilon : float, default=1e-8
        Numerical stability term of ``"adam"``, ``"adamw"``, ``"rmsprop"`` and
        ``"adagrad"``.
    n_iter_no_change : int or np.inf, default=10
        Epochs without an improvement of ``tol`` tolerated before stopping (or, with
        ``learning_rate="adaptive"``, dividing the rate); ``np.inf`` never stops early.
    max_fun : int, default=15000
        Most loss evaluations of ``solver="lbfgs"``.
    l1 : float, default=0.0
        L1 penalty ``l1 * sum |W|`` on the weight matrices, added to the loss.
    device : str or torch.device, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``.
    n_jobs : int or None, default=None
        Torch's intra-op threads while the network runs on the CPU (in ``fit``,
        ``partial_fit`` and prediction; torch's setting is restored afterwards).
        ``None``: one thread per 4M multiply-adds of a batch's forward pass, at most
        torch's current setting and the idle cores (cores minus the load average), so
        small networks, and any network on a busy machine, run on one thread (more only
        slow them); ``-1``: all cores; ``k``: ``k`` threads.
    callbacks : list of (str, callable or object) or None, default=None
        ``callback(estimator, history_row)`` called after every epoch (returning
        ``True`` stops training), or an object with ``on_epoch_end(estimator, row)``
        and/or ``on_batch_end(estimator, logs)``."""

TRAINING_ATTRIBUTES = """\
    module_ : torch.nn.Module
        The fitted network.
    loss_ : float
        Training loss of the last epoch (penalties included).
    loss_curve_ : list of float
        Training loss of every epoch (of every L-BFGS iteration) since the network was
        initialised.
    best_loss_ : float or None
        Lowest training loss reached; None with ``early_stopping``.
    validation_scores_ : list of float or None
        Validation score of every epoch with ``early_stopping``, else None.
    best_validation_score_ : float or None
        Best validation score with ``early_stopping`` (its weights were restored), else
        None.
    n_iter_ : int
        Epochs (L-BFGS iterations) run by the last ``fit`` or ``partial_fit``.
    t_ : int
        Training samples seen since the network was initialised.
    history_ : list of dict
        One row per epoch: ``epoch``, ``loss``, any other loss the training step
        reports, ``validation_score`` (None without ``early_stopping``),
        ``learning_rate`` and ``dur`` (seconds); callbacks may add keys.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names."""


FLOAT32_NOTE = """\
    The training loop and its parameters are described in detail in
    :class:`~skml.neural.NeuralEstimator` and the user guide.

    The network computes in float32 whatever the dtype of ``X`` (outputs are returned
    in the dtype of ``X``); values beyond the float32 range are refused with a
    ``ValueError``. Known debt, as an expected failure of scikit-learn's checks:
    ``check_sample_weight_equivalence_on_dense_data``, because weighted and
    repeated rows give the same loss summed in another order in float32 (fits agree to
    about 1e-6 relative; the check asks 1e-7)."""


def fill(doc, **pieces):
    """Insert the shared fragments into a class docstring, then a module's own: each
    ``%(name)s`` is replaced by ``pieces[name]``."""
    doc = (doc.replace("    %(training_params)s", TRAINING_PARAMS)
              .replace("    %(training_attributes)s", TRAINING_ATTRIBUTES)
              .replace("    %(float32_note)s", FLOAT32_NOTE))
    for name, text in pieces.items():
        doc = doc.replace(f"%({name})s", text)
    return doc
