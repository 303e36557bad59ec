"""Roofline classification on synthetic ceilings and points, and the plots as real images."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_real_png

from tinytorch.perf.roofline import RooflineModel

PEAK, BANDWIDTH = 100.0, 20.0  # GFLOP/s, GB/s: ridge at 5 FLOP/byte


@pytest.fixture
def roof():
    return RooflineModel(PEAK, BANDWIDTH, "synthetic")


def test_ridge_and_attainable(roof):
    assert roof.ridge_point == pytest.approx(5.0)
    assert roof.attainable_gflops(1.0) == pytest.approx(20.0)  # on the memory slope
    assert roof.attainable_gflops(5.0) == pytest.approx(100.0)  # at the ridge
    assert roof.attainable_gflops(50.0) == pytest.approx(100.0)  # under the flat roof


@pytest.mark.parametrize("flops, bytes, bound", [
    (1_000, 4_000, "memory-bound"),  # 0.25 FLOP/B: elementwise territory
    (4_999, 1_000, "memory-bound"),  # just left of the ridge
    (5_000, 1_000, "compute-bound"),  # on the ridge
    (2 * 512**3, 3 * 512**2 * 4, "compute-bound"),  # a 512^3 matmul: 85 FLOP/B
])
def test_classification(roof, flops, bytes, bound):
    point = roof.add_point("k", flops, bytes, seconds=1.0)
    assert point.bound == bound
    assert point.intensity == pytest.approx(flops / bytes)


def test_efficiency_and_recommendations(roof):
    # memory-bound at 1 FLOP/B, 16 GFLOP/s achieved of 20 attainable: 80%
    memory = roof.add_point("add", 16_000_000, 16_000_000, seconds=1e-3)
    assert memory.achieved_gflops == pytest.approx(16.0)
    assert memory.efficiency == pytest.approx(0.8)
    assert "memory-bound" in memory.recommendation and "fuse" in memory.recommendation
    # compute-bound at 95% of peak: only fewer FLOPs help
    fast = roof.add_point("gemm", 95_000_000, 1_000_000, seconds=1e-3)
    assert fast.efficiency == pytest.approx(0.95) and "fewer FLOPs" in fast.recommendation
    # compute-bound but slow: make the work BLAS-shaped
    slow = roof.add_point("loops", 30_000_000, 1_000_000, seconds=1e-3)
    assert "BLAS" in slow.recommendation
    # far below both roofs: overhead
    tiny = roof.add_point("tiny", 1_000, 1_000, seconds=1e-3)
    assert tiny.efficiency < 0.1 and "overhead" in tiny.recommendation
    assert len(roof.points) == 4 and len(roof.to_dict()["points"]) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"flops": 10, "bytes": 0, "seconds": 1.0}, "bytes must be > 0"),
    ({"flops": -1, "bytes": 1, "seconds": 1.0}, "flops must be >= 0"),
    ({"flops": 10, "bytes": 10, "seconds": 0.0}, "seconds must be > 0"),
    ({"flops": float("nan"), "bytes": 10, "seconds": 1.0}, "flops must be >= 0"),
    ({"flops": 10, "bytes": None, "seconds": 1.0}, "bytes must be > 0"),
])
def test_bad_points_are_refused(roof, kwargs, message):
    with pytest.raises(ValueError, match=message):
        roof.add_point("bad", **kwargs)


@pytest.mark.parametrize("peak, bandwidth", [(0, 10), (10, -1), (float("nan"), 1)])
def test_bad_ceilings_are_refused(peak, bandwidth):
    with pytest.raises(ValueError, match="positive finite"):
        RooflineModel(peak, bandwidth)


def test_plot_png_is_a_real_image(roof, tmp_path):
    roof.add_point("elementwise", 1_000_000, 12_000_000, 1e-3)
    roof.add_point("matmul", 2 * 256**3, 3 * 256**2 * 4, 1e-3)
    path = tmp_path / "sub" / "roofline.png"
    assert roof.plot(path) == str(path)
    assert_real_png(path, min_side=300)
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["roofline.png"]  # no temp


def test_plot_svg(roof, tmp_path):
    roof.add_point("x", 10, 10, 1e-6)
    path = roof.plot(tmp_path / "roofline.svg")
    text = Path(path).read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "</svg>" in text


def test_plot_refuses_unknown_format(roof, tmp_path):
    with pytest.raises(ValueError, match="unsupported file type '.jpg'"):
        roof.plot(tmp_path / "roofline.jpg")
    assert not list(tmp_path.iterdir())


def test_from_hardware_uses_measured_ceilings():
    from tinytorch.perf.hardware import Ceilings, HardwareSpec

    spec = HardwareSpec("Linux", "x86_64", "cpu", 1, 1, 1, [], [], None, "2", {},
                        Ceilings({"float32": 64.0, "float64": 32.0}, {"copy": 8.0}, 64, 1, 1,
                                 True))
    roof = RooflineModel.from_hardware(spec, "float64")
    assert (roof.peak_gflops, roof.bandwidth_gbs, roof.ridge_point) == (32.0, 8.0, 4.0)
