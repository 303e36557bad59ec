"""Automatic differentiation: the whole engine on one page.

What it teaches: every operation on tensors that require gradients records a node (a
`Function` instance) holding what its backward needs. `loss.backward()` walks those nodes
from the loss back to the leaves in reverse topological order and applies the chain rule
once per node. Each `Function` puts `forward` and `backward` side by side, so you can read
the derivative next to the computation it differentiates.

Systems lessons:
- Memory: the graph keeps every array a backward needs (the "saved activations"), so
  training memory is forward activations + gradients + optimizer state. `backward()` frees
  them as it goes unless `retain_graph=True`.
- The walk is iterative (an explicit stack, not recursion), so a 10,000-op chain works.
- A version counter on each tensor catches in-place edits of data a backward still needs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ---------------------------------------------------------------- grad mode


class _GradMode(threading.local):
    """Whether ops record a graph. Per thread, as in PyTorch: `no_grad()` in a server's
    worker thread must not switch recording off for a training loop in another thread."""

    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _grad_mode.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager / decorator that turns graph recording on or off."""

    def __init__(self, mode: bool):
        self.prev = _grad_mode.enabled
        self.mode = bool(mode)
        _grad_mode.enabled = self.mode  # like PyTorch, also works as a plain function call

    def __enter__(self):
        _grad_mode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self.prev
        return False


class no_grad(contextlib.ContextDecorator):
    """Inside `with no_grad():` operations record no graph (inference, optimizer steps)."""

    mode = False

    def __enter__(self):
        self.prev = _grad_mode.enabled
        _grad_mode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self.prev
        return False


class enable_grad(no_grad):
    """Inside `with enable_grad():` operations record a graph, even within `no_grad()`."""

    mode = True


# ---------------------------------------------------------------- op hooks (for profilers)


@dataclass
class OpEvent:
    """What a profiler sees of one executed op (forward or backward)."""

    op: str
    phase: str  # "forward" or "backward"
    inputs: tuple  # forward: the arrays (and plain arguments) it received; backward: (grad,)
    outputs: tuple  # forward: the arrays it produced; backward: one gradient per forward
    #                 input, in input order, None where none was computed
    attrs: dict = field(default_factory=dict)
    function: type | None = None  # the Function subclass that ran: `function.cost(...)`


_op_hooks: list[Callable[[OpEvent], None]] = []


class RemovableHandle:
    """What registering a hook returns (PyTorch's `torch.utils.hooks.RemovableHandle`):
    `.remove()` unregisters it, and `with handle:` removes it on leaving the block."""

    def __init__(self, registry: list, hook):
        self._registry, self._hook = registry, hook

    def remove(self) -> None:
        if self._hook in self._registry:
            self._registry.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_op_hook(hook: Callable[[OpEvent], None]) -> RemovableHandle:
    """Call `hook(event)` after every op core executes; returns a handle with `.remove()`.

    This is core's extension point for op-level tracing (FLOP counters, profilers):
    later packages observe ops here instead of special-casing layer classes.
    """
    _op_hooks.append(hook)
    return RemovableHandle(_op_hooks, hook)


def _emit(function, phase, inputs, outputs, attrs):
    event = OpEvent(function.__name__, phase, tuple(inputs), tuple(outputs), dict(attrs),
                    function)
    for hook in list(_op_hooks):
        hook(event)


# ---------------------------------------------------------------- Function


