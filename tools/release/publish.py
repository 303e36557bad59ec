"""Publish the packages to an index and prove that a fresh environment installs from it.

    python -m tools.release publish --dist dist/ --repo .
        # default: a local pypiserver on 127.0.0.1 with htpasswd authentication, no fallback
    python -m tools.release publish --dist dist/ --index-url https://host/ \
        --username USER --password-env INDEX_PASSWORD

The default flow, step by step:
1. refuse to publish if a sibling range excludes a sibling's in-repo version (ranges.py);
2. start `pypiserver` on a free port of 127.0.0.1 with a throw-away htpasswd user, every
   action (list, download, upload) authenticated, and `--disable-fallback`, so a package
   missing from it is a 404 instead of a redirect to the public index;
3. check those two properties: an anonymous request is refused, an unknown package is 404;
4. mirror the third-party wheels the verified package needs (numpy, rich and theirs) into
   the index with `pip download` from the configured package registry, as a company
   mirror would, so the install in step 6 needs nothing else;
5. upload every wheel and sdist with `hatch publish` (the wheels and sdists themselves
   were built by `hatch build`, see build.py);
6. create a fresh virtual environment and `pip install tinytorch-language` with the local
   index as the only index (`--index-url`, no extra index, PIP_* variables removed and
   PIP_CONFIG_FILE pointed at an empty file), then import tinytorch.language and check that
   tinytorch-core was pulled in from the local index, at its in-repo version.

What it teaches: "it installs on my machine" hides everything a clean environment would
expose: an undeclared dependency, a sibling range that excludes the sibling, a file
missing from the wheel. The only honest test of a release is installing it the way a user
will, from the index, into nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import venv
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from packaging.requirements import Requirement

from .ranges import check_sibling_ranges, normalize, read_packages

DIST_SUFFIXES = (".whl", ".tar.gz")


class PublishError(RuntimeError):
    """A step of the release flow failed; the message names the step and the evidence."""


@dataclass(frozen=True)
class Index:
    url: str  # base URL, e.g. http://127.0.0.1:8123 (upload at /, simple index at /simple/)
    username: str
    password: str

    @property
    def upload_url(self) -> str:
        return self.url.rstrip("/") + "/"

    @property
    def simple_url(self) -> str:
        """The simple-index URL with the credentials pip needs embedded."""
        parts = urlsplit(self.url)
        auth = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        return f"{parts.scheme}://{auth}{parts.netloc}{parts.path.rstrip('/')}/simple/"


def log(message: str) -> None:
    print(f"[publish] {message}", flush=True)


def run(command: list[str], step: str, env: dict | None = None, cwd: Path | None = None,
        timeout: float = 900) -> str:
    """Run a command; raise PublishError with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise PublishError(f"{step} failed (exit code {result.returncode}): "
                           f"{' '.join(command[:4])} ...\n{result.stdout[-3000:]}\n"
                           f"{result.stderr[-3000:]}")
    return result.stdout + result.stderr


