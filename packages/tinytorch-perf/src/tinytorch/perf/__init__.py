"""tinytorch.perf: measure before you optimise.

    from tinytorch.perf import get_hardware_spec, FLOPsCounter, RooflineModel, ModelProfiler
    from tinytorch.perf import benchmark, compare, kernels

Hardware ceilings measured on this machine, FLOPs and bytes counted from the ops core
executes, the roofline that puts them together, a per-layer profiler, a benchmark harness
with confidence intervals, kernels written several ways, and training memory.
Built on tinytorch.core only; the CNN and GPT workloads use tinytorch-vision and
tinytorch-language when installed (`pip install tinytorch-perf[models]`).
"""

from . import kernels
from .__about__ import __version__
from .benchmark import Comparison, Measurement, benchmark, compare, compare_many, median_ci
from .costs import Cost, OpCall, cost_of
from .flops import FLOPsCounter, Totals, count_flops
from .hardware import HardwareSpec, get_hardware_spec
from .memory import StepMemory, attention_memory, training_step_memory
from .profiler import LayerProfile, ModelProfile, ModelProfiler, compare_profiles
from .roofline import RooflineModel, RooflinePoint
from .tracing import OpRecord, OpTracer

__all__ = [name for name in dir() if not name.startswith("_")]
