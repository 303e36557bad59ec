"""What this machine is, and how fast it *measurably* computes and moves memory.

    spec = get_hardware_spec()            # facts + measured ceilings (cached per process)
    spec.peak_gflops["float32"], spec.memory_bandwidth_gbs, spec.ridge_point()

What it teaches: the two numbers that bound every kernel are the peak arithmetic rate
(FLOP/s) and the memory bandwidth (bytes/s). Both are *measured* here, not looked up:
- peak GFLOP/s: time a large square matmul through numpy's BLAS (2 n^3 FLOPs) and keep
  the fastest repeat; that is the best this machine and this BLAS reach in practice.
- bandwidth GB/s: time stream-like kernels (copy, triad) on arrays far larger than the
  last-level cache, counting the bytes numpy really reads and writes.
Their ratio, the ridge point (FLOP/byte), says how much arithmetic an operation must do
per byte it touches before the CPU, rather than memory, becomes the bottleneck.

Systems lesson: the facts (model name, caches, SIMD flags) explain the measured numbers;
AVX-512 FMA units and two cores set the FLOP ceiling, DRAM channels set the bandwidth.
Everything that cannot be found on a platform is reported as None, never guessed.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinytorch.core.cli.info import blas_info, usable_cpu_count

from .benchmark import benchmark

# SIMD extensions worth knowing about for numerical code (x86 and ARM names).
SIMD_FLAGS = (
    "sse", "sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c",
    "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "neon", "asimd", "asimdhp",
    "asimddp", "sve", "sve2", "sme",
)


@dataclass(frozen=True)
class CacheInfo:
    level: int
    type: str  # "Data", "Instruction" or "Unified"
    size_bytes: int
    shared_by_cpus: int | None = None


@dataclass(frozen=True)
class Ceilings:
    """Measured ceilings and how they were measured."""

    peak_gflops: dict[str, float]  # dtype name -> best GFLOP/s of a square BLAS matmul
    bandwidth_gbs: dict[str, float]  # kernel ("copy", "triad") -> best GB/s
    matmul_size: int
    stream_bytes: int  # size of each array in the bandwidth kernels
    repeats: int
    quick: bool


@dataclass
class HardwareSpec:
    system: str
    machine: str
    cpu_model: str | None
    physical_cores: int | None
    logical_cpus: int | None
    usable_cpus: int
    caches: list[CacheInfo]
    simd: list[str]
    memory_bytes: int | None
    numpy_version: str
    blas: dict
    ceilings: Ceilings | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def peak_gflops(self) -> dict[str, float]:
        return self._measured().peak_gflops

    @property
    def memory_bandwidth_gbs(self) -> float:
        """The best measured bandwidth of the stream kernels."""
        return max(self._measured().bandwidth_gbs.values())

    def ridge_point(self, dtype: str = "float32") -> float:
        """FLOP/byte where the bandwidth roof meets the compute roof: peak / bandwidth."""
        peaks = self._measured().peak_gflops
        if dtype not in peaks:
            raise KeyError(f"ridge_point: no measured peak for dtype {dtype!r}; "
                           f"measured: {sorted(peaks)}")
        return peaks[dtype] / self.memory_bandwidth_gbs

    def last_level_cache_bytes(self) -> int | None:
        sizes = [c.size_bytes for c in self.caches if c.type != "Instruction"]
        return max(sizes) if sizes else None

    def _measured(self) -> Ceilings:
        if self.ceilings is None:
            raise RuntimeError("HardwareSpec: ceilings were not measured; call "
                               "get_hardware_spec(measure=True)")
        return self.ceilings

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.ceilings is not None:
            data["ridge_point_flop_per_byte"] = {d: self.ridge_point(d)
                                                 for d in self.ceilings.peak_gflops}
            data["memory_bandwidth_gbs"] = self.memory_bandwidth_gbs
        return data


# ---------------------------------------------------------------- measured ceilings


def measure_matmul_gflops(dtype=np.float32, n: int = 1024, repeats: int = 5,
                          warmup: int = 1) -> float:
    """Best GFLOP/s of an (n, n) @ (n, n) matmul through numpy's BLAS: 2 n^3 FLOPs a call."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"measure_matmul_gflops: dtype must be floating, got {dtype}")
    if n < 1:
        raise ValueError(f"measure_matmul_gflops: n must be >= 1, got {n}")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    timing = benchmark(lambda: np.matmul(a, b, out=out), "matmul", warmup=warmup,
                       repeats=repeats, min_block_seconds=0.02)
    return 2 * n**3 / timing.best / 1e9