# ---------------------------------------------------------------- the local index
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, path: str, auth: tuple[str, str] | None = None) -> int:
    """Status of GET url+path, following no redirect (a redirect to the public index would
    itself be the failure we look for)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    try:
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@contextmanager
def local_index(workdir: Path, startup_timeout: float = 60.0) -> Iterator[Index]:
    """pypiserver on 127.0.0.1:<free port>, htpasswd auth on every action, no fallback."""
    from passlib.apache import HtpasswdFile  # pypiserver checks htpasswd files with passlib

    storage = workdir / "index-packages"
    storage.mkdir(parents=True, exist_ok=True)
    username, password = "tinytorch-release", secrets.token_urlsafe(18)
    htpasswd = HtpasswdFile(str(workdir / "htpasswd"), new=True)
    htpasswd.set_password(username, password)
    htpasswd.save()
    port = free_port()
    command = [sys.executable, "-m", "pypiserver", "run", "--host", "127.0.0.1", "--port",
               str(port), "--authenticate", "update,download,list", "--passwords",
               str(workdir / "htpasswd"), "--disable-fallback", "--server", "wsgiref",
               str(storage)]
    server_log = open(workdir / "pypiserver.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=server_log, stderr=subprocess.STDOUT)
    index = Index(f"http://127.0.0.1:{port}", username, password)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise PublishError(f"pypiserver exited with code {process.returncode}; see "
                                   f"{workdir / 'pypiserver.log'}")
            try:
                if http_status(index.url, "/health") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise PublishError(f"pypiserver did not answer on {index.url} within "
                                   f"{startup_timeout} s")
            time.sleep(0.2)
        log(f"local index on {index.url} (user {username}, fallback disabled)")
        yield index
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        server_log.close()


def check_index_security(index: Index) -> None:
    """Anonymous access is refused; an unknown package is 404, never a redirect elsewhere."""
    anonymous = http_status(index.url, "/simple/")
    if anonymous not in (401, 403):
        raise PublishError(f"the index answered {anonymous} to an anonymous request; "
                           "expected 401/403 (authentication is not enforced)")
    unknown = http_status(index.url, "/simple/this-package-does-not-exist-tinytorch/",
                          auth=(index.username, index.password))
    if unknown != 404:
        raise PublishError(f"the index answered {unknown} for an unknown package; expected "
                           "404 (a 3xx means it falls back to another index)")
    log("index refuses anonymous requests (401) and has no fallback (404 for unknown names)")


# ---------------------------------------------------------------- steps
def distributions(dist_dir: Path) -> list[Path]:
    files = sorted(p for p in Path(dist_dir).iterdir() if p.name.endswith(DIST_SUFFIXES))
    if not files:
        raise PublishError(f"no wheels or sdists in {dist_dir}; run `nox -s build` first "
                           "(hatch build)")
    return files


def dependency_closure(repo: Path, package: str) -> tuple[list[str], list[str]]:
    """(siblings, third-party requirement strings) that installing `package` pulls in."""
    packages = read_packages(repo)
    siblings, external, todo = [], [], [normalize(package)]
    while todo:
        name = todo.pop()
        if name in siblings:
            continue
        siblings.append(name)
        for where, requirement in packages[name].requirements:
            if where != "dependencies" or (requirement.marker and
                                           not requirement.marker.evaluate()):
                continue
            if normalize(requirement.name) in packages:
                todo.append(normalize(requirement.name))
            else:
                external.append(str(Requirement(f"{requirement.name}{requirement.specifier}")))
    return siblings, sorted(set(external))


def mirror_dependencies(requirements: list[str], wheelhouse: Path) -> list[Path]:
    """Download wheels for the third-party requirements (and theirs) from the configured
    package registry, for this interpreter and platform."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    if requirements:
        run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
             "--only-binary=:all:", "--dest", str(wheelhouse), *requirements],
            "mirroring third-party wheels (pip download)")
    return sorted(wheelhouse.glob("*.whl"))


def hatch_publish_command(files: list[Path], index: Index, password: str) -> tuple[list, dict]:
    """`hatch publish` to `index`, non-interactive; the password travels in the environment
    (HATCH_INDEX_AUTH), never on the command line where `ps` would show it."""
    env = {**os.environ, "HATCH_INDEX_USER": index.username, "HATCH_INDEX_AUTH": password}
    return ["hatch", "publish", "--no-prompt", "--repo", index.upload_url,
            *map(str, files)], env


def upload(files: list[Path], index: Index) -> None:
    command, env = hatch_publish_command(files, index, index.password)
    run(command, "hatch publish", env=env)
    log(f"uploaded {len(files)} files to {index.upload_url} with hatch publish")


def check_upload_needs_credentials(file: Path, index: Index) -> None:
    command, env = hatch_publish_command([file], index, "wrong-password")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False,
                            timeout=120)
    if result.returncode == 0:
        raise PublishError("an upload with a wrong password was accepted")
    log("an upload with a wrong password is refused")


