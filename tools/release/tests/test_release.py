"""Independent versions: every sibling range admits the sibling's in-repo version; the range
checker itself on synthetic repositories with known problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.release import check_sibling_ranges, read_packages
from tools.release.build import bump
from tools.release.publish import (
    Index,
    PublishError,
    dependency_closure,
    hatch_publish_command,
    isolated_pip_env,
)

REPO = Path(__file__).resolve().parents[3]


def test_this_repository_has_consistent_sibling_ranges():
    if not (REPO / "packages" / "tinytorch-core" / "pyproject.toml").is_file():
        pytest.skip(f"not running inside the repository ({REPO})")
    packages = read_packages(REPO)
    assert "tinytorch-core" in packages and "tinytorch-mlops" in packages
    # every sibling requirement has a range (an unbounded one promises compatibility with
    # releases nobody has tested) and that range admits the sibling's in-repo version
    problems = check_sibling_ranges(REPO, require_range=True)
    assert not problems, "\n".join(map(str, problems))


def write_package(root: Path, name: str, version: str, deps: list[str], extras=None):
    folder = root / "packages" / name
    module = name.split("-", 1)[1]
    (folder / "src" / "tinytorch" / module).mkdir(parents=True)
    (folder / "src" / "tinytorch" / module / "__about__.py").write_text(
        f'__version__ = "{version}"\n')
    extras_toml = ""
    if extras:
        extras_toml = "\n[project.optional-dependencies]\n" + "".join(
            f"{k} = {v!r}\n".replace("'", '"') for k, v in extras.items())
    deps_toml = ", ".join(f'"{d}"' for d in deps)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\ndynamic = ["version"]\ndependencies = [{deps_toml}]\n'
        f"{extras_toml}\n[tool.hatch.version]\npath = \"src/tinytorch/{module}/__about__.py\"\n")


def test_checker_finds_excluding_and_missing_ranges(tmp_path):
    write_package(tmp_path, "tinytorch-core", "0.3.0", ["numpy>=2.1"])
    write_package(tmp_path, "tinytorch-vision", "0.1.4", ["tinytorch-core>=0.2,<0.3"])
    write_package(tmp_path, "tinytorch-language", "0.2.0", ["tinytorch_core"],
                  extras={"vision": ["tinytorch-vision>=0.1.0,<0.2"]})
    write_package(tmp_path, "tinytorch-mlops", "1.0.0rc1", ["tinytorch-core>=0.3.0,<0.4"],
                  extras={"language": ["tinytorch-language>=0.3"]})
    problems = {(p.package, p.sibling, p.reason.split(";")[0])
                for p in check_sibling_ranges(tmp_path)}
    assert problems == {
        ("tinytorch-vision", "tinytorch-core", "does not admit the sibling's version"),
        ("tinytorch-language", "tinytorch-core", "has no version range"),
        ("tinytorch-mlops", "tinytorch-language", "does not admit the sibling's version"),
    }
    lenient = check_sibling_ranges(tmp_path, require_range=False)
    assert {p.package for p in lenient} == {"tinytorch-vision", "tinytorch-mlops"}
    message = str(next(p for p in check_sibling_ranges(tmp_path)
                       if p.package == "tinytorch-language"))
    assert "tinytorch-core>=0.3.0,<0.4" in message and "0.3.0 in this repository" in message


def test_prerelease_versions_are_admitted_by_their_range(tmp_path):
    write_package(tmp_path, "tinytorch-core", "0.2.0rc1", [])
    write_package(tmp_path, "tinytorch-vision", "0.1.0", ["tinytorch-core>=0.2.0rc1,<0.3"])
    assert check_sibling_ranges(tmp_path) == []


def test_dependency_closure_follows_siblings_and_collects_third_party(tmp_path):
    write_package(tmp_path, "tinytorch-core", "0.1.0", ["numpy>=2.1", "rich>=13",
                                                        "tomli; python_version < '3'"])
    write_package(tmp_path, "tinytorch-language", "0.1.0", ["tinytorch-core>=0.1,<0.2",
                                                            "numpy>=2.1"],
                  extras={"test": ["torch"]})
    siblings, external = dependency_closure(tmp_path, "tinytorch-language")
    assert sorted(siblings) == ["tinytorch-core", "tinytorch-language"]
    assert external == ["numpy>=2.1", "rich>=13"]  # extras and false markers are not pulled


def test_index_urls_and_isolated_pip_environment(monkeypatch):
    index = Index("http://127.0.0.1:9999", "user", "p@ss/word")
    assert index.simple_url == "http://user:p%40ss%2Fword@127.0.0.1:9999/simple/"
    assert index.upload_url == "http://127.0.0.1:9999/"
    monkeypatch.setenv("PIP_FIND_LINKS", "/somewhere")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://elsewhere/simple")
    monkeypatch.setenv("PYTHONPATH", "/src")
    env = isolated_pip_env()
    assert not any(k.startswith("PIP_") and k not in ("PIP_CONFIG_FILE",
                                                      "PIP_DISABLE_PIP_VERSION_CHECK")
                   for k in env)
    assert env["PIP_CONFIG_FILE"] == __import__("os").devnull and "PYTHONPATH" not in env


def test_hatch_publish_keeps_the_password_off_the_command_line():
    index = Index("http://127.0.0.1:9999", "user", "secret")
    command, env = hatch_publish_command([Path("a.whl")], index, "secret")
    assert command[:2] == ["hatch", "publish"] and "secret" not in " ".join(command)
    assert env["HATCH_INDEX_AUTH"] == "secret" and env["HATCH_INDEX_USER"] == "user"
    assert "--repo" in command and "http://127.0.0.1:9999/" in command


def test_bump_uses_hatch_version_and_rechecks_sibling_ranges(tmp_path):
    write_package(tmp_path, "tinytorch-core", "0.1.0", ["numpy"])
    write_package(tmp_path, "tinytorch-vision", "0.1.0", ["tinytorch-core>=0.1.0,<0.2"])
    for name in ("tinytorch-core", "tinytorch-vision"):  # hatch needs a build backend
        pyproject = tmp_path / "packages" / name / "pyproject.toml"
        pyproject.write_text('[build-system]\nrequires = ["hatchling"]\n'
                             'build-backend = "hatchling.build"\n' + pyproject.read_text())
    assert bump(tmp_path, "tinytorch-core", "micro") == []  # 0.1.1 is still admitted
    about = tmp_path / "packages/tinytorch-core/src/tinytorch/core/__about__.py"
    assert '"0.1.1"' in about.read_text()
    problems = bump(tmp_path, "tinytorch-core", "minor")  # 0.2.0 is not
    assert len(problems) == 1 and "tinytorch-vision" in problems[0]
    with pytest.raises(PublishError, match="no package 'tinytorch-nope'"):
        bump(tmp_path, "tinytorch-nope", "minor")
