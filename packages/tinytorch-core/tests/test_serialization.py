"""tinytorch.core.save / load: torch.save's job without pickle, checksummed, refusing
what it cannot store and every damaged file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytorch.core as torch
from tinytorch.core import nn, optim
from tinytorch.core.serialization import SerializationError
from tinytorch.core.serialization.objects import dumps, loads


def small_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_pytorch_style_state_dict_round_trip(tmp_path):
    model = small_model()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    other.load_state_dict(torch.load(path))
    x = torch.randn(5, 3)
    np.testing.assert_array_equal(other(x).data, model(x).data)
    loaded = torch.load(path)
    assert list(loaded) == list(model.state_dict())
    assert all(isinstance(v, torch.Tensor) for v in loaded.values())


def test_matches_torch_state_dict_values_after_a_real_training_step(tmp_path):
    torch_ = pytest.importorskip("torch")
    model = small_model()
    reference = torch_.nn.Sequential(torch_.nn.Linear(3, 4), torch_.nn.ReLU(),
                                     torch_.nn.Linear(4, 2))
    reference.load_state_dict({k: torch_.tensor(v.detach().numpy())
                               for k, v in model.state_dict().items()})
    torch.save(model.state_dict(), tmp_path / "a.pt")
    for name, value in torch.load(tmp_path / "a.pt").items():
        np.testing.assert_array_equal(value.numpy(), reference.state_dict()[name].numpy())


def test_nested_checkpoint_keeps_types_keys_and_special_floats(tmp_path):
    model = small_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(2, 3)).sum().backward()
    opt.step()
    obj = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
           "best": float("inf"), "nan": float("nan"), "tags": ("a", 1, None, True),
           "arr": np.arange(3, dtype=np.int16), 7: [1.5, {"x": "y"}]}
    torch.save(obj, tmp_path / "c.pt")
    back = torch.load(tmp_path / "c.pt")
    assert back["epoch"] == 3 and back["best"] == float("inf") and np.isnan(back["nan"])
    assert back["tags"] == ("a", 1, None, True) and back[7] == [1.5, {"x": "y"}]
    assert back["arr"].dtype == np.int16 and isinstance(back["arr"], np.ndarray)
    assert set(back["optimizer"]["state"]) == {0, 1, 2, 3}  # int keys survive
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    fresh = optim.Adam(model.parameters(), lr=0.5)
    fresh.load_state_dict(back["optimizer"])
    assert fresh.param_groups[0]["lr"] == 0.01
    np.testing.assert_array_equal(fresh.state[model[0].weight]["exp_avg"],
                                  opt.state[model[0].weight]["exp_avg"])


def test_file_objects_and_requires_grad():
    buffer = io.BytesIO()
    param = nn.Parameter(np.ones(3, np.float32))
    torch.save({"p": param, "t": torch.tensor([1, 2])}, buffer)
    buffer.seek(0)
    back = torch.load(buffer, map_location="cpu")
    assert back["p"].requires_grad and not back["t"].requires_grad
    assert back["t"].dtype == torch.int64


@pytest.mark.parametrize("obj, where", [
    ({"f": print}, "obj['f']"),
    ([1, {"m": nn.Linear(2, 2)}], "obj[1]['m']"),
    ({(1, 2): 3}, "key"),
    ({1, 2}, "obj"),
])
def test_unstorable_objects_are_refused_with_their_path(tmp_path, obj, where):
    with pytest.raises(TypeError, match="save: ") as info:
        torch.save(obj, tmp_path / "x.pt")
    assert where in str(info.value)
    assert not list(tmp_path.iterdir())  # nothing written


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a path or a binary file object"):
        torch.save({}, 3)
    with pytest.raises(ValueError, match="only has the CPU"):
        torch.load(io.BytesIO(dumps({})), map_location="cuda:0")
    with pytest.raises(FileNotFoundError, match="no such file"):
        torch.load("/nonexistent/file.pt")


def test_every_single_bit_flip_and_every_truncation_is_refused():
    """Exhaustive on a small checkpoint: no damaged byte loads silently."""
    data = dumps({"w": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "step": 5})
    refused = 0
    for position in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[position] ^= 1 << bit
            with pytest.raises(SerializationError, match="x.pt"):
                loads(bytes(damaged), "x.pt")
            refused += 1
    for cut in range(len(data)):
        with pytest.raises(SerializationError, match="x.pt"):
            loads(data[:cut], "x.pt")
    assert refused == 8 * len(data)


def test_loading_never_yields_a_pickle_hint_or_numpy_message(tmp_path):
    path = tmp_path / "not-ours.npz"
    np.savez(path, a=np.ones(2))
    with pytest.raises(SerializationError) as info:
        torch.load(path)
    assert "pickle" not in str(info.value) and "zip" not in str(info.value)


_leaves = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=6)
           | st.floats(allow_nan=False) | st.sampled_from([float("inf"), float("-inf")])
           | st.binary(max_size=3) | st.complex_numbers(max_magnitude=2)
           | st.builds(lambda n: np.arange(n, dtype=np.int32), st.integers(0, 4)))
_objects = st.recursive(_leaves, lambda c: st.lists(c, max_size=3)
                        | st.tuples(c, c) | st.frozensets(st.integers(), max_size=2)
                        | st.dictionaries(st.one_of(st.text(max_size=4), st.integers(-3, 3),
                                                    st.booleans()), c, max_size=3),
                        max_leaves=12)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_objects)
def test_any_object_round_trips_exactly_or_is_refused_with_a_type_error(obj):
    try:
        data = dumps(obj)
    except TypeError as exc:
        assert str(exc).startswith("save: ")
        return
    assert _same(loads(data)[0], obj)
