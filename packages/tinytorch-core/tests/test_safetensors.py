"""The safetensors reader/writer: round trips, compatibility with the reference library,
and refusal of truncated, corrupted or inconsistent files."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from tinytorch.core.serialization.safetensors import DTYPES, SafetensorsError, load_file, save_file


def sample_tensors():
    rng = np.random.default_rng(0)
    return {
        "weight": rng.standard_normal((4, 3)).astype(np.float32),
        "q": rng.integers(-127, 128, (5, 2)).astype(np.int8),
        "scale": rng.random(5),
        "steps": np.array(7, dtype=np.int64),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "mask": np.array([True, False, True]),
        "half": rng.standard_normal(3).astype(np.float16),
    }


def test_round_trip_keeps_values_dtypes_shapes_and_metadata(tmp_path):
    tensors = sample_tensors()
    size = save_file(tensors, tmp_path / "a.safetensors", metadata={"k": "v"})
    assert size == (tmp_path / "a.safetensors").stat().st_size
    loaded, metadata = load_file(tmp_path / "a.safetensors")
    assert metadata == {"k": "v"}
    assert loaded.keys() == tensors.keys()
    for name, array in tensors.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].flags.writeable


def test_data_section_is_8_byte_aligned_and_size_is_header_plus_bytes(tmp_path):
    tensors = sample_tensors()
    path = tmp_path / "a.safetensors"
    save_file(tensors, path)
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    assert (8 + header_len) % 8 == 0
    assert len(data) == 8 + header_len + sum(a.nbytes for a in tensors.values())


def test_big_endian_input_is_stored_little_endian(tmp_path):
    array = np.arange(6, dtype=">f4").reshape(2, 3)
    save_file({"x": array}, tmp_path / "b.safetensors")
    loaded, _ = load_file(tmp_path / "b.safetensors")
    np.testing.assert_array_equal(loaded["x"], array)


def test_files_are_readable_by_the_reference_library(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    tensors = sample_tensors()
    save_file(tensors, tmp_path / "ours.safetensors", metadata={"a": "b"})
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    for name, array in tensors.items():
        np.testing.assert_array_equal(theirs[name], array)


def test_reads_files_written_by_the_reference_library(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    tensors = {k: v for k, v in sample_tensors().items() if k != "empty"}
    st.save_file(tensors, str(tmp_path / "theirs.safetensors"), metadata={"x": "y"})
    loaded, metadata = load_file(tmp_path / "theirs.safetensors")
    assert metadata == {"x": "y"}
    for name, array in tensors.items():
        np.testing.assert_array_equal(loaded[name], array)


@pytest.mark.parametrize("cut", [0, 4, 8, 20, -1, -9])
def test_truncated_files_are_refused(tmp_path, cut):
    path = tmp_path / "t.safetensors"
    save_file(sample_tensors(), path)
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])
    with pytest.raises(SafetensorsError, match="truncated|short|cover|JSON"):
        load_file(path)


def test_trailing_bytes_are_refused(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file(sample_tensors(), path)
    path.write_bytes(path.read_bytes() + b"\0" * 8)
    with pytest.raises(SafetensorsError, match="cover"):
        load_file(path)


def _rewrite_header(path, edit):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-(8 + len(raw)) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])


@pytest.mark.parametrize("edit, message", [
    (lambda h: h["weight"].update(dtype="F128"), "unknown dtype"),
    (lambda h: h["weight"].update(shape=[4, 4]), "needs 64 bytes"),
    (lambda h: h["weight"].update(shape=[-1, 3]), "invalid shape"),
    (lambda h: h["weight"].update(data_offsets=[0, 48]), "gap or overlap|needs"),
    (lambda h: h["weight"].update(extra=1), "exactly"),
    (lambda h: h.update(__metadata__={"a": 1}), "metadata"),
])
def test_inconsistent_headers_are_refused(tmp_path, edit, message):
    path = tmp_path / "h.safetensors"
    save_file(sample_tensors(), path)
    _rewrite_header(path, edit)
    with pytest.raises(SafetensorsError, match=message):
        load_file(path)


def test_garbage_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "g.safetensors"
    path.write_bytes(struct.pack("<Q", 10) + b"not json!!" + b"\0" * 16)
    with pytest.raises(SafetensorsError, match="not valid UTF-8 JSON"):
        load_file(path)
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(SafetensorsError, match="header claims"):
        load_file(path)


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "keep.safetensors"
    save_file({"a": np.ones(3, np.float32)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="dtype"):
        save_file({"a": np.array(["text"])}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.safetensors"]


def test_bad_arguments_name_the_problem(tmp_path):
    with pytest.raises(TypeError, match="metadata must map str to str"):
        save_file({"a": np.ones(1)}, tmp_path / "x", metadata={"n": 1})
    with pytest.raises(ValueError, match="invalid tensor name"):
        save_file({"__metadata__": np.ones(1)}, tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_file(tmp_path / "missing.safetensors")


def test_every_dtype_code_round_trips(tmp_path):
    for code, dtype in DTYPES.items():
        array = np.arange(4).astype(dtype)
        save_file({"x": array}, tmp_path / f"{code}.safetensors")
        loaded, _ = load_file(tmp_path / f"{code}.safetensors")
        np.testing.assert_array_equal(loaded["x"], array)


def _depth_by_hand(raw: bytes) -> tuple[int, bool]:
    """The reference: walk the bytes, skipping strings (with their escapes). Returns the
    deepest nesting and whether every string was closed."""
    depth = deepest = 0
    in_string = escaped = False
    for char in raw.decode("latin-1"):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest, not in_string


def test_nesting_depth_matches_a_walk_over_the_bytes():
    from tinytorch.core.serialization.safetensors import nesting_depth

    rng = np.random.default_rng(0)
    alphabet = list('[]{}"\\,:0 a_yY}')  # brackets, strings, escapes, near-miss bytes
    bodies = [b"", b"[]", b'{"a": [[1, 2], [3]]}', b'["[[[", "\\"[", {"k": "]"}]',
              b"[" * 1000 + b"]" * 1000]
    bodies += ["".join(rng.choice(alphabet, rng.integers(1, 60))).encode() for _ in range(300)]
    compared = 0
    for body in bodies:
        deepest, closed = _depth_by_hand(body)
        if closed:  # a body with an unterminated string is refused by the JSON parser anyway
            assert nesting_depth(body) == deepest, body
            compared += 1
    assert compared > 150
