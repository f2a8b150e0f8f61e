"""Packaging beyond pyproject.toml: the sample data in `data/` (the source, edited there)
ships inside the package as `feedsvc/sample/`, so `feedsvc load-sample` works from a wheel."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SAMPLE_SOURCE = Path(__file__).resolve().parent / "data"


class BuildWithSample(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "feedsvc" / "sample"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(SAMPLE_SOURCE.glob("*.json")):
            shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildWithSample})
