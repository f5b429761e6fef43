"""The detection section of ``python -m skml demo``: the Faster R-CNN scores and the
picture of proposals, detections and true boxes."""
import re

import pytest

pytest.importorskip("torch")


def test_demo_section_reports_map_losses_and_picture(tmp_path):
    import matplotlib

    from skml._demo import detection as demo_detection
    from skml._demo._report import Report

    matplotlib.use("Agg")
    report = Report(tmp_path)
    demo_detection.section(report, quick=True)
    text = report.write("detection").read_text()
    score = float(re.search(r"mAP@0.5 on 24 held-out scenes = ([0-9]+\.[0-9]+)", text).group(1))
    assert 0.0 <= score <= 1.0
    # the loss table: first and last epoch
    rows = [line for line in text.splitlines() if line.startswith("| ") and
            line.split("|")[1].strip().isdigit()]
    assert len(rows) == 2
    png = tmp_path / "detection_boxes.png"
    assert png.stat().st_size > 10_000 and "(detection_boxes.png)" in text
