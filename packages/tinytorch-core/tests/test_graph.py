"""The autograd graph picture: DOT text always, SVG through Graphviz when installed."""

import re
import shutil

import pytest

import tinytorch.core as tt
from tinytorch.core import graph, nn
from tinytorch.core.graph import draw_graph, to_dot


def _mlp_loss(hidden: int = 3):
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    x, y = tt.randn(4, 2), tt.randn(4, 1)
    loss = ((model(x) - y) ** 2).mean()
    return loss, model


def test_dot_names_every_op_leaf_and_shape():
    loss, model = _mlp_loss()
    dot = to_dot(loss, params=dict(model.named_parameters()))
    assert dot.startswith("digraph autograd {") and dot.rstrip().endswith("}")
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f'label="{name}\\n' in dot
    assert dot.count("fillcolor=lightblue") == 4  # the four parameters, each once
    assert "requires_grad" in dot and "output\\n() float32" in dot
    for op in ("Linear", "ReLU", "Sub", "Mean"):
        assert re.search(rf'"{op}\w*Backward', dot), op
    assert 'label=" (4, 3)"' in dot  # the hidden activation flows along an edge
    assert dot.count("->") == 4 + 5 + 1  # parameters, op-to-op edges, the output


def test_dot_follows_the_graph():
    small, model = _mlp_loss(3)
    big, _ = _mlp_loss(5)
    assert "(4, 5)" in to_dot(big) and "(4, 5)" not in to_dot(small)
    leaf = tt.randn(3, requires_grad=True)
    assert to_dot(leaf).count("->") == 0  # a leaf has no graph behind it


def test_shared_nodes_appear_once():
    a = tt.randn(3, requires_grad=True)
    b = a * 2
    c = b + b  # b feeds c twice
    dot = to_dot(c)
    assert len(re.findall(r'n\d+ \[label="Mul\w*Backward', dot)) == 1
    assert len(re.findall(r"fillcolor=lightblue", dot)) == 1


def test_bad_input():
    with pytest.raises(TypeError, match="to_dot: expected a Tensor, got list"):
        to_dot([1, 2])
    with pytest.raises(TypeError, match="to_dot: params must be a dict of name -> Tensor"):
        to_dot(tt.ones(1), params={"w": 3})
    with pytest.raises(ValueError, match=r"draw_graph: .* has type '\.pdf'"):
        draw_graph(tt.ones(1), "g.pdf")


def test_without_graphviz_writes_dot_text(tmp_path, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    loss, _ = _mlp_loss()
    written = draw_graph(loss, tmp_path / "g.svg")
    assert written == tmp_path / "g.dot"
    assert written.read_text() == to_dot(loss)
    assert not (tmp_path / "g.svg").exists()


def test_after_backward_the_graph_is_still_drawn_and_marked_freed():
    loss, _ = _mlp_loss()
    loss.backward()
    assert "(freed)" in to_dot(loss)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_graphviz_renders_svg_and_png(tmp_path):
    loss, model = _mlp_loss()
    svg = draw_graph(loss, tmp_path / "g.svg", params=dict(model.named_parameters()),
                     title="MSE of a 2-3-1 MLP")
    text = svg.read_text()
    assert svg.suffix == ".svg" and "<svg" in text and "0.weight" in text
    nodes = re.findall(r"^  [nt]\d+ \[label=", to_dot(loss), flags=re.M)
    assert text.count('class="node"') == len(nodes) == 1 + 6 + 4  # output, 6 ops, 4 parameters
    from picture_checks import assert_picture, assert_pictures_differ

    png_small = draw_graph(loss, tmp_path / "small.png")
    bigger, _ = _mlp_loss(7)
    png_big = draw_graph(bigger * 2, tmp_path / "big.png")
    small_pixels = assert_picture(png_small, min_size=(100, 200))
    big_pixels = assert_picture(png_big, min_size=(100, 200))
    if small_pixels.shape == big_pixels.shape:  # a bigger graph is usually a bigger image
        assert_pictures_differ(small_pixels, big_pixels)
