"""Command line of the release tools (used by `nox -s build`, `bump` and `publish`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .ranges import check_sibling_ranges


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.release")
    commands = parser.add_subparsers(dest="command", required=True)
    ranges = commands.add_parser("check-ranges", help="every sibling range admits the sibling")
    ranges.add_argument("--repo", default=".", help="repository root (holds packages/)")
    ranges.add_argument("--allow-unbounded", action="store_true",
                        help="accept sibling requirements without a version range")
    bump_parser = commands.add_parser("bump", help="hatch version PART in one package")
    bump_parser.add_argument("package", help="e.g. tinytorch-core")
    bump_parser.add_argument("part", help="major, minor, micro, rc, ... or a version")
    bump_parser.add_argument("--repo", default=".")
    build_parser = commands.add_parser("build", help="hatch build every package into --dist")
    build_parser.add_argument("--dist", required=True)
    build_parser.add_argument("--repo", default=".")
    pub = commands.add_parser("publish", help="upload dist/ and install from the index")
    pub.add_argument("--dist", required=True, help="folder with the wheels and sdists")
    pub.add_argument("--repo", default=".")
    pub.add_argument("--index-url", help="upload here instead of a local pypiserver")
    pub.add_argument("--username")
    pub.add_argument("--password-env", default="TINYTORCH_INDEX_PASSWORD",
                     help="environment variable holding the password (never a CLI argument)")
    pub.add_argument("--verify", default="tinytorch-language",
                     help="package a fresh venv installs from the index ('' to skip)")
    pub.add_argument("--workdir", help="keep the server log, wheelhouse and venv here")
    args = parser.parse_args(argv)

    if args.command == "check-ranges":
        problems = check_sibling_ranges(Path(args.repo), require_range=not args.allow_unbounded)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(problems)} sibling range problem(s)")
        return 1 if problems else 0

    from .build import build_all, bump
    from .publish import PublishError, publish
    try:
        if args.command == "bump":
            problems = bump(Path(args.repo), args.package, args.part)
            for problem in problems:
                print(f"error: {problem} (widen that range in the same commit)",
                      file=sys.stderr)
            return 1 if problems else 0
        if args.command == "build":
            build_all(Path(args.repo), Path(args.dist))
            return 0
        report = publish(Path(args.dist), Path(args.repo), args.verify or None, args.index_url,
                         args.username, os.environ.get(args.password_env),
                         Path(args.workdir) if args.workdir else None)
    except PublishError as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