class Function:
    """Base class of every differentiable op. Subclass and write both halves:

        class Mul(Function):
            @staticmethod
            def forward(ctx, a, b):          # numpy arrays in, numpy array out
                ctx.save_for_backward(a, b)
                return a * b

            @staticmethod
            def backward(ctx, grad):         # dLoss/dOut in, dLoss/dInput per input out
                a, b = ctx.saved_tensors
                return grad * b, grad * a

    `Mul.apply(x, y)` runs forward on the tensors' arrays and, when gradients are needed,
    links the result into the graph with this instance as its `grad_fn`. Backward may
    return gradients in the broadcast shape; the engine sums them back to each input's
    shape, so broadcasting is handled once, here, for every op.

    TinyTorch's own ops work on plain numpy arrays (above). A Function written outside
    TinyTorch's packages (a notebook, a script, a PyTorch program) receives its arrays as
    `TorchStyleArray`s: still numpy arrays, which also answer PyTorch's method names
    (`input.clamp(min=0)`, `grad.clone()`, `x.sum(dim=1)`), so numpy-style and
    PyTorch-style Functions both run. The class attribute `tensor_io` says which a class
    gets; set it to choose explicitly.

    The third half is `cost(call, grads=None)`: what one call executes, as a formula of
    its shapes (see `tinytorch.core.cost`). `call` is an `OpCall` describing the forward
    (input and output shapes, plain arguments, keyword arguments); with `grads=None` it
    returns the forward's `Cost(flops, matmul_flops)`, with `grads` (one `Gradient` or
    None per forward input, in input order) the backward's. Profilers call it for every
    op they observe; the default returns None, "uncounted", so an op nobody priced is
    reported as such instead of silently costing zero:

            @staticmethod
            def cost(call, grads=None):      # Mul: one multiply per output element
                return pointwise(call, grads, forward=1, backward=1)
    """

    tensor_io = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "tensor_io" not in cls.__dict__:
            cls.tensor_io = not cls.__module__.startswith("tinytorch.")

    # bookkeeping kept after the graph is freed (so a second backward can say why it fails)
    _KEEP_AFTER_FREE = ("inputs", "input_shapes", "needs_input_grad", "_freed")

    def __init__(self):
        # per forward argument: the node that produced it, the leaf tensor itself, or None
        # (no gradient needed). Holding nodes rather than intermediate tensors means an
        # activation stays alive only if some backward saved it, as in PyTorch.
        self.inputs: tuple = ()
        self.input_shapes: tuple = ()
        self.needs_input_grad: tuple = ()
        self._saved: tuple = ()
        self._saved_versions: list = []
        self._freed = False
        self._retained = None

    # -- the two halves a subclass writes
    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("subclasses of Function define forward")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("subclasses of Function define backward")

    @staticmethod
    def cost(call, grads=None):
        """FLOPs of one forward call (`grads` None) or its backward: None = not counted."""
        return None

    # -- saving for backward with in-place detection
    def save_for_backward(self, *arrays) -> None:
        """Keep every array backward will read (None allowed), read back as
        `ctx.saved_tensors`. Arrays that are, or are views of, an input's or the output's
        memory are version-checked: an in-place edit before backward raises instead of
        giving a wrong gradient. Other ctx attributes hold metadata only (shapes, flags)."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        for tensor, version in self._saved_versions:
            if tensor._version != version:
                raise RuntimeError(
                    f"{type(self).__name__}.backward: one of the tensors needed for gradient "
                    f"computation (shape {tensor.shape}, {tensor.dtype}) was modified by an "
                    f"in-place operation: it is at version {tensor._version}, expected "
                    f"version {version}. Use an out-of-place op (x = x + 1) instead."
                )
        return self._saved

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"

    # -- running an op
    @classmethod
    def apply(cls, *args, **kwargs) -> Tensor:
        ctx = cls()
        arrays = [a.array if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = _grad_mode.enabled and any(needs)
        ctx.needs_input_grad = needs
        if cls.tensor_io:  # numpy arrays that also speak PyTorch's method names
            with no_grad():
                out = _as_array(cls.forward(ctx, *map(torch_style, arrays), **kwargs))
        else:
            out = cls.forward(ctx, *arrays, **kwargs)
        result = Tensor._make(out, record)
        if record:
            ctx.inputs = tuple((a.grad_fn or a) if n else None for a, n in zip(args, needs))
            ctx.input_shapes = tuple(a.shape if n else None for a, n in zip(args, needs))
            result.grad_fn = ctx
            if ctx._saved:
                ctx._track_versions(args, result)
        if _op_hooks:
            _emit(cls, "forward", arrays, (result.array,), kwargs)
        return result

    def _track_versions(self, args, result) -> None:
        """Note the version of every tensor whose memory a saved array uses (the array
        itself or a view of it, like im2col's patches of the input), so that an in-place
        edit between forward and backward is caught instead of giving a wrong gradient."""
        saved = [_storage(s) for s in _flat(self._saved)]
        saved = [s for s in saved if isinstance(s, np.ndarray)]
        owners = {id(t): t for t in (*_tensors_in(args), result)}.values()
        self._saved_versions = [(t, t._version) for t in owners
                                if any(s is t.array or np.may_share_memory(s, t.array)
                                       for s in saved)]

    def _run_backward(self, grad: np.ndarray) -> tuple:
        """Call the subclass's backward with arrays, or with Tensors for `tensor_io`."""
        if not self.tensor_io:
            grads = type(self).backward(self, grad)
            return grads if isinstance(grads, tuple) else (grads,)
        with no_grad():
            grads = type(self).backward(self, torch_style(grad))
        grads = grads if isinstance(grads, tuple) else (grads,)
        return tuple(None if g is None else _as_array(g) for g in grads)

    def _release(self) -> None:
        """Drop everything saved for backward; keep the graph's shape for error messages."""
        kept = {k: self.__dict__[k] for k in self._KEEP_AFTER_FREE if k in self.__dict__}
        self.__dict__.clear()
        self.__dict__.update(kept)
        self._freed = True

    def parents(self) -> list[Function]:
        return [p for p in self.inputs if isinstance(p, Function)]


def _as_array(value) -> np.ndarray:
    """A plain ndarray from what a Function returned (Tensor, TorchStyleArray, number)."""
    return value.array if isinstance(value, Tensor) else np.asarray(value)


def _flat(values):
    """Arrays saved for backward, with tuples and lists (an index) opened one level."""
    for value in values:
        if isinstance(value, (tuple, list)):
            yield from value
        else:
            yield value


def _tensors_in(args):
    """The Tensor arguments of a call, including those inside a tuple (an index)."""
    return [t for t in _flat(args) if isinstance(t, Tensor)]


def _storage(saved):
    """The array a saved value lives in, to find its owner tensor for version checks."""
    if isinstance(saved, Tensor):
        return saved.array
    if isinstance(saved, TorchStyleArray) and saved.base is not None:
        return saved.base
    return saved


_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to read saved tensors after "
    "they were freed). Saved arrays are freed by backward(); call backward(retain_graph=True) "
    "the first time if you need to backward through the same graph again."
)


