"""The wheel: built from the tree, installed into a fresh virtualenv, it knows its version,
loads the sample data it carries and serves a request, away from the source tree."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from bench.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = (
    ".git",
    ".venv",
    "build",
    "dist",
    "instance",
    "*.egg-info",
    ".data",
    "results",
    "__pycache__",
    ".*_cache",
)


def virtualenv(path: Path) -> Path:
    """A new virtualenv without packages; its site-packages folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", path], check=True, timeout=120)
    (site,) = path.glob("lib/python*/site-packages")
    return site


def link_distribution(name: str, site: Path) -> None:
    """Makes the distribution `name` of this environment importable in `site`, by links."""
    distribution = importlib.metadata.distribution(name)
    tops = {Path(file).parts[0] for file in distribution.files or () if Path(file).parts[0] != ".."}
    for top in tops:
        (site / top).symlink_to(Path(str(distribution.locate_file(top))))


@pytest.mark.slow
def test_a_wheel_installs_loads_the_sample_and_serves(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves build/ behind in the tree it builds from.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*SKIPPED))
    # Built as pip's build isolation would, in an environment of setuptools alone, which must
    # satisfy [build-system] requires (--check-build-dependencies); its setuptools (and pip, to
    # run the build) are this environment's, linked rather than downloaded and installed anew.
    builder = tmp_path / "build-env"
    build_site = virtualenv(builder)
    for name in ("setuptools", "pip"):
        link_distribution(name, build_site)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [builder / "bin" / "python", "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
         "--no-build-isolation", "--check-build-dependencies", "-w", wheels, source],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    # An older setuptools here is named in pip's message: `pip install -e '.[dev]'` brings a newer one.
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("feedsvc-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "feedsvc/sample/catalog.json" in names and "feedsvc/sample/releases.json" in names
    # The publish form's editor is served from the package, never from a CDN.
    editor = {"feedsvc/static/js/editor.js"} | {
        f"feedsvc/static/vendor/trix/{name}"
        for name in ("trix.umd.min.js", "trix.css", "LICENSE", "README.md")
    }
    assert editor <= set(names), editor - set(names)
    assert any(name.endswith(".dist-info/licenses/LICENSE") or name.endswith("/LICENSE") for name in names)

    # A fresh virtualenv; its dependencies (pip too) are read from this one's site-packages
    # (offline, fast).
    venv = tmp_path / "venv"
    site = virtualenv(venv)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--disable-pip-version-check", wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    # Where `import feedsvc` finds the package, without importing it: the commands below do.
    where = "from importlib.util import find_spec; print(find_spec('feedsvc').origin)"
    installed = subprocess.run(
        [venv / "bin" / "python", "-c", where], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert installed.stdout.startswith(str(venv)), "the wheel's feedsvc, not the source tree's"

    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("FEEDSVC_", "PYTHON"))}
    env |= {
        "FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'feedsvc.sqlite3'}",
        "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}",
        "FEEDSVC_TAG_AUTHORITY": "presse.example.test",
        "FEEDSVC_SECRET_KEY": "wheel-test",
    }
    feedsvc = str(venv / "bin" / "feedsvc")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [feedsvc, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("feedsvc "), version.stderr
    loaded = run("load-sample")
    assert loaded.returncode == 0, loaded.stderr
    assert "created" in loaded.stdout

    server = subprocess.Popen(
        [feedsvc, "serve", "--port", str(port), "--workers", "1", "--no-worker"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline, body = time.monotonic() + 60, b""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                    body = answer.read()
                    break
            except OSError:
                time.sleep(0.05)
        assert b'"status"' in body, "the server never answered"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            assert answer.status == 200
    finally:
        server.terminate()
        server.communicate(timeout=30)
