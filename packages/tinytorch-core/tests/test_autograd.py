"""The autograd engine: graph walking, accumulation, freeing, errors, version counters."""

import threading

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.core.autograd import Function, GradcheckError, OpEvent, register_op_hook


def test_chain_of_10000_ops_backpropagates_without_recursion():
    x = tt.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001**10_000, rtol=1e-3)


def test_each_node_runs_backward_once_in_a_diamond():
    calls = []

    class Counting(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            calls.append(1)
            return grad * 2

    x = tt.tensor([1.0, 2.0], requires_grad=True)
    shared = Counting.apply(x)
    out = (shared * 3 + shared * shared).sum()  # `shared` is used three times
    out.backward()
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad.array, 2 * (3 + 2 * (2 * x.array)))


def test_gradients_accumulate_across_uses_and_backward_calls():
    x = tt.tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.array, [2.0, -4.0])
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.array, [5.0, -1.0])
    x.grad = None
    (x + x + x).sum().backward()
    np.testing.assert_allclose(x.grad.array, [3.0, 3.0])


def test_broadcast_gradients_are_reduced_to_the_input_shape():
    bias = tt.zeros(3, requires_grad=True)
    column = tt.zeros(4, 1, requires_grad=True)
    (tt.ones(2, 4, 3) + bias + column).sum().backward()
    assert bias.grad.shape == (3,)
    np.testing.assert_allclose(bias.grad.array, [8.0, 8.0, 8.0])
    np.testing.assert_allclose(column.grad.array, np.full((4, 1), 6.0))


def test_graph_is_freed_after_backward_unless_retained():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.array.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.array, 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_on_non_scalar_needs_a_gradient():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(tt.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.array, [2.0, 20.0])
    with pytest.raises(RuntimeError, match="gradient has shape"):
        (x * 2).backward(tt.tensor([1.0, 2.0, 3.0]))


def test_backward_on_a_tensor_without_grad_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tt.tensor([1.0]).sum().backward()


def test_in_place_change_of_a_saved_tensor_is_detected():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    y = (w * x).sum()  # Mul saves x for dL/dw
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*version 1"):
        y.backward()


def test_in_place_change_of_an_unsaved_tensor_is_allowed():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    y = (w + x).sum()  # Add saves nothing
    x.add_(1)
    y.backward()
    np.testing.assert_allclose(w.grad.array, [1.0, 1.0])


def test_in_place_on_a_tensor_requiring_grad_is_refused_outside_no_grad():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with tt.no_grad():
        w.add_(1)
    np.testing.assert_allclose(w.array, [2.0, 3.0])


def test_no_grad_records_nothing_and_restores_state():
    x = tt.tensor([1.0], requires_grad=True)
    with tt.no_grad():
        y = x * 2
        assert not tt.is_grad_enabled()
        with tt.enable_grad():
            z = x * 2
    assert tt.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @tt.no_grad()
    def doubled(t):
        return t * 2

    assert not doubled(x).requires_grad


def test_set_grad_enabled_as_context_manager():
    x = tt.tensor([1.0], requires_grad=True)
    with tt.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tt.is_grad_enabled()


def test_grad_mode_is_per_thread():
    """no_grad() in one thread (say, a server's inference worker) leaves others recording."""
    x = tt.tensor([1.0], requires_grad=True)
    inside, released = threading.Event(), threading.Event()
    seen = {}

    def inference_worker():
        with tt.no_grad():
            seen["worker"] = tt.is_grad_enabled()
            inside.set()
            released.wait(timeout=10)

    worker = threading.Thread(target=inference_worker)
    worker.start()
    assert inside.wait(timeout=10)
    assert tt.is_grad_enabled() and (x * 2).requires_grad  # main thread still records
    released.set()
    worker.join()
    assert seen["worker"] is False


def test_detach_shares_data_but_not_history():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad
    assert np.shares_memory(d.array, y.array)


def test_leaf_and_non_leaf_and_retain_grad():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = (y * y).sum()
    z.backward()
    assert x.is_leaf and not y.is_leaf
    np.testing.assert_allclose(y.grad.array, 2 * y.array)
    np.testing.assert_allclose(x.grad.array, 18 * x.array)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only floating point tensors"):
        tt.tensor([1, 2], requires_grad=True)


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * a  # should be 2a

    x = tt.tensor(np.array([0.5, -1.5, 2.0]), dtype=tt.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="gradient mismatch"):
        tt.gradcheck(WrongSquare.apply, [x])
    assert tt.gradcheck(lambda a: a * a, [x])


def test_gradcheck_requires_float64():
    with pytest.raises(TypeError, match="float64"):
        tt.gradcheck(lambda a: a * 2, [tt.tensor([1.0], requires_grad=True)])


def test_op_hook_sees_forward_and_backward_events():
    events: list[OpEvent] = []
    x = tt.randn(3, 4, requires_grad=True)
    w = tt.randn(4, 2, requires_grad=True)
    with register_op_hook(events.append):
        (x @ w).sum().backward()
    names = [(e.op, e.phase) for e in events]
    assert ("MatMul", "forward") in names and ("MatMul", "backward") in names
    matmul = next(e for e in events if e.op == "MatMul" and e.phase == "forward")
    assert matmul.inputs[0].shape == (3, 4) and matmul.outputs[0].shape == (3, 2)
    events.clear()
    (x * 2).sum()
    assert events == []  # the hook was removed on leaving the with-block


def test_backward_events_carry_gradients_by_input_position():
    """A gradient that was not computed stays in its place as None, so a listener knows
    which input each gradient belongs to (here only b, the second input, requires grad)."""
    events: list[OpEvent] = []
    a, b = tt.randn(3, 4), tt.randn(4, 2, requires_grad=True)
    with register_op_hook(events.append):
        (a @ b).sum().backward()
    matmul = next(e for e in events if e.op == "MatMul" and e.phase == "backward")
    assert len(matmul.outputs) == 2 and matmul.outputs[0] is None
    assert matmul.outputs[1].shape == (4, 2)
    assert matmul.function is tt.ops.MatMul
    assert matmul.function.cost is not Function.cost


def test_a_function_without_a_cost_is_uncounted_not_free():
    class Plain(Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, grad):
            return grad

    assert Plain.cost(None) is None


def test_graph_keeps_only_saved_arrays_alive():
    import gc
    import weakref

    w = tt.randn(100, 50, requires_grad=True)
    h = tt.randn(64, 100) @ w  # MatMul saves its inputs, not its output
    unsaved = weakref.ref(h.array)
    y = (h + 1.0).exp()  # Add saves nothing; Exp saves its output
    saved = weakref.ref(y.array)
    loss = y.sum()
    del h, y
    gc.collect()
    assert unsaved() is None, "an activation no backward needs was kept alive by the graph"
    assert saved() is not None
    loss.backward()
    gc.collect()
    assert saved() is None, "backward() must free saved arrays even while `loss` is referenced"
    assert w.grad.shape == (100, 50)