def isolated_pip_env() -> dict[str, str]:
    """The environment with every pip setting removed: no config file, no extra index, no
    find-links, no PYTHONPATH; only what the command line says counts."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONNOUSERSITE="1")
    return env


def verify_install(index: Index, package: str, module: str, expected: dict[str, str],
                   workdir: Path) -> dict:
    """Fresh venv; pip install `package` from `index` alone; import `module`; check that
    every expected distribution is installed at its expected version from that index."""
    target = workdir / "fresh-venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    python = target / ("Scripts" if os.name == "nt" else "bin") / "python"
    env = isolated_pip_env()
    output = run([str(python), "-m", "pip", "install", "--no-cache-dir", "--index-url",
                  index.simple_url, package], f"pip install {package} from the index alone",
                 env=env, cwd=workdir)
    host = urlsplit(index.url).netloc
    indexes = [line for line in output.splitlines() if line.startswith("Looking in indexes")]
    if len(indexes) != 1 or host not in indexes[0] or "," in indexes[0]:
        raise PublishError(f"pip did not use the local index alone: {indexes}")
    for name, version in expected.items():
        wheel = f"{name.replace('-', '_')}-{version}"
        if not any("Downloading" in line and wheel in line for line in output.splitlines()):
            raise PublishError(f"pip did not download {wheel} from {host}:\n{output[-2000:]}")
    probe = ("import importlib, importlib.metadata as m, json, sys\n"
             f"module = importlib.import_module({module!r})\n"
             f"names = {sorted(expected)!r}\n"
             "print(json.dumps({'file': module.__path__[0], "
             "'versions': {n: m.version(n) for n in names}}))")
    report = json.loads(run([str(python), "-c", probe], f"import {module}",
                                          env=env, cwd=workdir).strip().splitlines()[-1])
    if not report["file"].startswith(str(target)):
        raise PublishError(f"{module} was imported from {report['file']}, not from the fresh "
                           f"environment {target}")
    if report["versions"] != expected:
        raise PublishError(f"installed versions {report['versions']} differ from the "
                           f"repository's {expected}")
    report["milestones"] = installed_milestones(target, env, workdir)
    log(f"fresh venv: pip install {package} --index-url <local> pulled "
        f"{', '.join(f'{n} {v}' for n, v in report['versions'].items())}; "
        f"import {module} works")
    return report


def installed_milestones(venv_dir: Path, env: dict, workdir: Path) -> list[str]:
    """`tito milestones list --json` in the fresh environment, outside any checkout: the
    milestones ship with their packages, so the installed ones must be listed."""
    tito = venv_dir / ("Scripts" if os.name == "nt" else "bin") / "tito"
    rows = json.loads(run([str(tito), "milestones", "list", "--json"],
                          "tito milestones list", env=env, cwd=workdir))
    stems = [row["stem"] for row in rows]
    if "01_xor" not in stems:
        raise PublishError(f"tito milestones list in the fresh venv shows {stems}; expected "
                           "at least 01_xor from tinytorch-core")
    run([str(tito), "milestones", "run", "xor"], "tito milestones run xor", env=env,
        cwd=workdir)
    log(f"fresh venv: tito milestones list shows {', '.join(stems)}; "
        "tito milestones run xor passes")
    return stems


# ---------------------------------------------------------------- the whole flow
def publish(dist_dir: Path, repo: Path, verify_package: str | None = "tinytorch-language",
            index_url: str | None = None, username: str | None = None,
            password: str | None = None, workdir: Path | None = None) -> dict:
    repo, dist_dir = Path(repo), Path(dist_dir)
    problems = check_sibling_ranges(repo, require_range=False)
    if problems:
        raise PublishError("refusing to publish, sibling ranges exclude in-repo versions:\n"
                           + "\n".join(f"  {p}" for p in problems))
    for warning in check_sibling_ranges(repo, require_range=True):
        log(f"warning: {warning}")
    packages = read_packages(repo)
    if verify_package and normalize(verify_package) not in packages:
        log(f"{verify_package} is not in this repository (packages: {', '.join(packages)}); "
            "verifying tinytorch-core instead")
        verify_package = "tinytorch-core"
    files = distributions(dist_dir)
    with tempfile.TemporaryDirectory(prefix="tinytorch-publish-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        if index_url is None:
            with local_index(work) as index:
                return _publish_and_verify(files, index, repo, packages, verify_package, work,
                                           local=True)
        if not username or password is None:
            raise PublishError("--index-url needs --username and a password (--password-env)")
        return _publish_and_verify(files, Index(index_url.rstrip("/"), username, password),
                                   repo, packages, verify_package, work, local=False)


def _publish_and_verify(files, index, repo, packages, verify_package, work, local) -> dict:
    if local:
        check_index_security(index)
        check_upload_needs_credentials(files[0], index)
    siblings, external = dependency_closure(repo, verify_package) if verify_package \
        else ([], [])
    mirrored = mirror_dependencies(external, work / "wheelhouse") if local else []
    upload(files + mirrored, index)
    report = {"index": index.url, "uploaded": [p.name for p in files],
              "mirrored": [p.name for p in mirrored]}
    if verify_package:
        module = "tinytorch." + normalize(verify_package).split("-", 1)[1]
        expected = {name: str(packages[name].version) for name in siblings}
        report["verified"] = verify_install(index, verify_package, module, expected, work)
    return report
