"""mkdocs hooks for the course website: the pages and pictures that are generated, not written.

    nox -s docs                      # build into build/site and test it in headless Chromium
    mkdocs build -f mkdocs.yml       # the same build, by hand (needs tinytorch-core[plot],
                                     # tinytorch-course, tinytorch-perf and Graphviz's dot)

Generated at every build, from the installed library, so they cannot drift from the code:
- `index.md`: the home page, the four phases in teaching order from the course syllabus
  (tinytorch.course.syllabus), each with its modules and its milestone;
- `milestones/NN_name.md`: one page per milestone (its docstring, its command, its picture
  report); milestone 01 is run here (seconds); the others' reports are taken from
  $TINYTORCH_REPORTS/<milestone>/report.png when present (`nox -s milestones` writes them
  there), else the page says how to produce it;
- `figures/06_autograd_graph.svg` (module 06): the autograd graph of a small MLP's loss;
- `figures/10_training_history.png` (module 10): a Trainer history, train vs validation;
- `figures/17_layer_times.png` (module 17): a profiled training step, layer by layer.

The module pages stay as written (they are also the notebooks' prose, where a generated
picture would not resolve): each picture is inserted into its page's HTML build only,
before the page's validation question. The site shows the pages as students see them:
the "Instructor answer" sections are left out, as in the released notebooks.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

REPORTS_ENV = "TINYTORCH_REPORTS"
MILESTONE_MODULES = {
    "01": ("01_xor", "tinytorch.core.milestones.xor"),
    "03": ("03_cifar10", "tinytorch.vision.milestones.cifar10"),
    "04": ("04_tinygpt", "tinytorch.language.milestones.tinygpt"),
    "05": ("05_optimized_inference", "tinytorch.mlops.milestones.optimized_inference"),
}


PAGE_FIGURES = {
    "modules/06_autograd.md": (
        "06_autograd_graph.svg", "The autograd graph behind the loss of a 2-4-1 MLP: op nodes, "
        "shapes on the edges, parameters in blue",
        'The graph `loss.backward()` walks, drawn by `tinytorch.core.graph.draw_graph(loss, '
        '"graph.svg", params=dict(model.named_parameters()))` (SVG through Graphviz; a `.dot` '
        "text file without it)."),
    "modules/10_training.md": (
        "10_training_history.png", "Trainer history: train and validation loss and accuracy "
        "per epoch",
        '`trainer.history.plot("history.png")` after `Trainer.fit` (and `history.to_csv(...)`, '
        "`history.to_json(...)`)."),
    "modules/17_benchmarking.md": (
        "17_layer_times.png", "Forward and backward time of each layer of a training step",
        '`ModelProfiler(model).profile(x, loss_fn=...).plot("layers.png")`, or '
        "`tito performance profile --model mlp --output layers.png`."),
}


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.startswith("modules/"):
        markdown = student_view(markdown)
    figure = PAGE_FIGURES.get(page.file.src_uri)
    if figure is None:
        return markdown
    name, alt, caption = figure
    block = f"![{alt}](../figures/{name})\n\n_{caption}_\n\n"
    marker = "## Validation question"
    if marker in markdown:
        return markdown.replace(marker, block + marker, 1)
    return markdown + "\n" + block


def student_view(markdown: str) -> str:
    """The page as students see it: the instructor's answers are left out of the site, as
    they are left out of the released notebooks (tinytorch.course.notebooks.student_prose)."""
    from tinytorch.course.notebooks import student_prose

    return student_prose(markdown)


def on_files(files, config):
    with tempfile.TemporaryDirectory(prefix="tinytorch-site-") as work:
        for uri, content in generated(Path(work)):
            files.append(File.generated(config, uri, content=content))
    return files


def generated(work: Path):
    """(uri, content) of every generated page and picture."""
    from tinytorch.course.syllabus import MODULES, PHASES

    yield "index.md", home_page(PHASES, MODULES)
    for phase in PHASES:
        stem, _ = MILESTONE_MODULES[phase.milestone]
        picture = milestone_report(phase.milestone, work)
        if picture is not None:
            yield f"milestones/{stem}-report.png", picture
        yield f"milestones/{stem}.md", milestone_page(phase, picture is not None)
    yield "figures/06_autograd_graph.svg", autograd_graph_svg(work)
    yield "figures/10_training_history.png", training_history_png(work)
    yield "figures/17_layer_times.png", layer_times_png(work)


# ---------------------------------------------------------------- pages


def home_page(phases, modules) -> str:
    by_number = {m.number: m for m in modules}
    lines = ["# TinyTorch", "",
             "A deep-learning framework built from scratch on numpy, one module at a time, "
             "for people who want to understand why PyTorch works the way it does. Eighteen "
             "modules in four phases; each phase ends with a milestone that proves the "
             "library works end to end.", "",
             "Start with the [student quickstart](STUDENT_GUIDE.md); instructors read the "
             "[instructor guide](INSTRUCTOR_GUIDE.md).", ""]
    for phase in phases:
        stem, _ = MILESTONE_MODULES[phase.milestone]
        lines += [f"## Phase {phase.number}: {phase.name}", "",
                  "| module | title | package |", "|---|---|---|"]
        for number in phase.modules:
            module = by_number[number]
            lines.append(f"| [{number:02d}](modules/{number:02d}_{module.slug}.md) | "
                         f"{module.title} | `{module.package}` |")
        lines += ["", f"**Milestone {phase.milestone}:** [{phase.milestone_name}]"
                      f"(milestones/{stem}.md). *{phase.question}*", ""]
    return "\n".join(lines) + "\n"


def milestone_page(phase, has_picture: bool) -> str:
    stem, module_name = MILESTONE_MODULES[phase.milestone]
    doc = _milestone_docstring(module_name)
    lines = [f"# Milestone {phase.milestone}: {phase.milestone_name}", "",
             f"Ends phase {phase.number} ({phase.name}). Run it with "
             f"`tito milestones run {phase.milestone}` (`--quick` for a smoke run).", ""]
    if has_picture:
        lines += ["## Report", "",
                  f"![Milestone {phase.milestone} report]({stem}-report.png)", "",
                  "_The picture this milestone draws at the end of its run (report.png and "
                  "report.svg next to its saved model); its title says which data and mode "
                  "it came from._", ""]
    else:
        lines += ["## Report", "", "Each run draws its picture report (report.png and "
                  "report.svg next to the saved model). This build had none: run the "
                  f"milestone with `{REPORTS_ENV}=DIR` set and build again.", ""]
    lines += ["## What it proves", "", "```text", doc.strip(), "```", ""]
    return "\n".join(lines)


def _milestone_docstring(module_name: str) -> str:
    import importlib.util

    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        return f"({module_name} is not installed in this build.)"
    import ast

    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    return ast.get_docstring(tree) or ""


# ---------------------------------------------------------------- pictures


def milestone_report(number: str, work: Path) -> bytes | None:
    stem, _ = MILESTONE_MODULES[number]
    if number == "01":  # XOR trains in seconds: draw it fresh for every build
        from tinytorch.core.milestones import xor

        with contextlib.redirect_stdout(io.StringIO()):
            if xor.main(["--output", str(work / stem)]) != 0:
                raise RuntimeError("website: milestone 01 failed while drawing its report")
        return (work / stem / "report.png").read_bytes()
    collected = os.environ.get(REPORTS_ENV)
    path = Path(collected) / stem / "report.png" if collected else None
    return path.read_bytes() if path is not None and path.is_file() else None


def autograd_graph_svg(work: Path) -> bytes:
    import tinytorch.core as tt
    from tinytorch.core import nn
    from tinytorch.core.graph import draw_graph

    if shutil.which("dot") is None:
        raise RuntimeError("website: module 06's autograd graph needs Graphviz's `dot` "
                           "(Debian: apt-get install graphviz)")
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    x, y = tt.randn(8, 2), tt.randn(8, 1)
    loss = nn.functional.mse_loss(model(x), y)
    path = draw_graph(loss, work / "graph.svg", params=dict(model.named_parameters()),
                      title="loss = mse_loss(Linear(ReLU(Linear(x))), y), batch of 8")
    return path.read_bytes()


def training_history_png(work: Path) -> bytes:
    import numpy as np

    import tinytorch.core as tt
    from tinytorch.core import nn, optim
    from tinytorch.core.data import DataLoader, TensorDataset
    from tinytorch.core.training import Trainer

    tt.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 2)).astype(np.float32)
    y = ((x ** 2).sum(axis=1) > 1.0).astype(np.int64)  # inside vs outside a circle
    train = TensorDataset(tt.tensor(x[:400]), tt.tensor(y[:400]))
    val = TensorDataset(tt.tensor(x[400:]), tt.tensor(y[400:]))
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.01), nn.CrossEntropyLoss(),
                      progress=False)
    trainer.fit(DataLoader(train, batch_size=32, shuffle=True), DataLoader(val, batch_size=200),
                epochs=20)
    trainer.plot_history(work / "history.png",
                         title="Trainer.history of a 2-32-2 MLP: inside or outside a circle")
    return (work / "history.png").read_bytes()


def layer_times_png(work: Path) -> bytes:
    import tinytorch.core as tt
    import tinytorch.core.nn.functional as F
    from tinytorch.core import nn
    from tinytorch.perf import ModelProfiler

    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    x, y = tt.randn(64, 784), tt.randint(0, 10, (64,))
    profile = ModelProfiler(model, name="MLP 784-512-512-10, batch 64", warmup=1,
                            repeats=3).profile(x, loss_fn=lambda out: F.cross_entropy(out, y))
    profile.plot(work / "layers.png")
    return (work / "layers.png").read_bytes()

