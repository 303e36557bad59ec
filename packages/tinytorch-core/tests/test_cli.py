"""The tito CLI, driven in-process through main([...]) plus one real subprocess run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinytorch.core
from tinytorch.core.cli import info, main, plugins


def run_tito(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- top level
def test_version(capsys):
    code, out, _ = run_tito(capsys, "--version")
    assert code == 0
    assert tinytorch.core.__version__ in out


def test_no_command_prints_help_and_fails(capsys):
    code, out, _ = run_tito(capsys)
    assert code == 2
    assert "usage: tito" in out


def test_unknown_option_is_a_usage_error(capsys):
    code, _, err = run_tito(capsys, "info", "--bogus")
    assert code == 2
    assert "unrecognized arguments: --bogus" in err


def test_unknown_command_is_a_usage_error(capsys):
    code, _, err = run_tito(capsys, "no-such-command")
    assert code == 2
    assert "invalid choice" in err


# ---------------------------------------------------------------- info
def test_info_json(capsys):
    code, out, _ = run_tito(capsys, "info", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["numpy"]["version"] == np.__version__
    assert report["tinytorch"]["core_version"] == tinytorch.core.__version__
    assert report["python"]["executable"] == sys.executable
    assert report["cpu"]["count"] == os.cpu_count()
    blas = report["numpy"]["blas"]
    assert isinstance(blas["threads"], int) and blas["threads"] >= 1
    expected_blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    assert blas["name"] == expected_blas


def test_info_table(capsys):
    code, out, _ = run_tito(capsys, "info")
    assert code == 0
    for row in ("tinytorch.core", "python", "numpy", "BLAS threads", "BLAS kernel",
                np.__version__):
        assert row in out


def test_blas_threads_follow_the_environment(monkeypatch):
    monkeypatch.setattr(info, "_threads_from_threadpoolctl", lambda: None)
    for var in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert info._blas_threads("scipy-openblas", "MAX_THREADS=64") == (
        info.usable_cpu_count(), "default: one per usable CPU, no thread variable set")
    assert info._blas_threads("openblas", "MAX_THREADS=1")[0] == 1  # build-time cap
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert info._blas_threads("mkl", "") == (3, "environment variable OMP_NUM_THREADS")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "5")  # OpenBLAS reads its own variable first
    assert info._blas_threads("scipy-openblas", "") == (
        5, "environment variable OPENBLAS_NUM_THREADS")


def test_blas_kernel_is_what_openblas_reports():
    blas = info.blas_info()
    if "openblas" not in blas["name"].lower():
        assert blas["kernel"] == "unknown"
        return
    pinned = os.environ.get("OPENBLAS_CORETYPE", "").strip()
    assert blas["kernel"] not in ("", "unknown")
    if pinned:  # OpenBLAS was loaded with this variable: it runs the kernel named there
        assert blas["kernel"].lower() == pinned.lower()
        assert blas["kernel_source"] == f"pinned by OPENBLAS_CORETYPE={pinned}"
    else:
        assert blas["kernel_source"] == "chosen by OpenBLAS for this CPU"


class FakeDistribution:
    def __init__(self, name, version):
        self.metadata = {"Name": name}
        self.version = version


def test_info_lists_only_tinytorch_distributions(monkeypatch):
    fakes = [FakeDistribution("tinytorch_core", "0.1.0"), FakeDistribution("numpy", "2.0"),
             FakeDistribution("tinytorch-vision", "0.2.0"), FakeDistribution("tinytorchx", "9"),
             FakeDistribution("TinyTorch-Core", "0.1.0")]  # the same one twice on sys.path
    monkeypatch.setattr(info.metadata, "distributions", lambda: fakes)
    assert info.tinytorch_distributions() == [
        {"name": "tinytorch-core", "version": "0.1.0"},
        {"name": "tinytorch-vision", "version": "0.2.0"},
    ]


# ---------------------------------------------------------------- milestones
def make_repo(root: Path, scripts: dict[str, str]) -> Path:
    folder = root / "milestones"
    folder.mkdir(parents=True)
    (folder / "run_all.py").write_text('"""runner"""\n')
    for name, body in scripts.items():
        (folder / name).write_text(textwrap.dedent(body))
    return root


RECORDER = '''\
    """Records its arguments.

    More text that list must not show.
    """
    import json, sys
    from pathlib import Path
    Path(__file__).with_suffix(".args").write_text(json.dumps(sys.argv[1:]))
    sys.exit(int(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else 0)
'''


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYTORCH_ROOT", raising=False)
    return make_repo(tmp_path / "repo", {
        "01_alpha.py": RECORDER,
        "02_beta.py": '"""Beta proves things."""\n',
        "03_alphabet.py": "x = 1\n",
        "10_broken.py": '"""unterminated\n',
        "helper.py": '"""not a milestone"""\n',
    })


