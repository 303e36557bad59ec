"""ModelService: everything an inference server does except HTTP.

    service = ModelService(model, name="cifar-cnn", version=3, input_shape=(3, 32, 32))
    service.predict([[...], [...]])   # -> {"predictions": [...], "probabilities": [...]}
    service.metrics_text()            # Prometheus text format

What it teaches: a request is untrusted input. Before a single FLOP is spent, the
service checks that the batch is a rectangular array of finite numbers with the shape the
model was registered with, and turns every problem into a `RequestError` whose message
says what was received and what was expected (the HTTP layer maps it to a 4xx). Only then
does the model run, timed, under a lock, and every outcome feeds the monitors. Requests
that wait while the model is busy share its next call (dynamic batching, batching.py):
`model_calls_total` in /metrics against the request count shows how much.

Why a lock: tinytorch.core's grad mode is process-global (PyTorch's is per thread), so two
threads running inference at once could switch autograd back on for each other. One
inference at a time is also what a one-worker CPU server does anyway; scale out with more
processes, not more threads.

Systems lesson: the monitors cost O(1) per request, so /metrics can be scraped every few
seconds without slowing /predict.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from tinytorch.core import Tensor, nn, no_grad

from ..monitoring import (
    DriftDetector,
    ErrorRateMonitor,
    LatencyMonitor,
    RetrainingTrigger,
    ThroughputMonitor,
)
from .batching import Batcher


class RequestError(ValueError):
    """A bad request: the caller's fault, answered with `status` (400, 413, 422)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class ModelService:
    model: nn.Module
    name: str = "model"
    version: int | str = 0
    input_shape: tuple[int, ...] | None = None
    input_dtype: str = "float32"  # "int64" for token ids
    labels: list[str] | None = None
    max_batch: int = 1024
    max_batched_samples: int = 256  # waiting requests share a model call up to this size
    drift_detector: DriftDetector | None = None
    drift_window: int = 500
    started: float = field(default_factory=time.time)

    def __post_init__(self):
        if not isinstance(self.model, nn.Module):
            raise TypeError(f"ModelService: model must be a tinytorch Module, got "
                            f"{type(self.model).__name__}")
        if not isinstance(self.max_batch, int) or isinstance(self.max_batch, bool) \
                or self.max_batch < 1:
            raise ValueError(f"ModelService: max_batch must be a positive int, got "
                             f"{self.max_batch!r}")
        if not isinstance(self.max_batched_samples, int) \
                or isinstance(self.max_batched_samples, bool) or self.max_batched_samples < 1:
            raise ValueError(f"ModelService: max_batched_samples must be a positive int (1 "
                             f"turns dynamic batching off), got {self.max_batched_samples!r}")
        if self.input_shape is not None:
            shape = tuple(self.input_shape) if isinstance(self.input_shape, (list, tuple)) \
                else None
            if not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                    for d in shape):
                raise ValueError(f"ModelService: input_shape must be a non-empty tuple of "
                                 f"positive ints (one sample's shape), got {self.input_shape!r}")
            self.input_shape = shape
        if self.labels is not None and not (isinstance(self.labels, list) and all(
                isinstance(label, str) for label in self.labels)):
            raise ValueError(f"ModelService: labels must be a list of strings, got "
                             f"{self.labels!r:.100}")
        if self.input_dtype not in ("float32", "int64"):
            raise ValueError(f"ModelService: input_dtype must be 'float32' or 'int64', got "
                             f"{self.input_dtype!r}")
        self.model.eval()
        self.latency = LatencyMonitor(window=2000)
        self.throughput = ThroughputMonitor(horizon=60.0)
        self.errors = ErrorRateMonitor(window=1000, threshold=0.05, min_requests=20)
        self.trigger = RetrainingTrigger(patience=3, cooldown=5)
        self.status_counts: dict[int, int] = {}
        self.samples_total = 0
        self.last_drift: dict | None = None
        self._drift_buffer: list[np.ndarray] = []
        self._prediction_buffer: list[np.ndarray] = []
        self._lock = threading.Lock()  # one inference at a time
        self._batcher = Batcher(self._infer, self.max_batched_samples)
        self._stats_lock = threading.Lock()  # counters and drift buffers, updated per request
        self._drift_lock = threading.Lock()

    # ------------------------------------------------------------ requests
    def parse(self, inputs) -> np.ndarray:
        """The request's `inputs` as a checked array (batch, *input_shape).

        Strict, as JSON types go: `true` is not a number and `"1.5"` is not one either
        (numpy would silently convert both)."""
        real_array = isinstance(inputs, np.ndarray) and inputs.dtype.kind in "fiu" \
            and inputs.ndim > 0
        if isinstance(inputs, np.ndarray) and inputs.dtype.kind not in "fiu":
            raise RequestError(f"/predict: 'inputs' must hold real numbers, got an array of "
                               f"dtype {inputs.dtype}")
        if not (isinstance(inputs, list) or real_array) or not len(inputs):
            raise RequestError(f"/predict: 'inputs' must be a non-empty list (a batch of "
                               f"samples), got {_describe(inputs)}")
        if len(inputs) > self.max_batch:
            raise RequestError(f"/predict: batch of {len(inputs)} samples exceeds the limit of "
                               f"{self.max_batch}; split it into smaller requests", status=413)
        # an array of real numbers (the HTTP layer's typed decoder makes one) needs no
        # numbers-only check
        array = inputs.astype(np.float64, copy=False) if real_array else _numbers_only(inputs)
        if not np.all(np.isfinite(array)):
            raise RequestError("/predict: 'inputs' contains NaN or infinite values, or numbers "
                               "beyond float64 range")
        if self.input_shape is not None and array.shape[1:] != tuple(self.input_shape):
            raise RequestError(f"/predict: each sample must have shape {tuple(self.input_shape)}"
                               f", got samples of shape {array.shape[1:]} (batch shape "
                               f"{array.shape})", status=422)
        if self.input_dtype == "int64":
            if not np.all(array == np.rint(array)):
                raise RequestError("/predict: this model takes integer token ids, got fractions")
            if np.abs(array).max() > _MAX_EXACT_INT:
                raise RequestError(f"/predict: token ids must be below {_MAX_EXACT_INT}, got "
                                   f"{np.abs(array).max():.4g}", status=422)
            return array.astype(np.int64)
        if np.abs(array).max() > _FLOAT32_MAX:
            raise RequestError(f"/predict: inputs must fit in float32 (|x| <= {_FLOAT32_MAX:.4g}),"
                               f" got {np.abs(array).max():.4g}", status=422)
        return array.astype(np.float32)

    def predict(self, inputs, return_outputs: bool = False, record: bool = True) -> dict:
        """Validate, run, monitor. Raises RequestError for the caller's mistakes.

        `record=False` leaves counting the status to the caller (the HTTP layer counts the
        status it actually sends, via `record`)."""
        start = time.perf_counter()
        try:
            batch = self.parse(inputs)
            outputs = self._batcher(batch)
            self.latency.record(time.perf_counter() - start)
            result = self._response(outputs, return_outputs)
            if record:
                self.record(200, len(batch))
            self._watch_drift(batch, outputs)
            return result
        except RequestError as exc:
            if record:
                self.record(exc.status)
            raise
        except Exception:
            if record:
                self.record(500)
            raise

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        """One model call, on one request's batch or on several requests' (batching.py)."""
        with self._lock, no_grad():
            try:
                return self.model(Tensor(batch)).array
            except (ValueError, TypeError, IndexError, ArithmeticError, Warning) as exc:
                raise RequestError(f"/predict: the model rejected the input: "
                                   f"{type(exc).__name__}: {exc}", status=422) from None

    def _response(self, outputs: np.ndarray, return_outputs: bool) -> dict:
        if not np.all(np.isfinite(outputs)):
            raise RequestError("/predict: the model's outputs for this input are not finite "
                               "(NaN or infinity; the input is probably far outside the range "
                               "the model was trained on)", status=422)
        response: dict = {"model": self.name, "version": self.version}
        if outputs.ndim == 2:  # classifier: (batch, classes)
            shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            probabilities = shifted / shifted.sum(axis=1, keepdims=True)
            predictions = outputs.argmax(axis=1)
            response["predictions"] = predictions.tolist()
            response["probabilities"] = np.round(probabilities, 6).tolist()
            if self.labels:
                response["labels"] = [self.labels[i] for i in predictions]
        elif outputs.ndim == 3:  # language model: (batch, seq, vocab) -> next token
            response["predictions"] = outputs[:, -1].argmax(axis=-1).tolist()
        if return_outputs or "predictions" not in response:
            response["outputs"] = outputs.tolist()
        return response

    def record(self, status: int, samples: int = 0) -> None:
        with self._stats_lock:  # requests finish on several threads at once
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
            self.samples_total += samples
            self.throughput.record()
            if status >= 500 or status == 200:  # client mistakes are not service errors
                self.errors.record(ok=status == 200)

    # ------------------------------------------------------------ drift
    def _watch_drift(self, batch: np.ndarray, outputs: np.ndarray) -> None:
        if self.drift_detector is None:
            return
        with self._stats_lock:
            self._drift_buffer.append(batch)
            if outputs.ndim == 2:
                self._prediction_buffer.append(outputs.argmax(axis=1))
            if sum(len(b) for b in self._drift_buffer) < self.drift_window:
                return
            window = np.concatenate(self._drift_buffer)
            predictions = np.concatenate(self._prediction_buffer) \
                if self._prediction_buffer else None
            self._drift_buffer, self._prediction_buffer = [], []
        with self._drift_lock:  # windows reach the trigger one at a time, in order
            report = self.drift_detector.check(window, predictions)
            self.last_drift = {**report.as_dict(),
                               "retraining_due": self.trigger.update(report)}

    # ------------------------------------------------------------ reporting
    def health(self) -> dict:
        return {"status": "ok", "model": self.name, "version": self.version,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "uptime_seconds": round(time.time() - self.started, 3)}

    def metrics(self) -> dict:
        drift = self.last_drift or {}
        return {
            "requests_total": dict(sorted(self.status_counts.items())),
            "samples_total": self.samples_total,
            "model_calls_total": self._batcher.calls,
            "latency_seconds": self.latency.summary(),
            "throughput_rps_1m": self.throughput.rate(),
            "error_rate": self.errors.error_rate,
            "error_alert": self.errors.alerting,
            "drift": drift,
            "retraining_triggers": len(self.trigger.fired_at),
        }

    def metrics_text(self) -> str:
        """The metrics in Prometheus' text exposition format."""
        m = self.metrics()
        labels = f'model="{self.name}",version="{self.version}"'
        lines = ["# TYPE tinytorch_requests_total counter"]
        lines += [f'tinytorch_requests_total{{{labels},status="{s}"}} {n}'
                  for s, n in m["requests_total"].items()]
        lines += ["# TYPE tinytorch_samples_total counter",
                  f"tinytorch_samples_total{{{labels}}} {m['samples_total']}",
                  "# TYPE tinytorch_model_calls_total counter",
                  f"tinytorch_model_calls_total{{{labels}}} {m['model_calls_total']}",
                  "# TYPE tinytorch_request_latency_seconds summary"]
        for key, quantile in (("p50", "0.5"), ("p95", "0.95"), ("p99", "0.99")):
            value = m["latency_seconds"][key]
            text = "NaN" if value != value else f"{value:.6f}"
            lines.append(f'tinytorch_request_latency_seconds{{{labels},quantile="{quantile}"}} '
                         f"{text}")
        lines += [f"tinytorch_request_latency_seconds_count{{{labels}}} "
                  f"{m['latency_seconds']['count']}",
                  "# TYPE tinytorch_throughput_requests_per_second gauge",
                  f"tinytorch_throughput_requests_per_second{{{labels}}} "
                  f"{m['throughput_rps_1m']:.6f}",
                  "# TYPE tinytorch_error_rate gauge",
                  f"tinytorch_error_rate{{{labels}}} {m['error_rate']:.6f}",
                  "# TYPE tinytorch_error_alert gauge",
                  f"tinytorch_error_alert{{{labels}}} {int(m['error_alert'])}",
                  "# TYPE tinytorch_drift_detected gauge",
                  f"tinytorch_drift_detected{{{labels}}} {int(bool(m['drift'].get('drifted')))}",
                  "# TYPE tinytorch_retraining_triggers_total counter",
                  f"tinytorch_retraining_triggers_total{{{labels}}} {m['retraining_triggers']}"]
        return "\n".join(lines) + "\n"


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_MAX_EXACT_INT = 2**53  # every integer up to here survives the float64 round trip exactly
_NUMBER_TYPES = (int, float, np.integer, np.floating)
_NOT_NUMBERS = (bool, np.bool_)


