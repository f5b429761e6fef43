"""Progress reports of the long fits (t-SNE, Isomap, MDS, LMNN), all alike: nothing at
``verbose=0``; at ``verbose >= 1`` a tqdm bar on stderr where the work has a known length
(iterations up to ``max_iter``, rows of shortest paths) and one line on stdout per
milestone (``[Name] what happened, in how long``). Without tqdm installed, the bars are
replaced by a line every tenth of the work.
"""
import sys
from time import perf_counter

__all__ = ["Progress"]


class Progress:
    """Milestone lines and bars of one fit.

    Parameters
    ----------
    name : str
        Prefix of the lines, e.g. ``"t-SNE"``.
    verbose : int or bool
        0: silent.
    """

    def __init__(self, name, verbose):
        self.name = name
        self.verbose = int(verbose)
        self.t0 = perf_counter()

    def line(self, text, level=1):
        """Print one milestone line (at ``verbose >= level``)."""
        if self.verbose >= level:
            print(f"[{self.name}] {text} ({perf_counter() - self.t0:.2f} s)", flush=True)

    def bar(self, total, desc, unit="it"):
        """A bar over ``total`` steps (a context manager with ``update(n)``,
        ``set_postfix_str(s)`` and ``close()``); a silent stand-in at ``verbose=0``."""
        if not self.verbose or total <= 0:
            return _NoBar()
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return _LineBar(self, total, desc)
        return tqdm(total=total, desc=f"{self.name}: {desc}", unit=unit, file=sys.stderr,
                    leave=False)


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, text):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _LineBar(_NoBar):
    """A line every tenth of the work, where tqdm is not installed."""

    def __init__(self, progress, total, desc):
        self.progress, self.total, self.desc = progress, total, desc
        self.done, self.next, self.postfix = 0, max(1, total // 10), ""

    def update(self, n=1):
        self.done += n
        if self.done >= self.next or self.done == self.total:
            self.progress.line(f"{self.desc}: {self.done}/{self.total} {self.postfix}")
            self.next = self.done + max(1, self.total // 10)

    def set_postfix_str(self, text):
        self.postfix = text