def test_list(capsys, repo):
    code, out, _ = run_tito(capsys, "milestones", "list", "--root", str(repo))
    assert code == 0
    for text in ("01_alpha", "Records its arguments.", "02_beta", "Beta proves things.",
                 "03_alphabet", "10_broken", "docstring unreadable"):
        assert text in out
    assert "More text" not in out
    assert "helper" not in out


def test_list_without_root_shows_the_installed_milestones(capsys):
    code, out, _ = run_tito(capsys, "milestones", "list")
    assert code == 0
    assert "01_xor" in out and "tinytorch-core" in out  # core ships milestone 01


def test_list_json_names_module_and_distribution(capsys):
    code, out, _ = run_tito(capsys, "milestones", "list", "--json")
    rows = {row["stem"]: row for row in json.loads(out)}
    assert code == 0
    assert rows["01_xor"]["target"] == "tinytorch.core.milestones.xor"
    assert rows["01_xor"]["source"] == "tinytorch-core"
    assert rows["01_xor"]["summary"].startswith("XOR:")


def test_root_may_be_the_milestones_folder_itself(capsys, repo):
    code, out, _ = run_tito(capsys, "milestones", "list", "--root", str(repo / "milestones"))
    assert code == 0 and "01_alpha" in out


def test_bad_explicit_root_is_reported(capsys, tmp_path):
    code, _, err = run_tito(capsys, "milestones", "list", "--root", str(tmp_path))
    assert code == 2
    assert "--root" in err and "holds no milestone scripts" in err


def test_missing_root_folder_is_reported(capsys, tmp_path):
    code, _, err = run_tito(capsys, "milestones", "list", "--root", str(tmp_path / "nope"))
    assert code == 2 and "is not a folder of milestone scripts" in err