def measure_memory_bandwidth(n_bytes: int = 256 * 2**20, repeats: int = 5,
                             warmup: int = 1) -> dict[str, float]:
    """Best GB/s of two stream-like kernels on float64 arrays of `n_bytes` each.

    - copy:  b[:] = a                  reads a, writes b: 2 arrays of traffic
    - triad: a = b + s * c             numpy runs it as two passes with `out=`:
             a = s * c   (read c, write a)  then  a += b  (read a, b, write a):
             5 arrays of traffic, counted as such
    Arrays should be several times the last-level cache so DRAM, not cache, is measured.
    """
    if n_bytes < 8 * 1024:
        raise ValueError(f"measure_memory_bandwidth: n_bytes must be >= 8 KiB, got {n_bytes}")
    count = n_bytes // 8
    a = np.ones(count)
    b = np.full(count, 2.0)
    c = np.full(count, 3.0)
    scalar = 3.0

    def copy():
        np.copyto(b, a)

    def triad():
        np.multiply(c, scalar, out=a)
        np.add(a, b, out=a)

    moved = {"copy": 2 * a.nbytes, "triad": 5 * a.nbytes}
    results = {}
    for name, kernel in (("copy", copy), ("triad", triad)):
        timing = benchmark(kernel, name, warmup=warmup, repeats=repeats,
                           min_block_seconds=0.02)
        results[name] = moved[name] / timing.best / 1e9
    return results


def measure_ceilings(quick: bool = False, repeats: int | None = None,
                     last_level_cache: int | None = None) -> Ceilings:
    """Peak matmul GFLOP/s (float32, float64) and stream bandwidth, measured now.

    Full: a 1024^2 matmul and arrays of max(256 MiB, 8x the last-level cache).
    Quick: a 256^2 matmul and 16 MiB arrays: seconds instead of tens of seconds, but the
    arrays may partly fit in cache, so the bandwidth reads high.
    """
    n = 256 if quick else 1024
    stream = 16 * 2**20 if quick else max(256 * 2**20, 8 * (last_level_cache or 0))
    repeats = repeats or (3 if quick else 7)
    peaks = {name: measure_matmul_gflops(dtype, n, repeats)
             for name, dtype in (("float32", np.float32), ("float64", np.float64))}
    bandwidth = measure_memory_bandwidth(stream, repeats)
    return Ceilings(peaks, bandwidth, n, stream, repeats, quick)


# ---------------------------------------------------------------- facts, per platform


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _sysctl(name: str) -> str | None:
    """macOS: `sysctl -n name`, or None when the key or the command is missing."""
    try:
        result = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True,
                                timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    value = result.stdout.strip()
    return value if result.returncode == 0 and value else None


def _parse_cpuinfo(text: str) -> list[dict[str, str]]:
    """/proc/cpuinfo as one dict per logical CPU block."""
    blocks = []
    for block in text.strip().split("\n\n"):
        entry = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                entry[key.strip()] = value.strip()
        if entry:
            blocks.append(entry)
    return blocks


