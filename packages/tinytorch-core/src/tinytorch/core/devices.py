"""Devices: where a tensor's memory lives, answered the way a CPU-only PyTorch build answers.

What it teaches: in PyTorch every tensor has a `.device`, and moving data between devices
(`x.to("cuda")`) is an explicit copy across a bus. TinyTorch keeps its arrays in host RAM
(numpy), so there is exactly one device, "cpu". Code written for PyTorch still runs:
`torch.device("cuda" if torch.cuda.is_available() else "cpu")` picks the CPU,
`.to(device)` is free, and asking for a GPU fails the way a CPU-only torch fails.

Systems lesson: on a real GPU machine `.to(device)` copies at PCIe speed (~25 GB/s), 10-50x
slower than the GPU's own memory; data movement, not arithmetic, is often what training
waits on. Here there is no bus, so the lesson is only the bookkeeping.
"""

from __future__ import annotations

import types

_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "mtia", "privateuseone")


class DeviceError(AssertionError, RuntimeError):
    """A GPU was asked for. Like CPU-only PyTorch's AssertionError ("not compiled with CUDA
    enabled"), and also a RuntimeError so either `except` catches it."""


class device:  # noqa: N801 - PyTorch's name
    """`device("cpu")`, `device("cuda", 0)`, `device("cuda:1")`: a device name and index."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):  # noqa: A002 - PyTorch's argument
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # torch.device(0) means cuda:0
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string or a device, got {type!r}")
        name, _, number = type.partition(":")
        if name not in _KNOWN_TYPES:
            raise RuntimeError(f"device: expected one of {', '.join(_KNOWN_TYPES)} device type "
                               f"at start of device string: {type}")
        if number:
            if not number.isdigit() or index is not None:
                raise RuntimeError(f"device: invalid device string: {type!r}")
            index = int(number)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device: device index must be a non-negative int, got {index!r}")
        self.type, self.index = name, index

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def resolve(op: str, where) -> device:
    """The device `where` names, which must be the CPU; anything else fails like torch."""
    if where is None:
        return CPU
    wanted = where if isinstance(where, device) else device(where)
    if wanted.type != "cpu":
        raise DeviceError(
            f"{op}: TinyTorch runs on the CPU only (not compiled with {wanted.type.upper()} "
            f"enabled), so device '{wanted}' is not available; use device='cpu' or pick "
            "the device with torch.cuda.is_available()"
        )
    return CPU


def is_device_like(value) -> bool:
    """Whether `.to(value)` names a device (as opposed to a dtype)."""
    if isinstance(value, device):
        return True
    return isinstance(value, str) and value.partition(":")[0] in _KNOWN_TYPES


def _unavailable(name: str):
    def call(*args, **kwargs):
        raise DeviceError(f"torch.cuda.{name}: TinyTorch runs on the CPU only (not compiled "
                          "with CUDA enabled)")
    call.__name__ = name
    return call


def _no_op(*args, **kwargs) -> None:
    """Accepted and ignored, as CPU-only PyTorch does (seeding a GPU that is not there)."""


cuda = types.SimpleNamespace(
    is_available=lambda: False,
    device_count=lambda: 0,
    is_initialized=lambda: False,
    manual_seed=_no_op,
    manual_seed_all=_no_op,
    seed=_no_op,
    seed_all=_no_op,
    empty_cache=_no_op,
    synchronize=_unavailable("synchronize"),
    current_device=_unavailable("current_device"),
    get_device_name=_unavailable("get_device_name"),
    set_device=_unavailable("set_device"),
    is_bf16_supported=lambda *args, **kwargs: False,
)

accelerator = types.SimpleNamespace(
    is_available=lambda: False,
    device_count=lambda: 0,
    current_accelerator=lambda check_available=False: None,
)

backends = types.SimpleNamespace(
    mps=types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False),
    cuda=types.SimpleNamespace(is_built=lambda: False),
    # flags scripts set for speed on GPUs; stored, and with nothing to tune on numpy
    cudnn=types.SimpleNamespace(benchmark=False, deterministic=False, enabled=False,
                                is_available=lambda: False),
)