# ---------------------------------------------------------------- the engine


def topological_order(root: Function) -> list[Function]:
    """Nodes reachable from `root`, each once, parents after children (iterative DFS)."""
    # BEGIN SOLUTION
    order: list[Function] = []
    visited = {root}
    stack = [(root, iter(root.parents()))]
    while stack:
        node, pending = stack[-1]
        for parent in pending:
            if parent not in visited:
                visited.add(parent)
                stack.append((parent, iter(parent.parents())))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order
    # END SOLUTION


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient back to `shape`: the backward of numpy broadcasting."""
    # BEGIN SOLUTION
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)
    # END SOLUTION


def backward(tensor: Tensor, gradient=None, retain_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into every leaf's `.grad` that requires grad."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no grad_fn; did you create "
            "it under no_grad(), detach() it, or forget requires_grad=True on the inputs?"
        )
    seed = _initial_gradient(tensor, gradient)
    if tensor.grad_fn is None:  # backward on a leaf itself
        tensor._accumulate_grad(seed)
        return
    grads: dict[Function, np.ndarray] = {tensor.grad_fn: seed}
    for node in topological_order(tensor.grad_fn):
        grad = grads.pop(node, None)
        if grad is None:
            continue
        if node._freed:
            raise RuntimeError(_FREED_MESSAGE)
        if node._retained is not None:
            node._retained._accumulate_grad(grad)
        input_grads = node._run_backward(grad)
        if _op_hooks:
            _emit(type(node), "backward", (grad,), input_grads, {})
        # BEGIN SOLUTION
        for parent, shape, input_grad in zip(node.inputs, node.input_shapes, input_grads):
            if parent is None or input_grad is None:
                continue
            input_grad = unbroadcast(np.asarray(input_grad), shape)
            if not isinstance(parent, Function):  # a leaf tensor
                parent._accumulate_grad(input_grad)
            elif parent in grads:
                grads[parent] = grads[parent] + input_grad
            else:
                grads[parent] = input_grad
        # END SOLUTION
        if not retain_graph:
            node._release()


def _initial_gradient(tensor: Tensor, gradient) -> np.ndarray:
    if gradient is None:
        if tensor.array.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, but this "
                f"tensor has shape {tensor.shape}; pass gradient= of that shape, or reduce "
                "it first (e.g. loss.sum() or loss.mean())."
            )
        return np.ones(tensor.shape, dtype=tensor.dtype)
    grad = gradient.array if isinstance(gradient, Tensor) else np.asarray(gradient)
    if grad.shape != tensor.shape:
        raise RuntimeError(
            f"backward: gradient has shape {grad.shape} but the tensor has shape {tensor.shape}"
        )
    return grad.astype(tensor.dtype, copy=False)


# ---------------------------------------------------------------- gradcheck


class GradcheckError(RuntimeError):
    pass


def gradcheck(
    fn: Callable[..., Any],
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Compare autograd's gradients of `fn(*inputs)` with float64 central differences.

    Non-scalar outputs are reduced with a fixed random weighting, so every output element
    takes part. Inputs must be float64 tensors; those with requires_grad=True are checked.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True; nothing to check")
    for t in checked:
        if t.dtype != np.float64:
            raise TypeError(
                f"gradcheck: inputs must be float64 for finite differences to be accurate, "
                f"got {t.dtype} for an input of shape {t.shape}"
            )
    weights_rng = np.random.default_rng(seed)
    probe = fn(*inputs)
    outputs = probe if isinstance(probe, (tuple, list)) else (probe,)
    weights = [weights_rng.standard_normal(o.shape) for o in outputs]

    def scalar(*args) -> Tensor:
        result = fn(*args)
        results = result if isinstance(result, (tuple, list)) else (result,)
        total = None
        for out, w in zip(results, weights):
            term = (out * Tensor(w)).sum()
            total = term if total is None else total + term
        return total

    for t in checked:
        t.grad = None
    scalar(*inputs).backward()
    analytic = [t.grad.array.copy() if t.grad is not None else np.zeros(t.shape) for t in checked]

    with no_grad():
        for t, grad in zip(checked, analytic):
            numeric = np.zeros(t.shape)
            t.array = np.ascontiguousarray(t.array)
            flat = t.array.reshape(-1)  # a view: edits show up in t.array
            for i in range(flat.size):
                original = flat[i]
                flat[i] = original + eps
                plus = scalar(*inputs).item()
                flat[i] = original - eps
                minus = scalar(*inputs).item()
                flat[i] = original
                numeric.reshape(-1)[i] = (plus - minus) / (2 * eps)
            if not np.allclose(grad, numeric, atol=atol, rtol=rtol):
                worst = np.unravel_index(np.argmax(np.abs(grad - numeric)), t.shape)
                message = (
                    f"gradcheck: gradient mismatch for input of shape {t.shape} at index "
                    f"{tuple(int(i) for i in worst)}: analytic {grad[worst]:.6g}, numeric "
                    f"{numeric[worst]:.6g} (atol={atol}, rtol={rtol})"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    for t in checked:
        t.grad = None
    return True


def defined_functions(package: str) -> dict[str, type]:
    """Every Function subclass defined in `package` (e.g. "tinytorch.vision"), by name:
    how test suites cover each op, a new one included, without keeping a list."""
    found, stack = {}, list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith(package + "."):
            found[cls.__name__] = cls
    return found


def check_saved_versions(fn: Callable[..., Any], inputs, seed: int = 0) -> list[int]:
    """Edit each tensor input (and the output) of `fn(*inputs)` in place between forward
    and backward: backward must refuse with the version error, or give exactly the
    gradients it gives without the edit. Anything else is a silently wrong gradient, and
    raises GradcheckError naming the edited input.

    The edit is a roll of the values (`np.roll`), so index and mask tensors stay valid;
    give inputs with distinct values. Returns the positions whose edit was refused (-1 is
    the output). This is how the test suites prove that every op saves what its backward
    reads through `save_for_backward`.
    """
    inputs = tuple(inputs)
    tracked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not tracked:
        raise ValueError("check_saved_versions: no input has requires_grad=True")
    weights = None

    def run(edit=None) -> list:
        nonlocal weights
        for t in tracked:
            t.grad = None
        out = fn(*inputs)
        if weights is None:
            weights = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
        if edit is not None:
            with no_grad():
                edit(out)
        out.backward(weights)
        return [None if t.grad is None else t.grad.array.copy() for t in tracked]

    expected = run()
    refused = []
    edits = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.numel() > 1]
    originals = [(t, t.array.copy()) for _, t in edits]
    for position, target in [*edits, (-1, None)]:

        def edit(out, target=target):
            victim = out if target is None else target
            if victim.array.flags.writeable:  # not a broadcast view (expand's output)
                victim.copy_(Tensor._make(np.roll(victim.array, 1)))

        try:
            got = run(edit)
        except RuntimeError as err:
            if "modified by an in-place operation" not in str(err):
                raise
            refused.append(position)
            got = None
        finally:
            with no_grad():  # an edited output may be a view of an input: restore all
                for t, original in originals:
                    t.copy_(Tensor._make(original))
        if got is not None and not all(
                (a is None and b is None) or (a is not None and b is not None
                                              and np.array_equal(a, b, equal_nan=True))
                for a, b in zip(got, expected)):
            name = "the output" if position < 0 else f"input {position}"
            raise GradcheckError(
                f"check_saved_versions: editing {name} in place after forward changed the "
                f"gradients without an error: backward read an array that was not saved "
                f"through save_for_backward")
    for t in tracked:
        t.grad = None
    return refused


# Imported last: tensor.py imports this module too, and either may be imported first.
from .tensor import Tensor  # noqa: E402
from .torch_style import TorchStyleArray, torch_style  # noqa: E402