def _numbers_only(inputs: list) -> np.ndarray:
    """The batch as float64, refusing strings, booleans and nulls anywhere in it.

    numpy alone would convert `True` to 1.0 and `"1.5"` to 1.5 without a word, so the
    lists first become an array of the Python objects themselves (one C pass, no
    conversion), and the set of their types (a few distinct ones, found by a C-speed
    `map`) is checked before anything is converted. This is ~20x cheaper than
    re-serialising the batch to JSON text and searching it."""
    try:
        objects = np.array(inputs, dtype=object)  # ragged lists stay lists inside it
    except (ValueError, TypeError, RecursionError):
        raise _not_rectangular() from None
    values = objects.ravel().tolist()
    kinds = set(map(type, values))
    wrong = [k for k in kinds if not issubclass(k, _NUMBER_TYPES) or issubclass(k, _NOT_NUMBERS)]
    if not wrong:
        try:
            return objects.astype(np.float64)
        except (ValueError, TypeError, OverflowError):
            raise RequestError("/predict: 'inputs' has numbers beyond float64 range") from None
    if any(issubclass(k, (list, tuple)) for k in wrong):
        raise _not_rectangular()
    if any(issubclass(k, str) for k in wrong):
        raise RequestError("/predict: 'inputs' contains strings; expected numbers only")
    if any(issubclass(k, _NOT_NUMBERS) for k in wrong):
        literal = "true" if any(v is True or v is np.True_ for v in values) else "false"
        raise RequestError(f"/predict: 'inputs' contains {literal}; JSON {literal} is not a "
                           "number")
    if type(None) in wrong:
        raise RequestError("/predict: 'inputs' contains null; JSON null is not a number")
    raise RequestError(f"/predict: 'inputs' must be nested lists of numbers, got "
                       f"{sorted(k.__name__ for k in wrong)[:3]} values")


def _not_rectangular() -> RequestError:
    return RequestError("/predict: 'inputs' must be a rectangular nested list of numbers "
                        "(every sample the same shape, each number within float64 range)")


def _describe(value) -> str:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return "a single number (a 0-d array)"
    if isinstance(value, (list, np.ndarray)) and not len(value):  # JSON's [] arrives as either
        return "an empty list"
    return f"a {type(value).__name__}"
