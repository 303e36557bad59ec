"""Build hook: put the repository's curriculum/modules/*.md into the wheel as
tinytorch/course/pages/, when building from the repository (from an sdist they are
already in src/tinytorch/course/pages/ and nothing needs adding)."""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CoursePagesHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        pages = Path(self.root, "..", "..", "curriculum", "modules").resolve()
        shipped = Path(self.root, "src", "tinytorch", "course", "pages")
        if pages.is_dir():
            build_data["force_include"][str(pages)] = "tinytorch/course/pages"
        elif not shipped.is_dir():
            raise FileNotFoundError(f"tinytorch-course: no module pages at {pages} (the "
                                    f"repository) or {shipped} (an sdist)")
