"""The neural section of ``python -m skml demo``: scikit-learn's MLP fed the same
arguments, the loss-curve plot, the autoencoder against PCA and the VAE grid."""
import pytest

pytest.importorskip("torch")


def test_demo_section_compares_with_sklearn_and_plots(tmp_path):
    import matplotlib

    from skml._demo import neural as demo_neural
    from skml._demo._report import Report

    matplotlib.use("Agg")
    report = Report(tmp_path)
    demo_neural.section(report, quick=True)
    text = report.write("neural").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines()
            if line.startswith(("| skml.neural.MLPClassifier", "| sklearn MLPClassifier"))}
    assert len(rows) == 2
    ours, theirs = (float(rows[k][1]) for k in ("skml.neural.MLPClassifier",
                                                 "sklearn MLPClassifier"))
    assert ours > theirs - 0.05  # the same arguments give a model as good as sklearn's
    rec = [line for line in text.splitlines() if line.startswith(("| PCA", "| AutoEncoder"))]
    assert len(rec) == 2
    for name in ("neural_mlp_loss", "neural_ae_code", "neural_vae_grid"):
        png = tmp_path / f"{name}.png"
        assert png.stat().st_size > 10_000 and f"({name}.png)" in text
