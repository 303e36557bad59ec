"""conv2d forward + backward alone: TinyTorch vs PyTorch CPU at a few layer sizes.

    python benchmarks/bench_conv.py [--quick] [--json] [--repeats N]

For each layer (batch 64, float32): forward, then backward of a fixed upstream gradient
into the input (except for the first layer, whose input is the images), the weight and
the bias. Both libraries get the same arrays and the same
number of BLAS threads, and are timed in one interleaved run. Reported: milliseconds per
forward+backward, and the achieved GFLOP/s counting 3x the forward FLOPs
(2 * N*Ho*Wo * C*kh*kw * out each for the output, the weight gradient and the input
gradient; 2x for the first layer). Informational: the target that matters is the CNN's
(bench_cnn.py).

Systems lesson: im2col turns each layer into matrix products, so the achieved GFLOP/s is
close to the BLAS peak when the matrices are large (many pixels, many channels) and falls
when the copy (im2col, col2im: memory-bound) dominates, as in the first layer, where
C*kh*kw = 27 makes the product thin.
"""

from __future__ import annotations

import sys

import numpy as np
from harness import Report, Row, emit, interleaved, match_torch_threads, parse_args, torch_or_none

import tinytorch.core as tt
import tinytorch.vision.functional as VF

BATCH = 64
# name -> (in_channels, out_channels, image size, kernel, stride, padding)
# The first layer's input is the images: no input gradient, in either library.
LAYERS = {
    "3->32 3x3 @32x32 (no grad_x)": (3, 32, 32, 3, 1, 1),
    "32->64 3x3 @16x16": (32, 64, 16, 3, 1, 1),
    "64->128 3x3 @8x8": (64, 128, 8, 3, 1, 1),
    "64->64 3x3 s2 @32x32": (64, 64, 32, 3, 2, 1),
    "128->256 1x1 @8x8": (128, 256, 8, 1, 1, 0),
}


def make_arrays(layer, rng):
    c_in, c_out, size, k, stride, pad = layer
    x = rng.standard_normal((BATCH, c_in, size, size), dtype=np.float32)
    w = rng.standard_normal((c_out, c_in, k, k), dtype=np.float32) * np.float32(0.1)
    b = rng.standard_normal(c_out, dtype=np.float32)
    out_size = (size + 2 * pad - k) // stride + 1
    g = rng.standard_normal((BATCH, c_out, out_size, out_size), dtype=np.float32)
    return x, w, b, g


def tinytorch_case(layer, arrays):
    c_in, _, _, _, stride, pad = layer
    x, w, b = (tt.Tensor(a.copy(), requires_grad=True) for a in arrays[:3])
    x.requires_grad_(c_in != 3)
    g = tt.Tensor(arrays[3])

    def step():
        VF.conv2d(x, w, b, stride, pad).backward(g)
        x.grad = w.grad = b.grad = None

    return step


def torch_case(torch, layer, arrays):
    c_in, _, _, _, stride, pad = layer
    x, w, b = (torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays[:3])
    x.requires_grad_(c_in != 3)
    g = torch.from_numpy(arrays[3])

    def step():
        torch.nn.functional.conv2d(x, w, b, stride, pad).backward(g)
        x.grad = w.grad = b.grad = None

    return step


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    torch = torch_or_none()
    notes = [match_torch_threads(torch) if torch else "PyTorch is not installed"]
    rows = []
    for name, layer in LAYERS.items():
        arrays = make_arrays(layer, np.random.default_rng(0))
        cases = {"TinyTorch": tinytorch_case(layer, arrays)}
        if torch is not None:
            cases["PyTorch"] = torch_case(torch, layer, arrays)
        timings = interleaved(cases, repeats=args.repeats, warmup=args.warmup,
                              min_block_seconds=0.05 if args.quick else 0.2)
        passes = 3 if layer[0] != 3 else 2
        flops = passes * VF.conv2d_flops(arrays[1].shape, arrays[3].shape)
        for case, timing in timings.items():
            low, high = timing.spread
            detail = f"{flops / timing.median / 1e9:.0f} GFLOP/s"
            if case == "TinyTorch" and "PyTorch" in timings:
                detail += f", {timings['PyTorch'].median / timing.median:.2f}x PyTorch speed"
            rows.append(Row(f"{name} {case}", timing.median * 1e3, low * 1e3, high * 1e3,
                            "ms", detail))
    report = Report("conv", "conv2d forward+backward, batch 64, float32 (ms per call)",
                    config={"repeats": args.repeats, "warmup calls": args.warmup},
                    rows=rows, notes=notes)
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
