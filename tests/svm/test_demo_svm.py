"""The SVM section of ``python -m skml demo``: a plot with the support vectors marked and
a table agreeing with scikit-learn."""
import matplotlib

from skml._demo import svm as demo_svm
from skml._demo._report import Report


def test_demo_section_plots_the_boundary_and_agrees_with_sklearn(tmp_path):
    matplotlib.use("Agg")
    report = Report(tmp_path)
    demo_svm.section(report, quick=True)
    text = report.write("svm").read_text()
    assert demo_svm.ORDER == 55
    png = tmp_path / "svm_moons.png"
    assert png.stat().st_size > 10_000
    assert "(svm_moons.png)" in text and "support vectors" in text
    rows = [line for line in text.splitlines()
            if line.startswith(("| rbf", "| poly", "| linear"))]
    assert len(rows) == 3
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2] == cells[3]  # same held-out accuracy as sklearn
        assert float(cells[4]) < 1e-6  # decision values agree
        assert cells[5] == "yes" and cells[6] == "yes"  # same SVs, same iterations
