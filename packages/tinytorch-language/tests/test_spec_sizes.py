"""A model file's spec is sized from its JSON before anything is built: the state shapes
each language layer registers (tinytorch.language.shapes) are exact, and a tiny file whose
TinyGPT spec claims a huge model is refused with the sizes, allocating nothing."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.core.serialization import ArchitectureError, load_model, save_model, spec_of
from tinytorch.core.serialization.model_file import ARCHITECTURE_KEY, INFO_KEY
from tinytorch.core.serialization.objects import dumps
from tinytorch.core.serialization.state_shapes import state_shapes_of
from tinytorch.language import (
    BUILDABLE,
    Embedding,
    LearnedPositionalEmbedding,
    MultiheadAttention,
    PositionalEncoding,
    TinyGPT,
    TransformerBlock,
)


@pytest.mark.parametrize("cls, args, kwargs", [
    (TinyGPT, (11, 8, 2, 2, 16), {}),
    (TinyGPT, (11, 8, 2, 1, 16), {"tie_weights": False, "bias": False, "dim_feedforward": 12}),
    (TinyGPT, (5, 12, 3, 3, 7), {"positional": "sinusoidal"}),
    (Embedding, (7, 3), {}), (LearnedPositionalEmbedding, (9, 4), {}),
    (PositionalEncoding, (6,), {"max_len": 10}),
    (MultiheadAttention, (8, 2), {}), (MultiheadAttention, (8, 2), {"bias": False}),
    (TransformerBlock, (6, 3, 10), {}), (TransformerBlock, (6, 3), {"bias": False}),
])
def test_the_registered_shapes_are_the_built_state(cls, args, kwargs):
    shapes = list(state_shapes_of(cls, *args, **kwargs))
    module = cls(*args, **kwargs)
    state = module.state_dict()
    assert {name: shape for name, shape, saved in shapes if saved} == \
        {name: tuple(t.shape) for name, t in state.items()}
    assert {name: shape for name, shape, saved in shapes if not saved} == \
        {name: tuple(b.shape) for name, b in module.named_buffers() if name not in state}


def test_every_language_layer_has_a_shape_function():
    assert set(BUILDABLE) == {Embedding, LearnedPositionalEmbedding, MultiheadAttention,
                              PositionalEncoding, TinyGPT, TransformerBlock}
    assert all(callable(function) for function in BUILDABLE.values())


def small_gpt_file_with_config(**config) -> bytes:
    """A valid, checksummed file of a tiny TinyGPT whose spec claims `config` instead."""
    tt.manual_seed(0)
    model = TinyGPT(64, 16, 2, 1, 16)
    spec = spec_of(model)
    spec["config"].update(config)
    return dumps(model.state_dict(), metadata={ARCHITECTURE_KEY: json.dumps(spec),
                                               INFO_KEY: "{}"})


def test_a_tiny_file_claiming_a_huge_tinygpt_is_refused_before_allocating(tmp_path):
    # every integer stays within the file's largest dimension (64), so only the sizes
    # computed from the spec can catch it: 64 layers of width 64 would be ~3.2M weights,
    # and a regression that built it would allocate ~13 MB before noticing
    path = tmp_path / "gpt-bomb.safetensors"
    path.write_bytes(small_gpt_file_with_config(vocab_size=64, d_model=64, num_heads=4,
                                                num_layers=64, max_seq_len=64))
    save_model(TinyGPT(5, 4, 1, 1, 4), tmp_path / "ok.safetensors")
    load_model(tmp_path / "ok.safetensors")  # the first load imports the layer lists
    tracemalloc.start()
    try:
        with pytest.raises(ArchitectureError) as caught:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert "gpt-bomb.safetensors" in message and "TinyGPT(vocab_size=64, d_model=64" in message
    assert "num_layers=64" in message and "but the weight file holds" in message
    assert "refused before building" in message
    assert peak < 1_000_000


def test_a_spec_one_layer_off_is_refused_with_the_first_difference():
    data = small_gpt_file_with_config(num_layers=2)
    from tinytorch.core.serialization.model_file import decode_model

    with pytest.raises(ArchitectureError, match=r"describes 8,896 weights .* in 29 tensors but "
                                                "the weight file holds 5,616 in 17"):
        decode_model(data, "deeper.safetensors")
    with pytest.raises(ArchitectureError, match=r"'blocks.0.linear1.bias': spec None, file "
                                                r"\(64,\)"):
        decode_model(small_gpt_file_with_config(bias=False), "no-bias.safetensors")


def test_a_huge_unsaved_sinusoid_table_is_refused():
    tt.manual_seed(0)
    model = TinyGPT(64, 16, 2, 1, 16, positional="sinusoidal")
    spec = spec_of(model)
    # d_model and max_len both fit "the largest dimension" only if the file has one that
    # large: a (4096,)-element extra tensor makes 4096 x 4096 sinusoids look plausible
    state = dict(model.state_dict())
    state["extra"] = tt.tensor(np.zeros(4096, np.float32))
    spec["config"].update(max_seq_len=4096, d_model=4096, num_heads=1)
    data = dumps(state, metadata={ARCHITECTURE_KEY: json.dumps(spec), INFO_KEY: "{}"})
    from tinytorch.core.serialization.model_file import decode_model

    with pytest.raises(ArchitectureError, match="spec"):
        decode_model(data, "sinusoid.safetensors")
