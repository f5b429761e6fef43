"""Storing an estimator's constructor arguments."""

__all__ = ["store_init_params"]


def store_init_params(estimator, init_locals):
    """Store an ``__init__``'s arguments on ``estimator``, unchanged, under their names.

    scikit-learn reads an estimator's parameters from its ``__init__`` signature, so the
    signature stays explicit; the body is ``store_init_params(self, locals())``, called
    first (when ``locals()`` holds only the arguments; a deep estimator calls it after
    ``super().__init__(**training_params(locals()))``, which adds no local), instead of
    one ``self.name = name`` line per parameter.

    Parameters
    ----------
    estimator : object
        The estimator being constructed.
    init_locals : dict
        ``locals()`` at the start of its ``__init__``: ``self`` (and the ``__class__``
        cell that ``super()`` adds) are skipped, every other entry is stored.
    """
    for name, value in init_locals.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
