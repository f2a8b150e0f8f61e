"""The import direction of the package, read from the code.

Formats and models at the bottom, then the store, then publishing, then web,
worker and cli on top (docs/architecture.md). Each row says what a package may
not import; a violation fails with the file, the line and the import.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "feedsvc"

# package (a module or folder of feedsvc) -> modules it may not import (prefix match)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "formats": (
        "flask",
        "werkzeug",
        "sqlalchemy",
        "feedsvc.models",
        "feedsvc.db",
        "feedsvc.store",
        "feedsvc.web",
    ),
    "media": (
        "flask",
        "werkzeug",
        "sqlalchemy",
        "feedsvc.models",
        "feedsvc.db",
        "feedsvc.store",
        "feedsvc.publishing",
        "feedsvc.web",
        "feedsvc.worker",
        "feedsvc.cli",
    ),
    "models": ("flask", "feedsvc.formats", "feedsvc.store", "feedsvc.publishing", "feedsvc.web"),
    "text": ("flask", "sqlalchemy", "feedsvc.models", "feedsvc.store", "feedsvc.web"),
    "paths": ("flask", "sqlalchemy", "feedsvc.store", "feedsvc.web"),
    # Sending mail: the desk (web) and the worker share it, so it needs neither.
    "smtp": ("flask", "sqlalchemy", "feedsvc.models", "feedsvc.store", "feedsvc.web", "feedsvc.worker"),
    "store": ("flask", "werkzeug", "feedsvc.web", "feedsvc.publishing", "feedsvc.worker", "feedsvc.cli"),
    "publishing": ("flask", "werkzeug", "feedsvc.web", "feedsvc.worker", "feedsvc.cli"),
    "worker": ("flask", "feedsvc.web", "feedsvc.cli"),
    "web": ("feedsvc.cli", "feedsvc.worker"),
    "migrations": ("flask", "feedsvc.web", "feedsvc.store", "feedsvc.publishing"),
}


@dataclass(frozen=True)
class Import:
    source: Path
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.source.relative_to(PACKAGE.parent)}:{self.line} imports {self.module}"


def imports_of(source: Path) -> list[Import]:
    """Every module a file imports, at the top or inside functions, as absolute names."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found: list[Import] = []
    package_parts = source.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(Import(source, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package_parts[: len(package_parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append(Import(source, node.lineno, module))
            # `from feedsvc import web` imports feedsvc.web
            found.extend(Import(source, node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def files_of(package: str) -> list[Path]:
    folder = PACKAGE / package
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    return [PACKAGE / f"{package}.py"]


def violations(package: str) -> list[str]:
    banned = FORBIDDEN[package]
    return [
        str(found)
        for source in files_of(package)
        for found in imports_of(source)
        if any(found.module == name or found.module.startswith(f"{name}.") for name in banned)
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downwards(package: str) -> None:
    assert files_of(package), f"feedsvc/{package} is gone: update the table"
    assert violations(package) == [], f"feedsvc/{package} may not import {', '.join(FORBIDDEN[package])}"


def test_feedgen_is_imported_by_one_module_only() -> None:
    # Its sharp edges (prepended entries, clock-stamped dates) are worked around in one place.
    importers = {
        str(found.source.relative_to(PACKAGE))
        for source in PACKAGE.rglob("*.py")
        for found in imports_of(source)
        if found.module.split(".")[0] == "feedgen"
    }
    assert importers == {"formats/atom_rss.py"}


def test_pillow_and_pypdf_are_imported_by_the_media_package_only() -> None:
    # Decoders of hostile bytes: every upload passes through the same few modules.
    importers = {
        str(found.source.relative_to(PACKAGE))
        for source in PACKAGE.rglob("*.py")
        for found in imports_of(source)
        if found.module.split(".")[0] in ("PIL", "pypdf")
    }
    assert importers and all(path.startswith("media/") for path in importers), importers


def test_the_table_catches_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "feedsvc"
    (fake / "store").mkdir(parents=True)
    (fake / "store" / "bad.py").write_text("def f():\n    from flask import request\n", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert violations("store") == [
        "feedsvc/store/bad.py:2 imports flask",
        "feedsvc/store/bad.py:2 imports flask.request",
    ]
