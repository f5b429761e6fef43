"""The demo's report: a folder with ``report.md`` and the PNG plots it links to."""
import os
from pathlib import Path

__all__ = ["Report"]


class Report:
    """Collects markdown and figures for ``python -m skml demo``.

    Sections call :meth:`heading`, :meth:`text`, :meth:`table` and :meth:`figure`.
    """

    def __init__(self, folder, full=False):
        #: sections may run longer, larger versions of their work when True (``--full``)
        self.full = full
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lines = []
        self.figures = []

    def heading(self, title, level=2):
        self._lines += ["", "#" * level + " " + title, ""]

    def text(self, paragraph):
        self._lines += [paragraph.strip(), ""]

    def table(self, headers, rows):
        """A markdown table; floats are shown with 4 significant digits."""
        def cell(v):
            # a bare | inside a cell would end the cell in Markdown
            return (f"{v:.4g}" if isinstance(v, float) else str(v)).replace("|", "\\|")

        self._lines.append("| " + " | ".join(cell(h) for h in headers) + " |")
        self._lines.append("|" + "---|" * len(headers))
        for row in rows:
            self._lines.append("| " + " | ".join(cell(v) for v in row) + " |")
        self._lines.append("")

    def figure(self, fig, name, caption):
        """Save a matplotlib figure as ``name``.png, link it, and close it."""
        import matplotlib.pyplot as plt

        path = self.folder / f"{name}.png"
        fig.savefig(path, dpi=90, bbox_inches="tight")
        plt.close(fig)
        self.figures.append(path)
        self._lines += [f"![{caption}]({path.name})", "", f"*{caption}*", ""]

    def write(self, title):
        path = self.folder / "report.md"
        path.write_text("# " + title + "\n" + "\n".join(self._lines) + "\n")
        return path


def default_folder():
    return Path(os.environ.get("SKML_DEMO_DIR", "skml_demo_report")).resolve()
