"""One nox session per package, plus lint, milestones, tests (the README's test command),
build and bench. Each package session installs that package and its declared dependencies
only (non-editable), so an undeclared import of a later phase fails its tests.

    nox -s tests              # every package session + lint + milestones in quick mode + docs
    nox -s milestones         # the full milestones (combined install)
    nox -s milestones -- --quick
    nox -s docs               # the course website, built and tested in headless Chromium
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES = ROOT / "packages"
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100", "torch==2.13.0"]
BUILD = ROOT / "build"
REPORTS = BUILD / "milestone-reports"  # every milestone's report.png, collected for the site
SITE = BUILD / "site"

# package directory -> the packages (in dependency order) it must be installed with
PACKAGE_SESSIONS = {
    "core": ["tinytorch-core"],
    "language": ["tinytorch-core", "tinytorch-language"],
    "vision": ["tinytorch-core", "tinytorch-vision"],
    "mlops": ["tinytorch-core", "tinytorch-mlops"],
    "perf": ["tinytorch-core", "tinytorch-perf"],
    # perf with its `models` extra (vision, language): the CNN and TinyGPT tests run here
    "perf-models": ["tinytorch-core", "tinytorch-vision", "tinytorch-language", "tinytorch-perf"],
    # the course grades modules of every phase whose package is installed
    "course": ["tinytorch-core", "tinytorch-vision", "tinytorch-language", "tinytorch-perf",
               "tinytorch-mlops", "tinytorch-course"],
}

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


def _package_paths(names: list[str], extras: dict[str, str] | None = None) -> list[str]:
    """Local package paths for one pip call, each with its extras (`name -> "a,b"`) if any."""
    extras = extras or {}
    return [str(PACKAGES / n) + (f"[{extras[n]}]" if n in extras else "") for n in names]


def _install_packages(session: nox.Session, names: list[str], test_extra: bool = False) -> None:
    """One pip call, so local dependencies resolve; `test_extra` adds the last one's [test]."""
    # test-only dependencies a package declares (e.g. sentencepiece) live in its [test] extra
    session.install(*_package_paths(names, {names[-1]: "test"} if test_extra else None))


def _all_packages() -> list[str]:
    order = []
    for names in PACKAGE_SESSIONS.values():
        for name in names:
            if name not in order:
                order.append(name)
    return order


def _package_session(short: str, names: list[str]):
    @nox.session(name=short)
    def run(session: nox.Session) -> None:
        session.install(*TEST_DEPS)
        _install_packages(session, names, test_extra=True)
        tests = PACKAGES / names[-1] / "tests"
        # run from the tests dir so the installed package, not the source tree, is imported
        session.chdir(tests)
        session.run("pytest", str(tests), "-p", "no:cacheprovider", *session.posargs)

    run.__doc__ = f"Install {names[-1]} with {names[:-1] or 'nothing else'}; run its tests."
    return run


