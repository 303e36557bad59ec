"""Inference speed of a CIFAR-10 CNN: float32 vs int8 in TinyTorch, onnxruntime, PyTorch.

    python benchmarks/bench_mlops_inference.py [--quick] [--json] [--repeats N] [--strict]

The CNN is vision's VGG-style `build_cnn({"stages": [[32, 1], [64, 1], [128, 1]],
"hidden": 256})` (conv3x3-BN-ReLU-maxpool x3, flatten, 2048-256-10), in eval mode, on a
batch of 64 images of 3x32x32. Cases, timed in one interleaved run with the same number
of threads for numpy's BLAS, onnxruntime and PyTorch:

- TinyTorch float32; TinyTorch int8 (dequantize-on-the-fly) and int8 integer mode
  (activations quantized, exact integer accumulation);
- onnxruntime on the exported float32 and int8 graphs;
- PyTorch float32 with the same weights (the reference).

Targets: the int8 safetensors file is at least 3.5x smaller than the float32 file (sizes
measured on disk) and onnxruntime agrees with TinyTorch on the int8 model (same
predictions). Speed is reported, not targeted: a numpy framework's int8 path saves memory
and file size, but its dequantize step is extra work per call; real int8 speedups need
int8 kernels (what onnxruntime and PyTorch's quantized engines provide).

Also reported: a 1024x1024 Linear layer at 90% sparsity, dense vs CSR (`SparseLinear`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from harness import (
    Check,
    Report,
    Row,
    emit,
    interleaved,
    match_torch_threads,
    parse_args,
    torch_or_none,
)

import tinytorch.core as tt
from tinytorch.core import nn, no_grad
from tinytorch.core.cli.info import blas_info
from tinytorch.mlops import save_model
from tinytorch.mlops.compression import SparseLinear, magnitude_mask, quantize_model
from tinytorch.mlops.export import export_onnx
from tinytorch.vision import models
from tinytorch.vision import nn as vnn

CONFIG = {"stages": [[32, 1], [64, 1], [128, 1]], "hidden": 256}
BATCH = 64
TARGET_RATIO = 3.5


def tinytorch_case(model, x):
    def run():
        with no_grad():
            return model(x).array
    return run


def onnx_case(path: Path, x: np.ndarray, threads: int):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda: session.run(None, {name: x})[0]


def torch_copy(torch, model):
    """The same Sequential in PyTorch, weights copied."""
    layers = []
    for layer in model:
        if isinstance(layer, vnn.Conv2d):
            t = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                layer.stride, layer.padding, bias=layer.bias is not None)
        elif isinstance(layer, vnn.BatchNorm2d):
            t = torch.nn.BatchNorm2d(layer.num_features, eps=layer.eps)
        elif isinstance(layer, vnn.MaxPool2d):
            t = torch.nn.MaxPool2d(layer.kernel_size, layer.stride)
        elif isinstance(layer, nn.Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features)
        elif isinstance(layer, nn.ReLU):
            t = torch.nn.ReLU()
        elif isinstance(layer, nn.Flatten):
            t = torch.nn.Flatten()
        else:
            raise TypeError(f"bench_mlops_inference: no PyTorch twin for {type(layer).__name__}")
        state = {k: torch.from_numpy(v.array.copy()) for k, v in layer.state_dict().items()}
        t.load_state_dict(state)
        layers.append(t)
    return torch.nn.Sequential(*layers).eval()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    tt.manual_seed(0)
    model = models.build_cnn(CONFIG)
    model.train()
    with no_grad():
        for _ in range(3):  # give BatchNorm non-trivial running statistics
            model(tt.randn(32, 3, 32, 32))
    model.eval()
    rng = np.random.default_rng(0)
    data = rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32)
    x = tt.tensor(data)
    calibration = [tt.tensor(rng.standard_normal((64, 3, 32, 32)).astype(np.float32))]
    qmodel = quantize_model(model, calibration, mode="dequantize")
    qinteger = quantize_model(model, calibration, mode="integer")
    threads = blas_info()["threads"]
    notes = [f"onnxruntime intra-op threads: {threads} (numpy's BLAS threads)"]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        float_bytes = save_model(model, work / "float.safetensors")
        int8_bytes = save_model(qmodel, work / "int8.safetensors")
        export_onnx(model, work / "float.onnx", data)
        export_onnx(qmodel, work / "int8.onnx", data)
        cases = {
            "TinyTorch float32": tinytorch_case(model, x),
            "TinyTorch int8 (dequantize)": tinytorch_case(qmodel, x),
            "TinyTorch int8 (integer)": tinytorch_case(qinteger, x),
            "onnxruntime float32": onnx_case(work / "float.onnx", data, threads),
            "onnxruntime int8": onnx_case(work / "int8.onnx", data, threads),
        }
        torch = torch_or_none()
        if torch is not None:
            notes.append(match_torch_threads(torch))
            twin = torch_copy(torch, model)
            tx = torch.from_numpy(data)

            def torch_run():
                with torch.no_grad():
                    return twin(tx)
            difference = float(np.abs(torch_run().numpy() - cases["TinyTorch float32"]()).max())
            notes.append(f"PyTorch twin vs TinyTorch float32: max |diff| {difference:.2e}")
            cases["PyTorch float32"] = torch_run
        agree = float(np.mean(cases["onnxruntime int8"]().argmax(1) ==
                              cases["TinyTorch int8 (dequantize)"]().argmax(1)))

        linear = nn.Linear(1024, 1024)
        sparse = SparseLinear.from_dense(linear, magnitude_mask(linear.weight, 0.9))
        lx = tt.randn(BATCH, 1024)
        cases["Linear 1024x1024 dense"] = tinytorch_case(linear, lx)
        cases["Linear 1024x1024 CSR 90% sparse"] = tinytorch_case(sparse, lx)
        timings = interleaved(cases, repeats=args.repeats, warmup=args.warmup,
                              min_block_seconds=0.05 if args.quick else 0.2)

    rows = [Row(name, BATCH / t.median, BATCH / t.spread[1], BATCH / t.spread[0], "images/s",
                f"{t.median * 1e3:.2f} ms/batch of {BATCH}") for name, t in timings.items()]
    dense_bytes = linear.weight.array.nbytes + linear.bias.array.nbytes
    sparse_bytes = sum(t.array.nbytes for t in sparse.state_dict().values())
    notes.append(f"Linear 1024x1024 weights: dense {dense_bytes:,} bytes, CSR at 90% "
                 f"sparsity {sparse_bytes:,} bytes ({dense_bytes / sparse_bytes:.1f}x smaller)")
    ratio = float_bytes / int8_bytes
    report = Report("mlops_inference", f"CIFAR-10 CNN inference, batch {BATCH}: float32 vs "
                    "int8, TinyTorch vs onnxruntime vs PyTorch",
                    config={"cnn": CONFIG, "repeats": args.repeats}, rows=rows, notes=notes)
    report.checks.append(Check("int8 safetensors file vs float32", f">= {TARGET_RATIO}x smaller",
                               f"{ratio:.2f}x ({float_bytes:,} -> {int8_bytes:,} bytes)",
                               ratio >= TARGET_RATIO))
    report.checks.append(Check("onnxruntime int8 predictions = TinyTorch int8", "100%",
                               f"{agree:.0%}", agree == 1.0))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
