"""Draw the autograd graph behind a tensor: ops, shapes, and which tensors require grad.

    loss = F.mse_loss(model(x), y)
    draw_graph(loss, "graph.svg", params=dict(model.named_parameters()))
    print(to_dot(loss))                       # the same graph as Graphviz DOT text

What it teaches: `loss.backward()` walks a graph that the forward pass recorded, and this
draws it (as micrograd's `draw_dot` and torchviz's `make_dot` do). Read bottom-up it is the
forward pass; top-down it is the order backward visits the nodes. Each op box is a
`Function` node named like PyTorch's (`MulBackward`) with the shape it produced; blue
boxes are leaf tensors that require grad (the parameters: where backward accumulates
`.grad`); the green box is the tensor you drew. Inputs that do not require grad (data,
targets, constants) are absent: the engine keeps no edge to them, which is why they cost
no gradient work.

Systems lesson: the picture is the memory bill. Every op box is alive until backward
frees it, holding the arrays its backward needs, so a deeper graph (more boxes) or larger
shapes on the edges is more training memory.

Graphviz's `dot` renders the SVG when it is installed; otherwise the DOT text is written
(`graph.dot`), which any Graphviz viewer or https://dreampuf.github.io/GraphvizOnline
renders. Generating DOT needs no dependency at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .atomic import atomic_path, atomic_write_text
from .autograd import Function
from .tensor import Tensor

RENDERED = (".svg", ".png")
DOT_TIMEOUT_SECONDS = 60


def to_dot(tensor: Tensor, params: dict[str, Tensor] | None = None,
           title: str | None = None) -> str:
    """The graph that produced `tensor` as Graphviz DOT text (no dependency needed)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    names = _parameter_names(params)
    lines = ["digraph autograd {", "  rankdir=BT;",
             '  node [shape=box, style="rounded,filled", fillcolor=white, '
             'fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    if title:
        lines.append(f'  labelloc=t; label="{_escape(title)}";')
    root = f"t{id(tensor)}"
    lines.append(f'  {root} [label="{_escape(_tensor_label(tensor, names, "output"))}", '
                 "fillcolor=palegreen];")
    if tensor.grad_fn is not None:
        lines += _graph_lines(tensor.grad_fn, names)
        lines.append(f"  n{id(tensor.grad_fn)} -> {root};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor: Tensor, path: str | os.PathLike = "graph.svg",
               params: dict[str, Tensor] | None = None, title: str | None = None) -> Path:
    """Write the graph behind `tensor` to `path`; return the path actually written.

    `.svg`/`.png` are rendered by Graphviz's `dot` when it is on PATH; without it the DOT
    text goes to the same name with `.dot` (returned, so the caller can say where it is).
    A `.dot` path always writes the text.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (*RENDERED, ".dot"):
        raise ValueError(f"draw_graph: {target} has type {suffix!r}; expected .svg, .png or "
                         ".dot")
    dot_text = to_dot(tensor, params, title)
    executable = shutil.which("dot")
    if suffix == ".dot" or executable is None:
        return atomic_write_text(target.with_suffix(".dot"), dot_text)
    with atomic_path(target) as temp:
        done = subprocess.run([executable, f"-T{suffix[1:]}", "-o", str(temp)],
                              input=dot_text.encode(), capture_output=True,
                              timeout=DOT_TIMEOUT_SECONDS, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"draw_graph: Graphviz dot failed ({done.returncode}): "
                               f"{done.stderr.decode(errors='replace').strip()}")
    return target


# ---------------------------------------------------------------- the walk


def _graph_lines(root: Function, names: dict[int, str]) -> list[str]:
    """Nodes and edges of every Function reachable from `root`, each once (iterative)."""
    lines, seen, stack = [], {root}, [root]
    while stack:
        node = stack.pop()
        lines.append(f'  n{id(node)} [label="{_escape(_op_label(node))}"];')
        for parent, shape in zip(node.inputs, node.input_shapes):
            if parent is None:  # an input without grad: the engine keeps no edge to it
                continue
            if isinstance(parent, Function):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
                lines.append(f'  n{id(parent)} -> n{id(node)} [label=" {_shape(shape)}"];')
            else:  # a leaf tensor that requires grad
                leaf = f"t{id(parent)}"
                if parent not in seen:
                    seen.add(parent)
                    label = _tensor_label(parent, names, "leaf")
                    lines.append(f'  {leaf} [label="{_escape(label)}", fillcolor=lightblue];')
                lines.append(f"  {leaf} -> n{id(node)};")
    return lines


def _op_label(node: Function) -> str:
    freed = " (freed)" if node._freed else ""
    return f"{node.name}Backward{freed}"


def _tensor_label(tensor: Tensor, names: dict[int, str], role: str) -> str:
    name = names.get(id(tensor), role)
    grad = "requires_grad" if tensor.requires_grad else "no grad"
    return f"{name}\n{_shape(tensor.shape)} {tensor.dtype}\n{grad}"


def _parameter_names(params) -> dict[int, str]:
    if params is None:
        return {}
    if not isinstance(params, dict) or not all(isinstance(t, Tensor) for t in params.values()):
        raise TypeError("to_dot: params must be a dict of name -> Tensor, e.g. "
                        "dict(model.named_parameters())")
    return {id(t): str(name) for name, t in params.items()}


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