for _short, _names in PACKAGE_SESSIONS.items():
    globals()[f"session_{_short}"] = _package_session(_short, _names)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, plus the import contracts of DESIGN.md (import-linter)."""
    session.install("ruff>=0.5", "import-linter>=2.0")
    for name in _all_packages():
        session.install("--no-deps", "-e", str(PACKAGES / name))
    session.install("numpy>=2.1", "rich>=13")
    session.run("ruff", "check", ".")
    session.run("lint-imports")


@nox.session
def milestones(session: nox.Session) -> None:
    """Every milestone against the combined install; `-- --quick` for a smoke run."""
    # milestone 05 exports to ONNX and checks the graph in onnxruntime: mlops' `onnx` extra;
    # every milestone draws its picture report with matplotlib: core's `plot` extra
    session.install(*_package_paths(_all_packages(), extras={"tinytorch-mlops": "onnx",
                                                             "tinytorch-core": "plot"}))
    # the milestones ship with their packages (entry points): no checkout paths needed;
    # their reports are also collected in build/milestone-reports for the website
    session.run("tito", "milestones", "run", "all", *session.posargs,
                env={"TINYTORCH_REPORTS": str(REPORTS)})


@nox.session
def tests(session: nox.Session) -> None:
    """The full test suite: every package session, lint, milestones in quick mode."""
    for short in PACKAGE_SESSIONS:
        session.notify(short)
    session.notify("mlops-full")
    session.notify("compat")
    session.notify("publish")
    session.notify("lint")
    session.notify("milestones", ["--quick"])
    session.notify("docs")  # after the milestones: the site shows their reports


@nox.session
def docs(session: nox.Session) -> None:
    """The course website: mkdocs (material theme) builds curriculum/ into build/site, with
    the pages and pictures website/hooks.py generates; then website/tests opens every page
    in headless Chromium (Debian: chromium, chromium-driver; Graphviz draws module 06's
    graph). `-- --no-test` only builds."""
    session.install("mkdocs>=1.6", "mkdocs-material>=9.5", "selenium>=4.20", "pytest>=8")
    session.install(*_package_paths(_all_packages(), extras={"tinytorch-core": "plot"}))
    env = {"NO_MKDOCS_2_WARNING": "1"}
    if REPORTS.is_dir():
        env["TINYTORCH_REPORTS"] = str(REPORTS)
    session.run("mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
                "--site-dir", str(SITE), env=env)
    if "--no-test" in session.posargs:
        return
    session.run("pytest", str(ROOT / "website" / "tests"), "--site", str(SITE), "-q",
                "-p", "no:cacheprovider",
                env={"TINYTORCH_REQUIRE_BROWSER": "1",
                     "TINYTORCH_TEST_OUTPUT": str(BUILD / "test-output")})
    session.log(f"site: {SITE}; screenshots: {BUILD / 'test-output' / 'site'}")


@nox.session
def bench(session: nox.Session) -> None:
    """Side-by-side speed: TinyTorch vs PyTorch CPU on the same work (benchmarks/)."""
    session.install("torch==2.13.0", "sentencepiece>=0.2")  # references, never imported by src
    session.install(*_package_paths(_all_packages(), extras={"tinytorch-mlops": "onnx"}))
    session.run("python", str(ROOT / "benchmarks" / "run_all.py"), *session.posargs)


RELEASE_TOOLS = ["hatch>=1.12", "packaging>=23", "pypiserver>=2.1", "passlib>=1.7",
                 "tomli>=2; python_version < '3.11'"]


@nox.session
def build(session: nox.Session) -> None:
    """Wheel and sdist of every package into dist/, with `hatch build`."""
    session.install(*RELEASE_TOOLS)
    session.run("python", "-m", "tools.release", "build", "--dist", str(ROOT / "dist"),
                "--repo", str(ROOT))


@nox.session
def bump(session: nox.Session) -> None:
    """`nox -s bump -- PACKAGE PART`: `hatch version PART` in one package, then the sibling
    range check (fails if a sibling's range now excludes the new version)."""
    if len(session.posargs) != 2:
        session.error("usage: nox -s bump -- PACKAGE PART   (e.g. tinytorch-core minor)")
    session.install(*RELEASE_TOOLS)
    session.run("python", "-m", "tools.release", "bump", *session.posargs, "--repo", str(ROOT))


@nox.session
def compat(session: nox.Session) -> None:
    """PyTorch programs (compat/programs) run with torch and with only their imports switched
    to TinyTorch; their printed losses must agree to float32 rounding."""
    session.install(*TEST_DEPS)
    session.install(*_package_paths(["tinytorch-core", "tinytorch-vision", "tinytorch-language"]))
    session.chdir(ROOT / "compat")
    session.run("pytest", str(ROOT / "compat"), "-p", "no:cacheprovider", *session.posargs)


@nox.session(name="mlops-full")
def mlops_full(session: nox.Session) -> None:
    """tinytorch-mlops with vision and language installed: its CNN and TinyGPT tests, which
    skip in the `mlops` session, must run here (TINYTORCH_REQUIRE_EXTRAS=1 fails any skip)."""
    session.install(*TEST_DEPS)
    _install_packages(session, ["tinytorch-core", "tinytorch-vision", "tinytorch-language",
                                "tinytorch-mlops"], test_extra=True)
    tests = PACKAGES / "tinytorch-mlops" / "tests"
    session.chdir(tests)
    session.run("pytest", str(tests), "-p", "no:cacheprovider", *session.posargs,
                env={"TINYTORCH_REQUIRE_EXTRAS": "1"})


@nox.session
def publish(session: nox.Session) -> None:
    """Build every package, upload to an index and install tinytorch-language from it alone.

    Default: a local pypiserver on 127.0.0.1 with htpasswd authentication and no fallback
    (a rehearsal, part of `nox -s tests`). A real index:
    `nox -s publish -- --index-url URL --username USER` with $TINYTORCH_INDEX_PASSWORD.
    The release tools are repository tooling (tools/release), tested here first.
    """
    session.install(*RELEASE_TOOLS, "pytest>=8")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                str(ROOT / "tools" / "release" / "tests"))
    dist = Path(session.create_tmp()) / "dist"
    session.run("python", "-m", "tools.release", "build", "--dist", str(dist),
                "--repo", str(ROOT))
    session.run("python", "-m", "tools.release", "publish", "--dist", str(dist),
                "--repo", str(ROOT), *session.posargs)
