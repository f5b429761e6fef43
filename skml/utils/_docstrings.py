"""Docstring text that several docstrings share word for word, written once."""
import re
import textwrap

__all__ = ["fill_doc"]


def fill_doc(**fragments):
    """Decorator filling shared text into a function's or class's docstring.

    Each line of the docstring that holds only ``{name}`` becomes ``fragments[name]``,
    indented as that line is, so that a parameter description, a Raises section or a
    note shared by several functions is written (and corrected) in one place. Write
    the fragments without indentation.

    Parameters
    ----------
    **fragments : str
        The shared texts, by placeholder name.

    Returns
    -------
    decorate : callable
        Sets the filled ``__doc__`` on the decorated object and returns the object.

    Raises
    ------
    ValueError
        If a fragment's placeholder is not in the docstring (a misspelt name).

    Examples
    --------
    >>> from skml.utils import fill_doc
    >>> @fill_doc(x_doc="x : float\\n    A number.")
    ... def double(x):
    ...     '''Twice x.
    ...
    ...     Parameters
    ...     ----------
    ...     {x_doc}
    ...     '''
    >>> print(double.__doc__.splitlines()[4])
        x : float
    """
    def decorate(obj):
        doc = obj.__doc__
        if doc is None:  # python -OO
            return obj
        for name, text in fragments.items():
            text = textwrap.dedent(text).strip("\n")
            doc, n = re.subn(r"^([ \t]*)\{" + re.escape(name) + r"\}[ \t]*$",
                             lambda m: textwrap.indent(text, m.group(1)), doc,
                             flags=re.M)
            if n == 0:
                raise ValueError(f"The docstring of {obj.__qualname__} has no line "
                                 f"{{{name}}} to fill.")
        obj.__doc__ = doc
        return obj
    return decorate
