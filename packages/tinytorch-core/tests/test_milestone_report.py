"""Milestone 01's picture report: written next to the run's output, a picture of its models."""

import sys

from picture_checks import assert_picture, assert_pictures_differ

from tinytorch.core.milestones import support, xor
from tinytorch.core.plot import new_figure


def test_xor_writes_its_decision_boundary_report(tmp_path, capsys):
    assert xor.main(["--output", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'a' / 'report.png'}" in " ".join(out.split()) or \
        "report.png" in out
    first = assert_picture(tmp_path / "a" / "report.png", min_size=(900, 400))
    assert "<svg" in (tmp_path / "a" / "report.svg").read_text()
    # another seed trains other networks: the picture is drawn from the run's own models
    assert xor.main(["--seed", "3", "--output", str(tmp_path / "b")]) == 0
    assert_pictures_differ(first, assert_picture(tmp_path / "b" / "report.png"))


def test_missing_matplotlib_does_not_fail_the_milestone(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert xor.main(["--output", str(tmp_path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert 'no picture report: matplotlib is not installed (pip install "tinytorch-core[plot]")' \
        in out
    assert not list(tmp_path.iterdir())
    assert support.write_report(lambda: new_figure(1, 1), tmp_path / "x.png",
                                support.Console(), "01_xor") == []


def test_reports_are_collected_for_the_website(tmp_path, monkeypatch):
    monkeypatch.setenv(support.REPORTS_ENV, str(tmp_path / "collected"))
    assert xor.main(["--output", str(tmp_path / "run")]) == 0
    for name in ("report.png", "report.svg"):
        copied = tmp_path / "collected" / "01_xor" / name
        assert copied.read_bytes() == (tmp_path / "run" / name).read_bytes()
