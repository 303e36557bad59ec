"""ModelProfiler: where a training step's time, FLOPs and memory go, layer by layer.

    profile = ModelProfiler(model, warmup=2, repeats=5).profile(x, loss_fn=loss_of_output)
    profile.layers[0].forward_s, profile.to_json("p.json"), profile.to_csv("p.csv")
    compare_profiles([p1, p2])                        # several models side by side

What it teaches: a profile answers "which layer should I optimise?" with three columns
that often disagree: time, FLOPs and memory. A layer with many FLOPs but little time runs
near the machine's peak (a big matmul); one with few FLOPs and much time is starved by
memory or by Python overhead (an elementwise op on a large activation, many tiny ops).

How it measures:
- Counting pass: one forward and backward under the op tracer gives every layer's FLOPs,
  bytes, parameter count, output size and the bytes its ops saved for backward.
- Timing passes: `warmup` untimed steps, then `repeats` timed steps. Forward time of a
  layer = time between its forward pre-hook and forward hook. Backward time of a layer =
  the time of the backward ops that belong to it (a light op hook timestamps each backward
  op and pairs it with the forward op it differentiates). Medians over the repeats.
- What is in no layer (the loss, glue between layers, the autograd engine's own walk) is
  the "(other)" row: total minus the layers, so the rows add up to the measured total.

Systems lesson: hooks cost time too. The timing pass uses only timestamps and a dict
lookup per op, not the tracer's pricing, so that the measurement changes the measured
thing as little as possible.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from rich.table import Table

from tinytorch.core.atomic import atomic_write_text
from tinytorch.core.autograd import is_grad_enabled, register_op_hook
from tinytorch.core.memory import activation_bytes

from .flops import FLOPsCounter
from .tracing import OUTSIDE

OTHER = "(other)"


@dataclass
class LayerProfile:
    name: str
    kind: str  # the module's class name (for display only: nothing is keyed on it)
    forward_s: float
    backward_s: float
    forward_flops: int
    backward_flops: int
    matmul_flops: int
    forward_bytes: int
    backward_bytes: int
    parameters: int
    output_bytes: int  # the activation this layer produces
    saved_bytes: int  # what its ops keep alive for backward
    share: float = 0.0  # of the step's measured time
    forward_samples: list[float] = field(default_factory=list)
    backward_samples: list[float] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s

    @property
    def flops(self) -> int:
        return self.forward_flops + self.backward_flops

    @property
    def bytes(self) -> int:
        return self.forward_bytes + self.backward_bytes

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes if self.bytes else 0.0

    @property
    def achieved_gflops(self) -> float:
        return self.flops / self.total_s / 1e9 if self.total_s > 0 else 0.0


@dataclass
class ModelProfile:
    name: str
    input_shapes: list
    layers: list[LayerProfile]
    forward_s: float  # median of the measured whole-model forward
    backward_s: float  # median of loss computation + backward
    forward_flops: int
    backward_flops: int
    parameters: int
    warmup: int
    repeats: int
    backward: bool
    uncounted_ops: list = field(default_factory=list)  # ran, but have no cost formula

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s

    @property
    def flops(self) -> int:
        return self.forward_flops + self.backward_flops

    def layer(self, name: str) -> LayerProfile:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"ModelProfile: no layer {name!r}; layers: "
                       f"{[layer.name for layer in self.layers]}")

    # ------------------------------------------------------------ export
    def to_dict(self) -> dict:
        data = asdict(self)
        data["total_s"], data["flops"] = self.total_s, self.flops
        return data

    def to_json(self, path) -> None:
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    CSV_COLUMNS = ("name", "kind", "forward_s", "backward_s", "share", "forward_flops",
                   "backward_flops", "matmul_flops", "forward_bytes", "backward_bytes",
                   "parameters", "output_bytes", "saved_bytes")

    def to_csv(self, path=None) -> str:
        """One row per layer (and the "(other)" row); written atomically when `path` given."""
        return profiles_to_csv([self], path, model_column=False)

    def plot(self, path=None, title: str | None = None):
        """The per-layer forward/backward time chart (breakdown.plot_time_breakdown)."""
        from .breakdown import plot_time_breakdown

        return plot_time_breakdown(self, path, title)

    def __rich__(self) -> Table:
        table = Table(title=f"{self.name}: per-layer profile (median of {self.repeats}, "
                            f"{self.warmup} warm-up)", title_justify="left")
        for column in ("layer", "kind", "fwd ms", "bwd ms", "share", "MFLOPs", "GFLOP/s",
                       "FLOP/B", "params", "saved KiB"):
            table.add_column(column, justify="left" if column in ("layer", "kind") else "right")
        for layer in self.layers:
            table.add_row(layer.name, layer.kind, f"{layer.forward_s * 1e3:.3f}",
                          f"{layer.backward_s * 1e3:.3f}", f"{100 * layer.share:.1f}%",
                          f"{layer.flops / 1e6:.2f}", f"{layer.achieved_gflops:.2f}",
                          f"{layer.intensity:.2f}", f"{layer.parameters:,}",
                          f"{layer.saved_bytes / 1024:.1f}")
        table.add_row("total", "", f"{self.forward_s * 1e3:.3f}", f"{self.backward_s * 1e3:.3f}",
                      "100%", f"{self.flops / 1e6:.2f}",
                      f"{self.flops / self.total_s / 1e9 if self.total_s else 0:.2f}", "",
                      f"{self.parameters:,}", "", style="bold")
        if self.uncounted_ops:  # their FLOPs are missing from the figures above, not zero
            table.caption = f"uncounted (no cost formula): {', '.join(self.uncounted_ops)}"
        return table


# ---------------------------------------------------------------- timing hooks


class _LayerClock:
    """Timestamps for layer forward times and per-op backward times, nothing more."""

    def __init__(self, model, names: list[str]):
        self.model, self.names = model, set(names)
        self.forward: dict[str, float] = defaultdict(float)
        self.backward: dict[str, float] = defaultdict(float)
        self._started: dict[str, list[float]] = defaultdict(list)
        self._stack: list[str] = []
        self._owner: dict[tuple, list[str]] = defaultdict(list)
        self._last = 0.0
        self._handles = []

    def __enter__(self):
        for name, module in self.model.named_modules():
            if name in self.names:
                self._handles.append(module.register_forward_pre_hook(self._pre(name)))
                self._handles.append(module.register_forward_hook(self._post(name)))
        self._handles.append(register_op_hook(self._on_op))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        return False

    def start_backward(self) -> None:
        self._last = time.perf_counter()

    def _pre(self, name):
        def hook(module, args):
            self._stack.append(name)
            self._started[name].append(time.perf_counter())
        return hook

    def _post(self, name):
        def hook(module, args, output):
            self.forward[name] += time.perf_counter() - self._started[name].pop()
            if self._stack and self._stack[-1] == name:
                self._stack.pop()
        return hook

    def _on_op(self, event):
        if event.phase == "forward":
            if is_grad_enabled():
                owner = self._stack[-1] if self._stack else OUTSIDE
                self._owner[(event.op, event.outputs[0].shape)].append(owner)
            return
        now = time.perf_counter()
        waiting = self._owner.get((event.op, event.inputs[0].shape))
        owner = waiting.pop() if waiting else OUTSIDE
        self.backward[owner] += now - self._last
        self._last = time.perf_counter()


# ---------------------------------------------------------------- the profiler


def _leaf_names(model) -> list[str]:
    return [name for name, module in model.named_modules()
            if name and not any(True for _ in module.children())]


def _tensor_args(args) -> list:
    return [a for a in args if hasattr(a, "grad_fn") and hasattr(a, "data")]


class ModelProfiler:
    """Per-layer forward/backward time, FLOPs, parameters and activation memory of a model."""

    def __init__(self, model, name: str | None = None, warmup: int = 2, repeats: int = 5,
                 layers: list[str] | None = None):
        if not hasattr(model, "named_modules"):
            raise TypeError(f"ModelProfiler: model must be a tinytorch Module, got "
                            f"{type(model).__name__}")
        if not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"ModelProfiler: repeats must be an int >= 1, got {repeats!r}")
        if not isinstance(warmup, int) or warmup < 0:
            raise ValueError(f"ModelProfiler: warmup must be an int >= 0, got {warmup!r}")
        self.model, self.name = model, name or type(model).__name__
        self.warmup, self.repeats = warmup, repeats
        known = {n for n, _ in model.named_modules()}
        self.layer_names = layers if layers is not None else _leaf_names(model)
        missing = [n for n in self.layer_names if n not in known]
        if missing:
            raise ValueError(f"ModelProfiler: no submodule named {missing}; the model has "
                             f"{sorted(n for n in known if n)}")
        if not self.layer_names:
            self.layer_names = [""]  # a model without submodules is its own only layer

    def profile(self, *inputs, loss_fn: Callable | None = None, backward: bool = True
                ) -> ModelProfile:
        """Profile `model(*inputs)`; with `backward`, also `loss_fn(output).backward()`
        (`loss_fn` defaults to `output.sum()`)."""
        if not inputs:
            raise ValueError("ModelProfiler.profile: expected at least one input tensor")
        loss_fn = loss_fn or (lambda output: output.sum())
        counter, outputs, saved = self._count(inputs, loss_fn, backward)
        fwd_samples, bwd_samples, layer_fwd, layer_bwd = self._time(inputs, loss_fn, backward)
        forward_by = counter.by_module("forward")
        backward_by = counter.by_module("backward")
        modules = dict(self.model.named_modules())
        layers = []
        for name in self.layer_names:
            module = modules[name]
            fwd, bwd = forward_by.get(name), backward_by.get(name)
            layers.append(LayerProfile(
                name=name or "(model)", kind=type(module).__name__,
                forward_s=statistics.median(layer_fwd[name]),
                backward_s=statistics.median(layer_bwd[name]),
                forward_flops=fwd.flops if fwd else 0, backward_flops=bwd.flops if bwd else 0,
                matmul_flops=(fwd.matmul_flops if fwd else 0) + (bwd.matmul_flops if bwd else 0),
                forward_bytes=fwd.bytes if fwd else 0, backward_bytes=bwd.bytes if bwd else 0,
                parameters=sum(p.numel() for p in module.parameters()),
                output_bytes=outputs.get(name, 0), saved_bytes=saved.get(name, 0),
                forward_samples=layer_fwd[name], backward_samples=layer_bwd[name]))
        layers.append(self._other_row(layers, counter, fwd_samples, bwd_samples))
        total = statistics.median(fwd_samples) + statistics.median(bwd_samples)
        for layer in layers:
            layer.share = layer.total_s / total if total > 0 else 0.0
        return ModelProfile(
            name=self.name, input_shapes=[list(getattr(x, "shape", ())) for x in inputs],
            layers=layers, forward_s=statistics.median(fwd_samples),
            backward_s=statistics.median(bwd_samples),
            forward_flops=counter.total_flops("forward"),
            backward_flops=counter.total_flops("backward"),
            parameters=sum(p.numel() for p in self.model.parameters()),
            warmup=self.warmup, repeats=self.repeats, backward=backward,
            uncounted_ops=sorted(counter.unknown_ops))

    # ------------------------------------------------------------ the counting pass
    def _count(self, inputs, loss_fn, backward):
        outputs: dict[str, int] = {}
        saved: dict[str, int] = {}
        weights = [p.array for p in self.model.parameters()]
        handles = []
        modules = dict(self.model.named_modules())
        for name in self.layer_names:
            handles.append(modules[name].register_forward_hook(
                self._memory_hook(name, outputs, saved, weights)))
        counter = FLOPsCounter(self.model)
        try:
            with counter:
                output = self.model(*inputs)
                if backward:
                    loss_fn(output).backward()
        finally:
            for handle in handles:
                handle.remove()
        self.model.zero_grad()
        return counter, outputs, saved

    @staticmethod
    def _memory_hook(name, outputs, saved, weights):
        def hook(module, args, output):
            arrays = [output] if hasattr(output, "data") else _tensor_args(output or ())
            outputs[name] = sum(a.array.nbytes for a in arrays)
            # bytes saved for backward by this layer's ops: what the graph holds after the
            # layer minus what it held before (each buffer once; exact for one input)
            after = sum(activation_bytes(a, exclude=weights) for a in arrays)
            before = max((activation_bytes(a, exclude=weights) for a in _tensor_args(args)),
                         default=0)
            saved[name] = max(after - before, 0)
        return hook

    # ------------------------------------------------------------ the timing passes
    def _step(self, inputs, loss_fn, backward, clock=None):
        start = time.perf_counter()
        output = self.model(*inputs)
        middle = time.perf_counter()
        if backward:
            loss = loss_fn(output)
            if clock is not None:
                clock.start_backward()
            loss.backward()
        end = time.perf_counter()
        self.model.zero_grad()
        return middle - start, end - middle

    def _time(self, inputs, loss_fn, backward):
        for _ in range(self.warmup):
            self._step(inputs, loss_fn, backward)
        fwd_samples, bwd_samples = [], []
        layer_fwd, layer_bwd = defaultdict(list), defaultdict(list)
        for _ in range(self.repeats):
            with _LayerClock(self.model, self.layer_names) as clock:
                fwd, bwd = self._step(inputs, loss_fn, backward, clock)
            fwd_samples.append(fwd)
            bwd_samples.append(bwd)
            for name in self.layer_names:
                layer_fwd[name].append(clock.forward.get(name, 0.0))
                layer_bwd[name].append(clock.backward.get(name, 0.0))
        return fwd_samples, bwd_samples, layer_fwd, layer_bwd

    def _other_row(self, layers, counter, fwd_samples, bwd_samples) -> LayerProfile:
        """Everything measured but in no listed layer, per repeat (so rows add up)."""
        other_fwd = [total - sum(layer.forward_samples[i] for layer in layers)
                     for i, total in enumerate(fwd_samples)]
        other_bwd = [total - sum(layer.backward_samples[i] for layer in layers)
                     for i, total in enumerate(bwd_samples)]
        listed = set(self.layer_names)
        fwd = sum(r.flops for r in counter.select("forward") if r.module not in listed)
        bwd = sum(r.flops for r in counter.select("backward") if r.module not in listed)
        fwd_b = sum(r.bytes for r in counter.select("forward") if r.module not in listed)
        bwd_b = sum(r.bytes for r in counter.select("backward") if r.module not in listed)
        mm = sum(r.matmul_flops for r in counter.records if r.module not in listed)
        return LayerProfile(OTHER, "", statistics.median(other_fwd),
                            statistics.median(other_bwd), fwd, bwd, mm, fwd_b, bwd_b, 0, 0, 0,
                            forward_samples=other_fwd, backward_samples=other_bwd)


def profiles_to_csv(profiles: list[ModelProfile], path=None, model_column: bool = True) -> str:
    """The layers of several profiles as one CSV (a leading `model` column tells them apart)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((("model",) if model_column else ()) + ModelProfile.CSV_COLUMNS)
    for profile in profiles:
        for layer in profile.layers:
            values = [getattr(layer, column) for column in ModelProfile.CSV_COLUMNS]
            writer.writerow(([profile.name] if model_column else []) + values)
    if path is not None:
        atomic_write_text(path, buffer.getvalue())
    return buffer.getvalue()


def compare_profiles(profiles: list[ModelProfile]) -> Table:
    """One row per model: time, FLOPs, achieved rate, parameters, saved activations."""
    if not profiles:
        raise ValueError("compare_profiles: got no profiles")
    table = Table(title="Model comparison", title_justify="left")
    for column in ("model", "fwd ms", "bwd ms", "MFLOPs", "GFLOP/s", "params",
                   "saved KiB", "slowest layer"):
        table.add_column(column, justify="left" if column in ("model", "slowest layer")
                         else "right")
    for p in profiles:
        layers = [layer for layer in p.layers if layer.name != OTHER]
        slowest = max(layers, key=lambda layer: layer.total_s)
        saved = sum(layer.saved_bytes for layer in layers)
        table.add_row(p.name, f"{p.forward_s * 1e3:.2f}", f"{p.backward_s * 1e3:.2f}",
                      f"{p.flops / 1e6:.2f}",
                      f"{p.flops / p.total_s / 1e9 if p.total_s else 0:.2f}",
                      f"{p.parameters:,}", f"{saved / 1024:.1f}",
                      f"{slowest.name} ({100 * slowest.share:.0f}%)")
    return table
