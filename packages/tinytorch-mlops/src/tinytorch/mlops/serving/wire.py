"""How a /predict request travels: as JSON text, or as the bytes of a safetensors file.

    body, content_type = encode_request(x)                 # safetensors: x's own bytes
    body, content_type = encode_request(x, format="json")  # {"inputs": [[...], ...]}
    inputs, return_outputs = parse_body(body, decoder, content_type)   # the server's side

What it teaches: a batch of 8 CIFAR images is 24,576 float32 numbers, 98 KB of memory.
As JSON text it is ~500 KB that the client must print digit by digit and the server must
parse back (measured by benchmarks/bench_serving.py: a typed C decoder still spends ~2.5 ms
on it, half the model's forward pass). As safetensors it is those 98 KB as they are, plus a
~100-byte header saying dtype and shape: decoding is a header check and one copy.
Servers built for tensors offer such a binary body (Triton's binary tensor extension,
TorchServe's raw bytes); JSON stays for curl and for people.

Both ways are checked before a number is used. The binary body is read by the same
safetensors reader that loads model files (`tinytorch.core.serialization.safetensors`:
header length, nesting depth, dtype, shape and offsets are validated, nothing is
executed), and must hold exactly one tensor, "inputs". JSON bodies are checked for depth,
NaN/Infinity literals, exact keys and exact types; a well-formed one is read by a typed
decoder (msgspec) that checks while it parses, in C, and whatever it refuses is parsed
again by the general path, whose checks name the problem. The service then checks the
numbers themselves (finite, within float32, the registered shape) the same way for both.
"""

from __future__ import annotations

import json

import msgspec
import numpy as np

from tinytorch.core.serialization import safetensors

from .service import ModelService, RequestError

JSON_MEDIA_TYPE = "application/json"
SAFETENSORS_MEDIA_TYPE = "application/x-safetensors"
MAX_BODY_DEPTH = 32  # {"inputs": [batch [sample [row [...]]]]}: far more than any input needs
_FLAGS = {"true": True, "false": False}


def encode_request(inputs, return_outputs: bool = False, format: str = "safetensors"
                   ) -> tuple[bytes, str]:
    """(body, content type) of a /predict request for the batch `inputs`.

    "safetensors" sends the array's own dtype and bytes (pass float32 images, int64 token
    ids); "json" sends {"inputs": nested lists, "return_outputs": bool}."""
    if format == "json":
        inputs = inputs.tolist() if isinstance(inputs, np.ndarray) else inputs
        return (json.dumps({"inputs": inputs, "return_outputs": bool(return_outputs)}).encode(),
                JSON_MEDIA_TYPE)
    if format != "safetensors":
        raise ValueError(f"encode_request: format must be 'safetensors' or 'json', got "
                         f"{format!r}")
    body = safetensors.encode({"inputs": np.asarray(inputs)},
                              {"return_outputs": str(bool(return_outputs)).lower()},
                              checksum=False)
    return body, SAFETENSORS_MEDIA_TYPE


def parse_body(body: bytes, decoder: msgspec.json.Decoder | None = None,
               content_type: str | None = None) -> tuple[list | np.ndarray, bool]:
    """(inputs, return_outputs) of a /predict body, or a RequestError saying what is wrong.

    `content_type` (the request's header) chooses the format: safetensors when it names
    SAFETENSORS_MEDIA_TYPE, JSON otherwise (curl's default form type included)."""
    if content_type is not None and \
            content_type.split(";")[0].strip().lower() == SAFETENSORS_MEDIA_TYPE:
        return parse_safetensors(body)
    return parse_json(body, decoder)


def parse_safetensors(body: bytes) -> tuple[np.ndarray, bool]:
    """A safetensors body: exactly one tensor named "inputs"; the metadata may say
    "return_outputs": "true" or "false" (safetensors metadata values are strings)."""
    try:
        tensors, metadata = safetensors.load_bytes(body, source="/predict: the safetensors body")
    except safetensors.SafetensorsError as exc:
        raise RequestError(str(exc)) from None
    if set(tensors) != {"inputs"}:
        raise RequestError(f"/predict: a safetensors body must hold exactly one tensor, "
                           f"'inputs'; got {sorted(tensors)[:10]}")
    unknown = set(metadata) - {"return_outputs"}
    flag = metadata.get("return_outputs", "false")
    if unknown or flag not in _FLAGS:
        raise RequestError(f"/predict: the safetensors metadata may only say "
                           f"'return_outputs': 'true' or 'false'; got {metadata!r:.120}")
    return tensors["inputs"], _FLAGS[flag]


def request_decoder(service: ModelService) -> msgspec.json.Decoder | None:
    """A typed JSON decoder for `service`'s well-formed requests, or None when the service
    has no input shape (then every JSON request takes the general path).

    The type says exactly what a request is: {"inputs": lists of numbers nested one level
    per dimension of a batch, "return_outputs": bool} and no other key. msgspec checks it
    while it parses, in C, without building a Python object for anything it refuses."""
    if service.input_shape is None:
        return None
    batch = float
    for _ in range(len(service.input_shape) + 1):
        batch = list[batch]
    body = msgspec.defstruct("PredictRequest", [("inputs", batch), ("return_outputs", bool, False)],
                             forbid_unknown_fields=True)
    return msgspec.json.Decoder(body)


def parse_json(body: bytes, decoder: msgspec.json.Decoder | None = None
               ) -> tuple[list | np.ndarray, bool]:
    """A JSON body. Well-formed requests take the typed decoder and arrive as one float64
    array; anything it refuses is parsed again by the general path below, whose checks
    name the problem."""
    if decoder is not None:
        try:
            request = decoder.decode(body)
            return np.array(request.inputs, dtype=np.float64), request.return_outputs
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            pass  # not a well-formed request: the general path says why
    depth = safetensors.nesting_depth(body)
    if depth > MAX_BODY_DEPTH:
        raise RequestError(f"/predict: the JSON nests {depth} levels deep; at most "
                           f"{MAX_BODY_DEPTH} are accepted")
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise RequestError(f"/predict: the body must be a JSON object {{\"inputs\": [[...], "
                           f"...]}}; it is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise RequestError(f"/predict: the body must be a JSON object {{\"inputs\": [[...], "
                           f"...]}}, got a JSON {type(payload).__name__}")
    unknown = set(payload) - {"inputs", "return_outputs"}
    if "inputs" not in payload or unknown:
        raise RequestError("/predict: expected a JSON object {\"inputs\": [...], "
                           f"\"return_outputs\": false}}, got keys {sorted(payload)[:10]}")
    return_outputs = payload.get("return_outputs", False)
    if not isinstance(return_outputs, bool):
        raise RequestError(f"/predict: 'return_outputs' must be true or false, got "
                           f"{return_outputs!r:.40}")
    return payload["inputs"], return_outputs


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
