"""The roofline model: is each layer limited by arithmetic or by memory?

    roof = RooflineModel.from_hardware(get_hardware_spec())
    roof.add_profile(profile)                # every profiled layer becomes a point
    roof.plot("roofline.png")                # or .svg
    for point in roof.points: print(point.name, point.bound, point.recommendation)

What it teaches: a kernel that does F FLOPs and moves B bytes in t seconds achieves F/t
FLOP/s at an arithmetic intensity I = F/B. The machine cannot beat
    attainable(I) = min(peak FLOP/s, bandwidth * I)
a flat roof (compute) and a slanted one (memory) meeting at the ridge point
I* = peak / bandwidth. Left of the ridge a kernel is memory-bound: faster arithmetic
would not help, moving fewer bytes would. Right of it, it is compute-bound.

Systems lesson: most of a network's layers are far left of the ridge (elementwise ops,
norms, pooling: < 1 FLOP/byte) while matmuls and convolutions sit right of it. And many
points sit far *below* both roofs: in a numpy framework, Python overhead per op and
small shapes, not the hardware, are what limits them.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

import matplotlib

matplotlib.use("Agg")  # files only, never a window: works on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

from tinytorch.core.atomic import atomic_write_with  # noqa: E402
from tinytorch.core.bad_input import number_in  # noqa: E402

PLOT_FORMATS = (".png", ".svg")


@dataclass
class RooflinePoint:
    name: str
    flops: int
    bytes: int
    seconds: float
    intensity: float  # FLOP/byte
    achieved_gflops: float
    attainable_gflops: float  # the roof above this intensity
    bound: str  # "memory-bound" or "compute-bound"
    efficiency: float  # achieved / attainable
    recommendation: str


class RooflineModel:
    """Measured ceilings plus measured points; classification and plots."""

    def __init__(self, peak_gflops: float, bandwidth_gbs: float, name: str = "this machine"):
        for label, value in (("peak_gflops", peak_gflops), ("bandwidth_gbs", bandwidth_gbs)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"RooflineModel: {label} must be a positive finite number, "
                                 f"got {value!r}")
        self.peak_gflops, self.bandwidth_gbs, self.name = float(peak_gflops), \
            float(bandwidth_gbs), name
        self.points: list[RooflinePoint] = []

    @classmethod
    def from_hardware(cls, spec, dtype: str = "float32") -> RooflineModel:
        """The roofline of a measured HardwareSpec (see hardware.get_hardware_spec)."""
        return cls(spec.peak_gflops[dtype], spec.memory_bandwidth_gbs,
                   f"{spec.cpu_model or spec.machine} ({dtype})")

    @property
    def ridge_point(self) -> float:
        # BEGIN SOLUTION
        return self.peak_gflops / self.bandwidth_gbs
        # END SOLUTION

    def attainable_gflops(self, intensity: float) -> float:
        intensity = number_in("RooflineModel", "intensity", intensity, 0.0, math.inf, False)
        # BEGIN SOLUTION
        return min(self.peak_gflops, self.bandwidth_gbs * intensity)
        # END SOLUTION

    def classify(self, intensity: float) -> str:
        intensity = number_in("RooflineModel.classify", "intensity", intensity, 0.0, math.inf,
                              False)
        # BEGIN SOLUTION
        return "compute-bound" if intensity >= self.ridge_point else "memory-bound"
        # END SOLUTION

    # ------------------------------------------------------------ points
    def add_point(self, name: str, flops: int, bytes: int, seconds: float) -> RooflinePoint:
        """A measured kernel: `flops` and `bytes` it did in `seconds`."""
        op = f"RooflineModel.add_point({name!r:.40})"
        flops = number_in(op, "flops", flops, 0.0, math.inf, False)
        bytes = number_in(op, "bytes", bytes, 0.0, math.inf, False, include_low=False)
        seconds = number_in(op, "seconds", seconds, 0.0, math.inf, False, include_low=False)
        intensity = flops / bytes
        achieved = flops / seconds / 1e9
        attainable = self.attainable_gflops(intensity)
        bound = self.classify(intensity)
        efficiency = achieved / attainable if attainable > 0 else 0.0
        point = RooflinePoint(name, int(flops), int(bytes), float(seconds), intensity, achieved,
                              attainable, bound, efficiency,
                              self.recommend(bound, intensity, efficiency))
        self.points.append(point)
        return point

    def add_profile(self, profile, include_other: bool = False) -> list[RooflinePoint]:
        """Each layer of a ModelProfile (forward + backward) as a point."""
        added = []
        for layer in profile.layers:
            if layer.name == "(other)" and not include_other:
                continue
            if layer.flops > 0 and layer.bytes > 0 and layer.total_s > 0:
                added.append(self.add_point(f"{profile.name}:{layer.name} ({layer.kind})"
                                            if layer.kind else f"{profile.name}:{layer.name}",
                                            layer.flops, layer.bytes, layer.total_s))
        return added

    def recommend(self, bound: str, intensity: float, efficiency: float) -> str:
        ridge = self.ridge_point
        if efficiency < 0.1:
            return (f"at {100 * efficiency:.1f}% of its roof: overhead dominates (Python "
                    "per-op cost, tiny shapes); batch more work per op or fuse ops")
        if bound == "memory-bound":
            return (f"memory-bound ({intensity:.2f} < ridge {ridge:.1f} FLOP/B): move fewer "
                    "bytes: fuse with neighbouring elementwise ops, avoid copies, use a "
                    "smaller dtype or a larger batch for reuse")
        if efficiency < 0.5:
            return (f"compute-bound at {100 * efficiency:.0f}% of peak: use BLAS-shaped work "
                    "(fewer, larger matmuls; contiguous operands)")
        return (f"near the compute roof ({100 * efficiency:.0f}%): only fewer FLOPs help "
                "(smaller or factorised layers, lower precision)")

    # ------------------------------------------------------------ output
    def to_dict(self) -> dict:
        return {"name": self.name, "peak_gflops": self.peak_gflops,
                "bandwidth_gbs": self.bandwidth_gbs, "ridge_point": self.ridge_point,
                "points": [asdict(p) for p in self.points]}

    def plot(self, path, title: str | None = None) -> str:
        """Draw the roofs and the points; save as PNG or SVG (by extension), atomically."""
        suffix = os.path.splitext(str(path))[1].lower()
        if suffix not in PLOT_FORMATS:
            raise ValueError(f"RooflineModel.plot: unsupported file type {suffix!r} for "
                             f"{path}; expected one of {PLOT_FORMATS}")
        figure = self._figure(title)
        try:
            atomic_write_with(path, lambda temp: figure.savefig(temp, dpi=120,
                                                                bbox_inches="tight"))
        finally:
            plt.close(figure)
        return str(path)

    def _figure(self, title):
        intensities = [p.intensity for p in self.points if p.intensity > 0]
        low = min([self.ridge_point / 100, *intensities]) / 2
        high = max([self.ridge_point * 100, *intensities]) * 2
        xs = [low * (high / low) ** (i / 200) for i in range(201)]
        figure, axes = plt.subplots(figsize=(8, 5.5))
        axes.loglog(xs, [self.attainable_gflops(x) for x in xs], color="black", linewidth=2,
                    label=f"roof: {self.peak_gflops:.1f} GFLOP/s, {self.bandwidth_gbs:.1f} GB/s")
        axes.axvline(self.ridge_point, color="grey", linestyle=":",
                     label=f"ridge {self.ridge_point:.2f} FLOP/B")
        colours = {"memory-bound": "tab:blue", "compute-bound": "tab:red"}
        for bound, colour in colours.items():
            chosen = [p for p in self.points if p.bound == bound and p.achieved_gflops > 0]
            if chosen:
                axes.scatter([p.intensity for p in chosen], [p.achieved_gflops for p in chosen],
                             color=colour, label=bound, zorder=3)
            for p in chosen:
                axes.annotate(p.name, (p.intensity, p.achieved_gflops), fontsize=7,
                              xytext=(4, 4), textcoords="offset points")
        axes.set_xlabel("arithmetic intensity (FLOP / byte)")
        axes.set_ylabel("performance (GFLOP/s)")
        axes.set_title(title or f"Roofline: {self.name}")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(loc="lower right", fontsize=8)
        return figure
