"""The diffusion section of ``python -m skml demo`` (quick mode): the ring's table and
the digits' FID and guidance tables, and both figures."""
import pytest

pytest.importorskip("torch")


def test_demo_section_reports_ring_digits_and_guidance(tmp_path):
    import matplotlib

    from skml._demo import diffusion as demo_diffusion
    from skml._demo._report import Report

    matplotlib.use("Agg")
    report = Report(tmp_path)
    demo_diffusion.section(report, quick=True)
    text = report.write("diffusion").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")}
    # 15 epochs already put the DDPM's samples closer to the ring than a Gaussian's
    # (the full settings' margins are asserted in test_diffusion.py)
    ddpm = float(rows["DDPM ancestral, 100 steps"][1])
    assert ddpm < float(rows["Gaussian fitted to the data"][1])
    assert float(rows["DDPM (guidance 1)"][1]) < float(rows["uniform noise"][1])
    assert {"0", "1", "3"} <= set(rows)  # the guidance sweep
    for name in ("diffusion_ring", "diffusion_digits"):
        png = tmp_path / f"{name}.png"
        assert png.stat().st_size > 5_000 and f"({name}.png)" in text
