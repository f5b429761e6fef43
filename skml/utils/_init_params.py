"""Storing an estimator's constructor arguments."""

__all__ = ["store_init_params"]


def store_init_params(estimator, init_locals, names=None):
    """Store an ``__init__``'s arguments on ``estimator``, unchanged, under their names.

    scikit-learn reads an estimator's parameters from its ``__init__`` signature, so the
    signature stays explicit; the body is ``store_init_params(self, locals())``, called
    first (when ``locals()`` holds only the arguments), instead of one ``self.name =
    name`` line per parameter repeated in every estimator that shares them.

    Parameters
    ----------
    estimator : object
        The estimator being constructed.
    init_locals : dict
        ``locals()`` at the start of its ``__init__``: ``self`` (and the ``__class__``
        cell that ``super()`` adds) are skipped, every other entry is stored.
    names : sequence of str, default=None
        Store only these entries (e.g. the parameters a family's estimators share, when
        the rest are passed on to ``super().__init__``); all of them when None.

    Raises
    ------
    KeyError
        If a name in ``names`` is not an argument of the ``__init__``.
    """
    if names is not None:
        for name in names:
            setattr(estimator, name, init_locals[name])
        return
    for name, value in init_locals.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
