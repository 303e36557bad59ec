"""Hardware facts (parsed from synthetic /proc and /sys, sysctl, and the real machine) and
the measured ceilings (tiny sizes: checked for sense, not for speed)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tinytorch.perf import hardware
from tinytorch.perf.hardware import (
    CacheInfo,
    Ceilings,
    HardwareSpec,
    get_hardware_spec,
    linux_facts,
    macos_facts,
    measure_matmul_gflops,
    measure_memory_bandwidth,
    windows_facts,
)

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Example CPU @ 3.00GHz
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 avx avx2 fma avx512f

processor\t: 1
model name\t: Example CPU @ 3.00GHz
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 avx avx2 fma avx512f

processor\t: 2
model name\t: Example CPU @ 3.00GHz
physical id\t: 0
core id\t\t: 1
flags\t\t: fpu sse sse2 avx avx2 fma avx512f
"""


def make_sys(tmp_path):
    base = tmp_path / "cpu"
    for index, (level, kind, size, shared) in enumerate(
            [(1, "Data", "48K", "0-1"), (2, "Unified", "2048K", "0-1"),
             (3, "Unified", "30M", "0-2")]):
        folder = base / "cpu0" / "cache" / f"index{index}"
        folder.mkdir(parents=True)
        for name, value in (("level", level), ("type", kind), ("size", size),
                            ("shared_cpu_list", shared)):
            (folder / name).write_text(f"{value}\n")
    return base


def test_linux_facts_from_cpuinfo_and_sys(tmp_path):
    facts = linux_facts(CPUINFO, str(make_sys(tmp_path)))
    assert facts["cpu_model"] == "Example CPU @ 3.00GHz"
    assert facts["logical_cpus"] == 3 and facts["physical_cores"] == 2
    assert facts["simd"] == ["sse", "sse2", "avx", "avx2", "fma", "avx512f"]
    assert facts["caches"] == [CacheInfo(1, "Data", 48 * 1024, 2),
                               CacheInfo(2, "Unified", 2048 * 1024, 2),
                               CacheInfo(3, "Unified", 30 * 2**20, 3)]


def test_linux_facts_for_arm_cpuinfo(tmp_path):
    arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm sve\nCPU implementer\t: 0x41\n" \
          "CPU part\t: 0xd0c\n"
    facts = linux_facts(arm, str(tmp_path / "missing"))
    assert facts["cpu_model"] == "ARM implementer 0x41 part 0xd0c"
    assert facts["simd"] == ["asimd", "sve"]
    assert facts["physical_cores"] is None  # no core ids: unknown, not guessed


def test_macos_facts_from_sysctl(monkeypatch):
    values = {"machdep.cpu.brand_string": "Apple M2", "hw.physicalcpu": "8",
              "hw.logicalcpu": "8", "hw.l1dcachesize": "65536", "hw.l2cachesize": "4194304",
              "hw.optional.neon": "1"}
    monkeypatch.setattr(hardware, "_sysctl", values.get)
    facts = macos_facts()
    assert facts["cpu_model"] == "Apple M2" and facts["physical_cores"] == 8
    assert facts["simd"] == ["neon", "asimd"]
    assert [c.size_bytes for c in facts["caches"]] == [65536, 4194304]


def test_windows_facts_degrade_gracefully_off_windows():
    facts = windows_facts()  # no winreg / windll here: falls back, never raises
    assert set(facts) == {"cpu_model", "physical_cores", "logical_cpus", "simd", "caches"}
    assert facts["physical_cores"] is None and facts["caches"] == []


@pytest.mark.parametrize("text, expected", [("32K", 32768), ("1024K", 2**20), ("30M", 30 * 2**20),
                                            ("512", 512), ("2 MiB", 2 * 2**20), ("big", None)])
def test_parse_size(text, expected):
    assert hardware._parse_size(text) == expected


def test_count_cpu_list():
    assert hardware._count_cpu_list("0-3,8,10-11") == 7


def test_facts_of_this_machine_without_measuring():
    spec = get_hardware_spec(measure=False)
    assert spec.logical_cpus >= 1 and spec.usable_cpus >= 1
    assert spec.numpy_version == np.__version__
    assert spec.blas["threads"] >= 1
    with pytest.raises(RuntimeError, match="not measured"):
        spec.ridge_point()
    json.dumps(spec.to_dict())


def test_matmul_peak_is_measured_and_positive():
    gflops = measure_matmul_gflops(np.float32, n=64, repeats=2)
    assert math.isfinite(gflops) and gflops > 0
    with pytest.raises(TypeError, match="floating"):
        measure_matmul_gflops(np.int32, n=8)
    with pytest.raises(ValueError, match="n must be"):
        measure_matmul_gflops(np.float32, n=0)


def test_bandwidth_kernels_count_their_traffic(monkeypatch):
    """With a fake clock each kernel call takes exactly 1 ms: GB/s = bytes moved / 1 ms."""
    def fake_benchmark(fn, name, warmup, repeats, min_block_seconds):
        fn()
        from tinytorch.perf.benchmark import Measurement
        return Measurement(name, 1, warmup, [0.001] * repeats)

    monkeypatch.setattr(hardware, "benchmark", fake_benchmark)
    result = measure_memory_bandwidth(n_bytes=2**20, repeats=2)
    assert result["copy"] == pytest.approx(2 * 2**20 / 1e-3 / 1e9)
    assert result["triad"] == pytest.approx(5 * 2**20 / 1e-3 / 1e9)
    with pytest.raises(ValueError, match="8 KiB"):
        measure_memory_bandwidth(n_bytes=100)


def test_ridge_point_is_peak_over_bandwidth():
    spec = HardwareSpec("Linux", "x86_64", "cpu", 2, 4, 4, [], [], None, "2", {},
                        Ceilings({"float32": 100.0, "float64": 50.0},
                                 {"copy": 20.0, "triad": 25.0}, 64, 2**20, 3, True))
    assert spec.memory_bandwidth_gbs == 25.0
    assert spec.ridge_point("float32") == pytest.approx(4.0)
    assert spec.ridge_point("float64") == pytest.approx(2.0)
    with pytest.raises(KeyError, match="bfloat16"):
        spec.ridge_point("bfloat16")
    assert spec.to_dict()["ridge_point_flop_per_byte"]["float32"] == pytest.approx(4.0)


def test_quick_measurement_of_this_machine(monkeypatch):
    monkeypatch.setattr(hardware, "measure_ceilings", lambda quick, last_level_cache=None:
                        Ceilings({"float32": measure_matmul_gflops(np.float32, 32, 1),
                                  "float64": measure_matmul_gflops(np.float64, 32, 1)},
                                 measure_memory_bandwidth(2**20, 1), 32, 2**20, 1, True))
    spec = get_hardware_spec(quick=True, refresh=True)
    assert spec.ceilings.quick and any("quick" in note for note in spec.notes)
    assert spec.ridge_point() > 0
    assert get_hardware_spec(quick=True) is spec  # cached per process
    hardware._cached_spec.cache_clear()
