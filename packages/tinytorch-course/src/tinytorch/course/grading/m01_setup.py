"""Module 01 (Setup): seeded generators and dtype promotion.

The property-based tests draw seeds from the whole range numpy accepts (0 to 2^63) and
every pair of the integer and float dtypes a Tensor holds, so a rule learnt from one
example (say, "int with float gives float32") cannot pass by luck."""

from __future__ import annotations

import numpy as np

from . import check_close, check_equal, check_raises, grading_test

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
          "float64")


def _seed_cases(h):
    st = h.st
    return st.fixed_dictionaries({"seed": st.integers(0, 2**63 - 1),
                                  "other": st.integers(0, 2**32 - 1),
                                  "draws": st.integers(1, 6)})


@grading_test(points=1, cases=_seed_cases)
def any_seed_replays_numpys_stream(student, case):
    """For any seed (up to 2^63), Generator(seed), Generator().manual_seed(seed) and the
    global manual_seed(seed) + get_rng() all replay np.random.default_rng(seed), and
    reseeding after other draws starts the stream over."""
    seed, n = case["seed"], case["draws"]
    expected = np.random.default_rng(seed).standard_normal(n)
    check_close(student.Generator(seed).rng.standard_normal(n), expected,
                f"Generator({seed}) draws")
    g = student.Generator(case["other"])
    g.rng.random(3)  # draws that reseeding must forget
    g.manual_seed(seed)
    check_equal(g.initial_seed(), seed, f"initial_seed() after manual_seed({seed})")
    check_close(g.rng.standard_normal(n), expected, f"draws after manual_seed({seed})")
    student.manual_seed(seed)
    check_close(student.get_rng().standard_normal(n), expected,
                f"get_rng() draws after the global manual_seed({seed})")


def _promoted(a: np.dtype, b: np.dtype) -> str:
    """TinyTorch's rule written out: same stays; int with float -> the float; two ints
    (or bools) -> numpy's promotion; two different floats -> refused."""
    if a == b:
        return str(a)
    if a.kind == "f" and b.kind == "f":
        return "TypeError"
    if a.kind == "f" or b.kind == "f":
        return str(a if a.kind == "f" else b)
    return str(np.promote_types(a, b))


def _dtype_pair_cases(h):
    return h.st.fixed_dictionaries({"a": h.st.sampled_from(DTYPES),
                                    "b": h.st.sampled_from(DTYPES),
                                    "op": h.st.sampled_from(["add", "mul", "matmul"])})


@grading_test(points=2, cases=_dtype_pair_cases)
def result_dtype_of_any_pair(student, case):
    """result_dtype for any pair of bool/int/uint/float dtypes: same stays, int with float
    gives the float (whatever its width), ints promote like numpy, mixed floats raise."""
    a, b, op = np.dtype(case["a"]), np.dtype(case["b"]), case["op"]
    expected = _promoted(a, b)
    label = f"result_dtype({op!r}, {a}, {b})"
    if expected == "TypeError":
        check_raises(TypeError, lambda: student.result_dtype(op, a, b), label, op, str(a),
                     str(b))
    else:
        check_equal(str(np.dtype(student.result_dtype(op, a, b))), expected, label)


@grading_test(points=2)
def manual_seed_resets_the_stream(student):
    """Generator.manual_seed(s) restarts the stream: draws equal numpy's default_rng(s)."""
    g = student.Generator()
    returned = g.manual_seed(5)
    assert returned is g, "Generator.manual_seed should return the generator itself"
    check_close(g.rng.standard_normal(4), np.random.default_rng(5).standard_normal(4),
                "draws after manual_seed(5)")
    assert g.initial_seed() == 5, f"initial_seed() should be 5, got {g.initial_seed()!r}"
    g.manual_seed(5)
    check_close(g.rng.random(3), np.random.default_rng(5).random(3),
                "draws after seeding with 5 a second time")


@grading_test(points=1)
def manual_seed_rejects_non_integers(student):
    """Generator.manual_seed refuses a float seed with a TypeError."""
    g = student.Generator()
    g.manual_seed(1)  # a valid call must work first (a stub fails here)
    check_raises(TypeError, lambda: g.manual_seed(1.5), "manual_seed(1.5)", "seed")


@grading_test(points=1)
def global_seed_drives_get_rng(student):
    """manual_seed(s) seeds the global generator that get_rng() returns."""
    student.manual_seed(3)
    check_close(student.get_rng().random(3), np.random.default_rng(3).random(3),
                "get_rng() draws after manual_seed(3)")


@grading_test(points=1)
def get_rng_uses_the_given_generator(student):
    """get_rng(g) returns g's numpy generator and rejects anything that is not a Generator."""
    g = student.Generator(11)
    assert student.get_rng(g) is g.rng, "get_rng(g) should return g.rng"
    check_raises(TypeError, lambda: student.get_rng("seed"), "get_rng('seed')", "Generator")


@grading_test(points=2)
def result_dtype_promotion(student):
    """result_dtype: same stays, int with float gives the float, two ints promote."""
    rd = student.result_dtype
    f32, f64, i32, i64 = (np.dtype(t) for t in ("float32", "float64", "int32", "int64"))
    for a, b, expected in ((f32, f32, f32), (f64, f64, f64), (i64, f32, f32),
                           (f32, i32, f32), (i64, f64, f64), (i32, i64, i64)):
        got = rd("add", a, b)
        assert got == expected, f"result_dtype('add', {a}, {b}) should be {expected}, got {got}"


@grading_test(points=1)
def result_dtype_refuses_mixed_floats(student):
    """result_dtype refuses float32 with float64 (TypeError naming the op and both dtypes)."""
    rd = student.result_dtype
    assert rd("mul", np.dtype("float32"), np.dtype("float32")) == np.dtype("float32"), \
        "result_dtype of two float32 should be float32"
    check_raises(TypeError, lambda: rd("mul", np.dtype("float32"), np.dtype("float64")),
                 "result_dtype('mul', float32, float64)", "mul", "float32", "float64")
