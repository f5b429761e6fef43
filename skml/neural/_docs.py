"""Docstring fragments shared by the neural estimators (the training parameters and the
attributes every ``NeuralEstimator`` has), so each class documents its full signature."""

TRAINING_PARAMS = """\
    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}, \
            default="adam"
        The ``torch.optim`` optimiser. ``"momentum"`` and ``"nesterov"`` are SGD with
        momentum 0.9.
    lr : float, default=1e-3
        Learning rate.
    weight_decay : float, default=0.0
        L2 penalty (decoupled weight decay for ``"adamw"``).
    l1 : float, default=0.0
        L1 penalty on the weight matrices, added to the loss.
    batch_size : int, default=200
        Samples per mini-batch, capped at the number of training samples.
    max_epochs : int, default=100
        Passes over the training data in ``fit``.
    lr_schedule : {None, "step", "cosine"}, default=None
        Learning-rate schedule over ``max_epochs``.
    early_stopping : bool, default=False
        Stop when the loss on a held-out ``validation_fraction`` of the data has not
        improved for ``patience`` epochs, and restore the best weights.
    validation_fraction : float, default=0.1
        Share of the data held out when ``early_stopping`` is on.
    patience : int, default=10
        Epochs without improvement before stopping.
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, the validation split and the training noise.
    verbose : int, default=0
        ``> 0`` shows a progress bar with the running loss.
    callbacks : list of (str, callable or object) or None, default=None
        ``callback(estimator, history_row)`` called after every epoch (returning
        ``True`` stops training), or an object with ``on_epoch_end(estimator, row)``
        and/or ``on_batch_end(estimator, logs)``."""

TRAINING_ATTRIBUTES = """\
    module_ : torch.nn.Module
        The fitted network.
    history_ : list of dict
        Per-epoch ``epoch``, ``train_loss``, ``valid_loss``, ``metric``, ``lr`` and
        ``dur``.
    n_epochs_ : int
        Number of epochs trained.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names."""


FLOAT32_NOTE = """\
    The training loop and its parameters are described in detail in
    :class:`~skml.neural.NeuralEstimator`.

    The network computes in float32 whatever the dtype of ``X`` (outputs are returned
    in the dtype of ``X``). Known debt: scikit-learn's ``check_methods_subset_invariance``
    is an expected failure, because a matrix product over a batch and over a single row
    may round differently in the last float32 bit (about 1e-7 relative)."""


def fill(doc):
    """Insert the shared fragments into a class docstring."""
    return (doc.replace("    %(training_params)s", TRAINING_PARAMS)
               .replace("    %(training_attributes)s", TRAINING_ATTRIBUTES)
               .replace("    %(float32_note)s", FLOAT32_NOTE))
