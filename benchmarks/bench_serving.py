"""Serving overhead: milestone 05's int8 CNN behind the HTTP server vs the same model called
in-process, at the same batch size.

    python benchmarks/bench_serving.py [--quick] [--json] [--repeats N] [--strict]

The model is milestone 03's network (`models.build_cnn(PRESET)`) quantized to int8 the way
milestone 05 serves it (`quantize_model(mode="dequantize")`, calibrated on 512 random
images: speed does not depend on the weights). Three measurements of batches of 8 images:

- in-process: `model(x)` under `no_grad()` in a loop (interleaved harness, median);
- in-process through `ModelService.predict` on the request's decoded batch (what the
  server does per request, minus HTTP): input validation, inference, response building;
- decoding the request body: a safetensors body (the batch's float32 bytes, what the load
  test sends), a JSON body with the typed decoder the server uses, and a JSON body through
  the general path (`json.loads` and the checks over Python lists) that explains refused
  bodies;
- over HTTP: milestone 05's load test (8 client threads on 127.0.0.1, keep-alive
  connections, fixed request count) against `background_server`, the clients in a process
  of their own (as a load generator is) sending safetensors bodies (the target) and,
  reported beside it, JSON bodies, and safetensors with the clients in the server's own
  process, where they share its interpreter lock.

Target: the server's requests/s at least 0.5x the in-process batches/s. The server runs
requests that wait while the model is busy as one call (dynamic batching,
tinytorch.mlops.serving.batching), on uvicorn with its C HTTP parser (httptools) and
libuv event loop (uvloop).

Systems lesson: a request of 8 images is 24,576 floats: 98 KB as float32 bytes, ~500 KB
as JSON text. Turning that text back into an array costs about half the model's 0.2 GFLOP
forward pass even with a typed C decoder (msgspec), and printing it costs the client more;
the binary body costs a header check and one copy. The load generator matters as much:
an httpx client spent ~4 ms of CPU per request on these two cores, the standard library's
http.client ~0.4 ms, and every millisecond a client spends is one the server cannot.
"""

from __future__ import annotations

import sys

import numpy as np
from harness import Check, Report, Row, emit, interleaved, parse_args, throughput_rows

import tinytorch.core as tt
from tinytorch.core import no_grad
from tinytorch.mlops.compression import quantize_model
from tinytorch.mlops.serving import ModelService, background_server, load_test
from tinytorch.mlops.serving.wire import encode_request, parse_body, request_decoder
from tinytorch.vision import models
from tinytorch.vision.milestones.cifar10 import PRESET

BATCH, CLIENTS = 8, 8
TARGET_RATIO = 0.5


def served_model():
    tt.manual_seed(0)
    model = models.build_cnn(PRESET).eval()
    rng = np.random.default_rng(0)
    calibration = [tt.tensor(rng.standard_normal((128, 3, 32, 32), dtype=np.float32))
                   for _ in range(4)]
    return quantize_model(model, calibration, mode="dequantize").eval()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    model = served_model()
    x = np.random.default_rng(1).standard_normal((BATCH, 3, 32, 32), dtype=np.float32)
    payload = {"inputs": x}
    service = ModelService(model, "cifar10-cnn-int8", 1, (3, 32, 32))

    def in_process():
        with no_grad():
            return model(tt.tensor(x))

    binary, binary_type = encode_request(x)
    text, text_type = encode_request(x, format="json")
    decoder = request_decoder(service)
    timings = interleaved({"in-process model(x)": in_process,
                           "in-process ModelService.predict": lambda: service.predict(x),
                           "decode the body: safetensors": lambda: parse_body(
                               binary, decoder, binary_type),
                           "decode the body: JSON, typed decoder": lambda: parse_body(
                               text, decoder, text_type),
                           "decode the body: JSON, json.loads path": lambda: parse_body(text)},
                          repeats=args.repeats, warmup=args.warmup,
                          min_block_seconds=0.1 if args.quick else 0.5)
    rows = throughput_rows(timings, 1, "batches/s",
                           lambda t: f"{t.median * 1e3:.2f} ms per batch of {BATCH}")
    requests = 40 if args.quick else 400
    runs = {}
    with background_server(service) as url:
        for label, body_format, separate in (
                (f"HTTP, safetensors bodies, {CLIENTS} clients (own process)", "safetensors", True),
                (f"HTTP, JSON bodies, {CLIENTS} clients (own process)", "json", True),
                (f"HTTP, safetensors bodies, {CLIENTS} clients in the server's process",
                 "safetensors", False)):
            load_test(url, payload, clients=CLIENTS, requests=CLIENTS * 2,  # warm-up
                      format=body_format, separate_process=separate)
            runs[label] = load_test(url, payload, clients=CLIENTS, requests=requests,
                                    max_seconds=300, format=body_format,
                                    separate_process=separate)
    for label, run in runs.items():
        rows.append(Row(label, run.throughput, run.throughput, run.throughput, "requests/s",
                        f"{run.completed}/{run.requests} completed, p50 {run.p50 * 1e3:.0f} "
                        f"ms, p99 {run.p99 * 1e3:.0f} ms, {run.failures} failed"))
    load = next(iter(runs.values()))
    in_process_rate = 1 / timings["in-process model(x)"].median
    ratio = load.throughput / in_process_rate
    report = Report("serving", f"Serving milestone 05's int8 CNN: HTTP vs in-process, batch "
                    f"{BATCH}", config={"repeats": args.repeats, "requests": requests,
                                        "clients": CLIENTS}, rows=rows)
    report.checks.append(Check("HTTP server requests/s (safetensors) / in-process batches/s",
                               f">= {TARGET_RATIO}x", f"{ratio:.2f}x",
                               ratio >= TARGET_RATIO and load.failures == 0))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