def test_run_installed_xor_without_a_checkout(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nowhere near a repository
    monkeypatch.setenv("TINYTORCH_CACHE", str(tmp_path / "cache"))  # its report goes there
    code, _, _ = run_tito(capsys, "milestones", "run", "xor", "--quick")
    assert code == 0
    assert (tmp_path / "cache" / "milestones" / "01_xor" / "report.png").is_file()


def test_run_all_goes_on_after_a_failure_and_summarises(capsys, tmp_path):
    make_repo(tmp_path / "r", {
        "01_ok.py": "import sys; sys.exit(0)\n",
        "02_nodata.py": "import sys; sys.exit(3)\n",
        "03_crash.py": "raise RuntimeError('boom')\n",
        "04_ok.py": "import sys; sys.exit(0)\n",
    })
    code, out, _ = run_tito(capsys, "milestones", "run", "all", "--root", str(tmp_path / "r"))
    assert code == 1
    for stem in ("01_ok", "02_nodata", "03_crash", "04_ok"):
        assert stem in out
    assert "no data (exit code 3)" in out and "failed (exit code 1)" in out
    assert "2 of 4 failed: 02_nodata, 03_crash" in out


def recorded_args(repo: Path) -> list[str]:
    return json.loads((repo / "milestones" / "01_alpha.args").read_text())


def test_run_forwards_quick_and_extra_args(capsys, repo):
    code, _, _ = run_tito(capsys, "milestones", "run", "01_alpha", "--quick", "--seed", "3",
                          "--root", str(repo))
    assert code == 0
    assert recorded_args(repo) == ["--quick", "--seed", "3"]


def test_run_returns_the_milestone_exit_code(capsys, repo):
    code, _, _ = run_tito(capsys, "milestones", "run", "--root", str(repo), "1", "--code", "7")
    assert code == 7
    assert recorded_args(repo) == ["--code", "7"]


@pytest.mark.parametrize("query", ["1", "01", "alpha", "01_alpha", "01_alpha.py", "ALPHA"])
def test_run_resolves_names(capsys, repo, query):
    code, _, _ = run_tito(capsys, "milestones", "run", query, "--root", str(repo))
    assert code == 0


def test_run_unknown_name_lists_known_ones(capsys, repo):
    code, _, err = run_tito(capsys, "milestones", "run", "gamma", "--root", str(repo))
    assert code == 2
    assert "no milestone matches 'gamma'" in err and "02_beta" in err


def test_run_requires_a_name(capsys, repo):
    code, _, err = run_tito(capsys, "milestones", "run", "--root", str(repo))
    assert code == 2 and "name" in err


def test_milestones_requires_an_action(capsys):
    code, _, err = run_tito(capsys, "milestones")
    assert code == 2 and "required" in err


# ---------------------------------------------------------------- plugins
class FakeEntryPoint:
    def __init__(self, name, target):
        self.name, self.value = name, f"fake.module:{name}"
        self._target = target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def register_hello(subparsers):
    parser = subparsers.add_parser("hello", help="say hello")
    parser.add_argument("--times", type=int, default=1)
    parser.set_defaults(func=lambda args: print("hello " * args.times) or 3)


def register_half_then_fail(subparsers):
    subparsers.add_parser("half", help="half-built")
    raise RuntimeError("plugin bug")


def register_clash(subparsers):
    subparsers.add_parser("info")


@pytest.fixture
def fake_plugins(monkeypatch):
    def install(*entry_points):
        monkeypatch.setattr(plugins, "discover_plugins", lambda: list(entry_points))
    return install


def test_plugin_adds_a_command(capsys, fake_plugins):
    fake_plugins(FakeEntryPoint("hello", register_hello))
    code, out, err = run_tito(capsys, "hello", "--times", "2")
    assert code == 3
    assert "hello hello" in out
    assert err == ""


def test_plugin_appears_in_help(capsys, fake_plugins):
    fake_plugins(FakeEntryPoint("hello", register_hello))
    code, out, _ = run_tito(capsys, "--help")
    assert code == 0 and "say hello" in out


@pytest.mark.parametrize("broken", [
    FakeEntryPoint("missing", ImportError("No module named 'tinytorch.nothing'")),
    FakeEntryPoint("half", register_half_then_fail),
    FakeEntryPoint("clash", register_clash),
    FakeEntryPoint("notcallable", 42),
])
def test_broken_plugin_warns_and_tito_keeps_working(capsys, fake_plugins, broken):
    fake_plugins(broken, FakeEntryPoint("hello", register_hello))
    code, out, err = run_tito(capsys, "hello")
    assert code == 3 and "hello" in out
    flat = " ".join(err.split())
    assert f"skipping plugin '{broken.name}'" in flat
    code, out, _ = run_tito(capsys, "info", "--json")
    assert code == 0 and json.loads(out)["numpy"]["version"] == np.__version__


def test_failed_plugin_leaves_no_half_built_command(capsys, fake_plugins):
    fake_plugins(FakeEntryPoint("half", register_half_then_fail))
    code, _, err = run_tito(capsys, "half")
    assert code == 2 and "invalid choice" in err
    code, out, _ = run_tito(capsys, "--help")
    assert "half-built" not in out


def test_real_discovery_returns_entry_points():
    found = plugins.discover_plugins()
    assert all(ep.group == plugins.ENTRY_POINT_GROUP for ep in found)


# ---------------------------------------------------------------- as a real process
def test_python_dash_m_runs_tito():
    src = str(Path(tinytorch.core.__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "tinytorch.core.cli", "info", "--json"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tinytorch"]["core_version"] == tinytorch.core.__version__
