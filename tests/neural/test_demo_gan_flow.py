"""The GAN / flow section of ``python -m skml demo`` (quick mode): its tables and plots."""
import pytest

pytest.importorskip("torch")


def test_demo_section_reports_fid_and_flow_densities(tmp_path):
    import matplotlib

    from skml._demo import gan_flow
    from skml._demo._report import Report

    matplotlib.use("Agg")
    report = Report(tmp_path)
    gan_flow.section(report, quick=True)
    text = report.write("gan_flow").read_text()
    fid = {line.split("|")[1].strip(): float(line.split("|")[2])
           for line in text.splitlines()
           if line.startswith(("| GAN", "| ConditionalGAN", "| uniform noise"))}
    assert set(fid) == {"GAN", "ConditionalGAN", "uniform noise"}
    assert fid["ConditionalGAN"] < fid["uniform noise"]
    flows = [line for line in text.splitlines()
             if line.startswith(("| two moons", "| ring of 8"))]
    assert len(flows) == 2
    for name in ("gan_digits", "flow_density"):
        png = tmp_path / f"{name}.png"
        assert png.stat().st_size > 10_000 and f"({name}.png)" in text