def _parse_size(text: str) -> int | None:
    """'32K' -> 32768, '1024K', '32M', '2097152' (bytes)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", text, flags=re.IGNORECASE)
    if not match:
        return None
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match.group(2).upper()]
    return int(match.group(1)) * scale


def _count_cpu_list(text: str) -> int:
    """'0-3,8' -> 5 CPUs."""
    total = 0
    for part in text.strip().split(","):
        if "-" in part:
            low, high = part.split("-")
            total += int(high) - int(low) + 1
        elif part:
            total += 1
    return total


def linux_facts(cpuinfo_text: str | None = None, sys_cpu: str = "/sys/devices/system/cpu"
                ) -> dict:
    """CPU model, cores, SIMD flags and caches from /proc/cpuinfo and /sys."""
    text = cpuinfo_text if cpuinfo_text is not None else _read("/proc/cpuinfo") or ""
    blocks = _parse_cpuinfo(text)
    first = blocks[0] if blocks else {}
    model = first.get("model name") or first.get("Hardware") or first.get("Processor")
    if model is None and "CPU part" in first:  # ARM: implementer/part codes only
        model = f"ARM implementer {first.get('CPU implementer')} part {first['CPU part']}"
    flags = set((first.get("flags") or first.get("Features") or "").split())
    cores = {(b.get("physical id", "0"), b["core id"]) for b in blocks if "core id" in b}
    caches = []
    for index in sorted(Path(sys_cpu, "cpu0", "cache").glob("index*")):
        level, kind, size = (_read(index / name) for name in ("level", "type", "size"))
        shared = _read(index / "shared_cpu_list")
        if level and kind and size and _parse_size(size) is not None:
            caches.append(CacheInfo(int(level), kind.strip(), _parse_size(size),
                                    _count_cpu_list(shared) if shared else None))
    return {
        "cpu_model": model,
        "physical_cores": len(cores) or None,
        "logical_cpus": len(blocks) or os.cpu_count(),
        "simd": [f for f in SIMD_FLAGS if f in flags],
        "caches": caches or _sysconf_caches(),
    }


def _sysconf_caches() -> list[CacheInfo]:
    """glibc's view of the caches (when /sys has none), via os.sysconf."""
    names = (("SC_LEVEL1_DCACHE_SIZE", 1, "Data"), ("SC_LEVEL1_ICACHE_SIZE", 1, "Instruction"),
             ("SC_LEVEL2_CACHE_SIZE", 2, "Unified"), ("SC_LEVEL3_CACHE_SIZE", 3, "Unified"))
    caches = []
    for name, level, kind in names:
        if name in os.sysconf_names:
            try:
                size = os.sysconf(name)
            except (OSError, ValueError):
                continue
            if size and size > 0:
                caches.append(CacheInfo(level, kind, size))
    return caches


def macos_facts() -> dict:
    """The same facts from `sysctl` (Intel and Apple silicon)."""
    caches = []
    for key, level, kind in (("hw.l1dcachesize", 1, "Data"), ("hw.l1icachesize", 1,
                             "Instruction"), ("hw.l2cachesize", 2, "Unified"),
                             ("hw.l3cachesize", 3, "Unified")):
        value = _sysctl(key)
        if value and value.isdigit() and int(value) > 0:
            caches.append(CacheInfo(level, kind, int(value)))
    features = " ".join(filter(None, (_sysctl("machdep.cpu.features"),
                                      _sysctl("machdep.cpu.leaf7_features")))).lower()
    flags = set(features.replace(".", "_").split())
    if _sysctl("hw.optional.neon") == "1" or _sysctl("hw.optional.AdvSIMD") == "1":
        flags.update({"neon", "asimd"})
    physical, logical = _sysctl("hw.physicalcpu"), _sysctl("hw.logicalcpu")
    return {
        "cpu_model": _sysctl("machdep.cpu.brand_string"),
        "physical_cores": int(physical) if physical and physical.isdigit() else None,
        "logical_cpus": int(logical) if logical and logical.isdigit() else os.cpu_count(),
        "simd": [f for f in SIMD_FLAGS if f in flags],
        "caches": caches,
    }


