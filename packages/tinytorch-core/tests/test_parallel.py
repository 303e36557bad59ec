"""tinytorch.core.parallel: row blocks cover the rows once, in order; threads are optional."""

import threading

import numpy as np
import pytest

from tinytorch.core import parallel


@pytest.fixture
def threads():
    """Restore the thread count a test changes."""
    before = parallel.get_num_threads()
    yield
    parallel.set_num_threads(before)


@pytest.mark.parametrize("rows,row_bytes,block_bytes", [(1, 8, 64), (10, 8, 64), (1000, 24, 256),
                                                        (7, 10_000, 64), (0, 8, 64)])
def test_blocks_cover_every_row_once_in_order(rows, row_bytes, block_bytes):
    parts = parallel.blocks(rows, row_bytes, block_bytes)
    covered = [i for part in parts for i in range(rows)[part]]
    assert covered == list(range(rows))
    assert all(part.stop - part.start >= 1 for part in parts)
    per_block = max(1, block_bytes // row_bytes)
    assert all(part.stop - part.start <= per_block for part in parts)


def test_large_work_runs_on_pool_threads_and_keeps_order(threads):
    parallel.set_num_threads(2)
    seen = []
    rows = 4 * parallel.MIN_PARALLEL_BYTES // 8

    def work(block):
        seen.append(threading.current_thread().name)
        return block.start

    starts = parallel.for_each_block(work, rows, 8, block_bytes=parallel.MIN_PARALLEL_BYTES // 2)
    assert starts == sorted(starts) and starts[0] == 0 and len(starts) == 8
    assert all(name.startswith("tinytorch") for name in seen)


def test_small_work_and_one_thread_run_inline(threads):
    main = threading.current_thread().name
    names = parallel.for_each_block(lambda b: threading.current_thread().name, 100, 8, 64)
    assert set(names) == {main}  # 800 bytes: below MIN_PARALLEL_BYTES
    parallel.set_num_threads(1)
    rows = 4 * parallel.MIN_PARALLEL_BYTES // 8
    names = parallel.for_each_block(lambda b: threading.current_thread().name, rows, 8, 4096)
    assert set(names) == {main}


def test_blocked_numpy_work_matches_one_pass(threads):
    parallel.set_num_threads(2)
    x = np.random.default_rng(0).standard_normal((300_000, 4))
    out = np.empty_like(x)

    def block(rows):
        np.multiply(x[rows], 2.0, out=out[rows])
        out[rows] += 1.0
        return x[rows].sum(axis=0)

    partial_sums = parallel.for_each_block(block, len(x), x[0].nbytes, block_bytes=64 * 1024)
    np.testing.assert_array_equal(out, 2.0 * x + 1.0)
    np.testing.assert_allclose(sum(partial_sums), x.sum(axis=0), rtol=1e-12)


def test_an_error_in_a_block_reaches_the_caller(threads):
    parallel.set_num_threads(2)

    def work(block):
        if block.start > 0:
            raise ValueError("block failed")

    with pytest.raises(ValueError, match="block failed"):
        parallel.for_each_block(work, parallel.MIN_PARALLEL_BYTES, 8, 1 << 16)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_set_num_threads_refuses_bad_counts(bad):
    with pytest.raises(ValueError, match="set_num_threads: threads must be an int >= 1"):
        parallel.set_num_threads(bad)


@pytest.mark.parametrize("text", ["zero", "0", "-2", "1.5"])
def test_bad_environment_variable_is_named(monkeypatch, text):
    monkeypatch.setenv("TINYTORCH_NUM_THREADS", text)
    with pytest.raises(ValueError, match="TINYTORCH_NUM_THREADS must be a positive integer"):
        parallel._default_threads()


def test_environment_variable_sets_the_default(monkeypatch):
    monkeypatch.setenv("TINYTORCH_NUM_THREADS", "3")
    assert parallel._default_threads() == 3


def test_configured_restores_the_settings(threads):
    before = (parallel.get_num_threads(), parallel.BLOCK_BYTES, parallel.MIN_PARALLEL_BYTES)
    with parallel.configured(threads=1, block_bytes=123, min_parallel_bytes=0):
        assert (parallel.get_num_threads(), parallel.BLOCK_BYTES,
                parallel.MIN_PARALLEL_BYTES) == (1, 123, 0)
        assert len(parallel.blocks(10, 100)) == 10
    assert (parallel.get_num_threads(), parallel.BLOCK_BYTES,
            parallel.MIN_PARALLEL_BYTES) == before


@pytest.mark.parametrize("shape", [(7, 33, 65), (1000,), (3, 1)])
def test_gelu_kernels_in_blocks_equal_the_one_block_path(shape):
    from tinytorch.core.ops import gelu_derivative, normal_cdf

    x = (np.random.default_rng(0).standard_normal(shape) * 4).astype(np.float32)
    with parallel.configured(threads=1, block_bytes=1 << 60):
        cdf, slope = normal_cdf(x), gelu_derivative(x, normal_cdf(x))
    with parallel.configured(threads=2, block_bytes=1024, min_parallel_bytes=0):
        np.testing.assert_array_equal(normal_cdf(x), cdf)
        np.testing.assert_array_equal(gelu_derivative(x, cdf), slope)
        transposed = np.asfortranarray(x)  # any memory layout, same values
        np.testing.assert_array_equal(normal_cdf(transposed), cdf)


@pytest.mark.parametrize("shape", [(7, 33, 65), (1000,), (3, 1)])
def test_gelu_with_derivative_in_blocks_equals_the_one_block_path(shape):
    from tinytorch.core.ops import gelu_with_derivative

    x = (np.random.default_rng(1).standard_normal(shape) * 4).astype(np.float32)
    with parallel.configured(threads=1, block_bytes=1 << 60):
        value, slope = gelu_with_derivative(x)
    with parallel.configured(threads=2, block_bytes=1024, min_parallel_bytes=0):
        blocked = gelu_with_derivative(np.asfortranarray(x))
    np.testing.assert_array_equal(blocked[0], value)
    np.testing.assert_array_equal(blocked[1], slope)


def test_gelu_in_blocks_matches_torch():
    import torch

    import tinytorch.core.nn.functional as F
    from tinytorch.core.testing import check_op

    with parallel.configured(threads=2, block_bytes=2048, min_parallel_bytes=0):
        check_op([(9, 40, 24)], F.gelu, torch.nn.functional.gelu, low=-6.0, high=6.0)


def test_one_thread_unless_asked(monkeypatch):
    monkeypatch.delenv("TINYTORCH_NUM_THREADS", raising=False)
    assert parallel._default_threads() == 1


def test_block_size_is_half_an_l2_cache_within_1_to_4_mb(monkeypatch, tmp_path):
    import builtins

    real_open = builtins.open
    for reported, expected in (("4096K", 2 << 20), ("2048K", 1 << 20), ("1024K", 1 << 20),
                               ("256K", 1 << 20), ("32M", 4 << 20)):
        def fake_open(path, *args, reported=reported, **kwargs):
            if str(path).endswith("index2/size"):
                (tmp_path / "size").write_text(reported + "\n")
                return real_open(tmp_path / "size", *args, **kwargs)
            return real_open(path, *args, **kwargs)
        monkeypatch.setattr(builtins, "open", fake_open)
        assert parallel._block_bytes() == expected
    monkeypatch.setattr(builtins, "open", lambda *a, **k: (_ for _ in ()).throw(OSError()))
    assert parallel._block_bytes() == 1 << 20  # no sysfs: the floor