# IsProcessorFeaturePresent codes (winnt.h) for the SIMD extensions we report.
_WINDOWS_FEATURES = {"sse": 6, "sse2": 10, "sse3": 13, "ssse3": 36, "sse4_1": 37,
                     "sse4_2": 38, "avx": 39, "avx2": 40, "avx512f": 41, "neon": 19}


def windows_facts() -> dict:
    """CPU model from the registry, SIMD flags from IsProcessorFeaturePresent."""
    model = None
    try:
        import winreg

        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,
                             r"HARDWARE\DESCRIPTION\System\CentralProcessor\0")
        model = str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip()
    except (ImportError, OSError):
        model = platform.processor() or None
    simd = []
    try:
        present = ctypes.windll.kernel32.IsProcessorFeaturePresent  # type: ignore[attr-defined]
        simd = [name for name, code in _WINDOWS_FEATURES.items() if present(code)]
    except (AttributeError, OSError):
        pass
    return {"cpu_model": model, "physical_cores": None, "logical_cpus": os.cpu_count(),
            "simd": simd, "caches": []}


def total_memory_bytes() -> int | None:
    """Physical memory: sysconf on Linux, sysctl on macOS, GlobalMemoryStatusEx on Windows."""
    if sys.platform == "darwin":
        value = _sysctl("hw.memsize")
        return int(value) if value and value.isdigit() else None
    if sys.platform == "win32":
        return _windows_memory()
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def _windows_memory() -> int | None:
    class MemoryStatus(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong),
                    ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong),
                    ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    try:
        ok = ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))  # type: ignore
    except (AttributeError, OSError):
        return None
    return int(status.ullTotalPhys) if ok else None


def platform_facts() -> dict:
    if sys.platform.startswith("linux"):
        return linux_facts()
    if sys.platform == "darwin":
        return macos_facts()
    if sys.platform == "win32":
        return windows_facts()
    return {"cpu_model": platform.processor() or None, "physical_cores": None,
            "logical_cpus": os.cpu_count(), "simd": [], "caches": []}


# ---------------------------------------------------------------- the spec


def _busy_note(cpus: int) -> str | None:
    """A warning when other processes keep the CPUs busy: BLAS threads then wait for each
    other and the measured ceilings read far below what an idle machine reaches."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    if load < 0.5 * cpus:
        return None
    return (f"the machine was busy while measuring (1-minute load {load:.1f} on {cpus} "
            "CPUs): the ceilings may read low; measure again on an idle machine")


def get_hardware_spec(measure: bool = True, quick: bool = False,
                      refresh: bool = False) -> HardwareSpec:
    """This machine's facts and (when `measure`) its measured ceilings.

    The result is cached per process for each (measure, quick); `refresh=True` measures
    again (useful when the machine's load has changed).
    """
    if refresh:
        _cached_spec.cache_clear()
    return _cached_spec(measure, quick)


@functools.cache
def _cached_spec(measure: bool, quick: bool) -> HardwareSpec:
    facts = platform_facts()
    notes = []
    for key in ("cpu_model", "physical_cores"):
        if facts[key] is None:
            notes.append(f"{key.replace('_', ' ')}: not available on {platform.system()}")
    if not facts["caches"]:
        notes.append(f"cache sizes: not available on {platform.system()}")
    spec = HardwareSpec(
        system=platform.system(), machine=platform.machine(),
        cpu_model=facts["cpu_model"], physical_cores=facts["physical_cores"],
        logical_cpus=facts["logical_cpus"], usable_cpus=usable_cpu_count(),
        caches=facts["caches"], simd=facts["simd"], memory_bytes=total_memory_bytes(),
        numpy_version=np.__version__, blas=blas_info(), notes=notes,
    )
    if measure:
        busy = _busy_note(spec.usable_cpus)
        spec.ceilings = measure_ceilings(quick, last_level_cache=spec.last_level_cache_bytes())
        if busy:
            spec.notes.append(busy)
        if quick:
            spec.notes.append("quick measurement: small arrays may be served from cache, so "
                              "the bandwidth can read high; run without --quick for DRAM")
    return spec
