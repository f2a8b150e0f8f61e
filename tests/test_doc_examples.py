"""The documentation's examples, run: every `curl` line of README.md and docs/*.md
against the sample data (`feedsvc load-sample`), in the order the page gives them.

Each page gets an app of its own with the sample loaded. Shell variables are set as
the page sets them: `TOKEN=$(.venv/bin/feedsvc create-token …)` runs the command,
`ETAG=$(curl -sI … | … etag …)` takes the ETag. Each request must answer as the page
says: the status in a trailing comment (`# 304`) or in the answer shown right after
it (`HTTP/1.1 201 CREATED`), otherwise any 2xx or 3xx; a search (`q=`) finds at least
one release, and a journalist's feed shows the embargoed release.

Besides the commands: what the pages state about the code (the schema revision
`/healthz` reports, the migrations there are, the errors the API reports at once).
"""

from __future__ import annotations

import base64
import io
import json
import re
import shlex
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from werkzeug.test import TestResponse

from feedsvc.migrations.runner import head_revision

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SERVER = "http://127.0.0.1:8000"
MIGRATIONS = ROOT / "feedsvc" / "migrations" / "versions"

# A fenced block, also one indented in a list item.
_BLOCK = re.compile(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", re.S | re.M)
_INLINE = re.compile(r"`(curl [^`]+)`")
_CAPTURE = re.compile(r"^(\w+)=\$\((.*)\)$", re.S)
_ASSIGN = re.compile(r"^(\w+)=(\S+)$")
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
_STATUS = re.compile(r"^HTTP/[\d.]+ (\d{3})", re.M)
# curl options that take a value, and those that do not (-sI is -s -I).
_WITH_VALUE = {"-H", "--header", "-u", "--user", "-X", "--request", "-d", "--data", "--data-binary"}
_WITH_VALUE |= {"--data-raw", "-o", "--output", "-w", "--write-out", "-A", "--user-agent", "-F", "--form"}
_FLAGS = set("isSILvfk")


@dataclass
class Example:
    """One command of a page: where it is, and what the page says it answers."""

    page: str
    line: int
    command: str
    status: int | None = None  # None: any 2xx or 3xx


@dataclass
class Shell:
    """The variables a page's commands set, and the app they run against."""

    app: Flask
    client: FlaskClient
    variables: dict[str, str] = field(default_factory=dict)


def logical_lines(block: str, first_line: int) -> list[tuple[int, str]]:
    """A shell block's commands: continued lines (`\\`) and quotes over lines joined."""
    commands: list[tuple[int, str]] = []
    pending, start = "", first_line
    for number, line in enumerate(block.splitlines(), first_line):
        if not pending:
            start = number
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        try:
            shlex.split(pending)
        except ValueError:  # a quote still open: the command goes on
            continue
        commands.append((start, pending.strip()))
        pending = ""
    assert not pending, f"unfinished command at line {start}: {pending}"
    return commands


def examples_of(page: Path) -> list[Example]:
    """The commands of a page's shell blocks (and inline `curl …`), in order."""
    text = page.read_text(encoding="utf-8")
    found: list[Example] = []
    blocks = list(_BLOCK.finditer(text))
    for index, block in enumerate(blocks):
        first_line = text.count("\n", 0, block.start(2)) + 1
        if block.group(1) in ("sh", "bash", "shell"):
            lines = textwrap.dedent(block.group(2))
            commands = [
                Example(page.name, line, command) for line, command in logical_lines(lines, first_line)
            ]
            # An answer shown right after the block is the answer of its last request.
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            between = text[block.end() : following.start()] if following else ""
            shown = _STATUS.match(following.group(2)) if following and not between.strip() else None
            curls = [example for example in commands if example.command.startswith("curl ")]
            if shown and curls:
                curls[-1].status = int(shown.group(1))
            found += commands
    for match in _INLINE.finditer(text):
        found.append(Example(page.name, text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


def split_comment(tokens: list[str]) -> tuple[list[str], str]:
    for index, token in enumerate(tokens):
        if token.startswith("#"):
            return tokens[:index], " ".join(tokens[index:]).lstrip("# ")
    return tokens, ""


def expand(token: str, shell: Shell, where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in shell.variables, f"{where}: ${name} is used but the page never sets it"
        return shell.variables[name]

    return _VARIABLE.sub(value, token)


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    # `-F name=value` and `-F name=@file` (a file of this repository): a multipart body.
    form: dict[str, str] = field(default_factory=dict)


def curl_request(tokens: list[str], where: str) -> Request:
    method, url, body = "", "", None
    headers: dict[str, str] = {}
    form: dict[str, str] = {}
    items = iter(tokens[1:])
    for token in items:
        if token in _WITH_VALUE:
            value = next(items)
            if token in ("-H", "--header"):
                name, _, header = value.partition(":")
                headers[name.strip()] = header.strip()
            elif token in ("-u", "--user"):
                headers["Authorization"] = "Basic " + base64.b64encode(value.encode()).decode()
            elif token in ("-X", "--request"):
                method = value
            elif token.startswith(("-d", "--data")):
                body = value
            elif token in ("-F", "--form"):
                name, _, given = value.partition("=")
                form[name] = given
        elif token.startswith("-") and not token.startswith("--") and set(token[1:]) <= _FLAGS:
            if "I" in token:
                method = method or "HEAD"
        elif token.startswith("-"):
            raise AssertionError(f"{where}: curl option {token} is not understood by this test")
        else:
            url = token
    assert url.startswith(SERVER), f"{where}: examples run against {SERVER}, not {url}"
    posts = body is not None or bool(form)
    return Request(method or ("POST" if posts else "GET"), url, headers, body, form)


def send(shell: Shell, request: Request) -> TestResponse:
    path, _, query = request.url.removeprefix(SERVER).partition("?")
    if request.form:
        # As curl -F sends it: files named `@path` are read from the repository.
        parts = {
            name: (io.BytesIO((ROOT / value[1:]).read_bytes()), Path(value[1:]).name)
            if value.startswith("@")
            else value
            for name, value in request.form.items()
        }
        return shell.client.open(
            path, method=request.method, headers=request.headers, data=parts, base_url=SERVER
        )
    return shell.client.open(
        path or "/",
        method=request.method,
        query_string=query,
        headers=request.headers,
        data=request.body,
        base_url=SERVER,
    )


def _imports_repository_file(command: str) -> bool:
    """`feedsvc import-municipalities` of a file in this repository (the tests' excerpt): run,
    so that the examples after it find what it imported. Files to download are not run."""
    arguments = shlex.split(command, comments=True)
    return arguments[:2] == [".venv/bin/feedsvc", "import-municipalities"] and (ROOT / arguments[2]).is_file()


def run_feedsvc(shell: Shell, command: str, where: str) -> str:
    arguments = shlex.split(command, comments=True)
    assert arguments[0] == ".venv/bin/feedsvc", f"{where}: {command}"
    # Paths are the repository's, wherever the tests run from.
    given = [str(ROOT / a) if not a.startswith("-") and (ROOT / a).is_file() else a for a in arguments[1:]]
    result = shell.app.test_cli_runner().invoke(args=given)
    assert result.exit_code == 0, f"{where}: {command}: {result.output}"
    return result.stdout.strip()


def check_answer(example: Example, request: Request, response: TestResponse, where: str) -> None:
    status = response.status_code
    if example.status is not None:
        assert status == example.status, f"{where}: answered {status}, the page says {example.status}"
    else:
        assert 200 <= status < 400, f"{where}: answered {status}: {response.data[:300]!r}"
    if status != 200 or request.method == "HEAD":
        return
    if "q=" in request.url:
        assert found_anything(response), f"{where}: the search finds nothing in the sample data"
    if request.headers.get("Authorization", "").startswith("Basic") and "/feed." in request.url:
        assert "SPERRFRIST" in response.get_data(as_text=True), f"{where}: no embargoed release shown"


def found_anything(response: TestResponse) -> bool:
    if response.mimetype == "text/html":
        return bool(html.fromstring(response.data).cssselect(".stream .card"))
    if response.mimetype in ("application/json", "application/feed+json"):
        document = json.loads(response.data)
        return bool(document.get("items"))
    return bool(feedparser.parse(response.data).entries)


def run(shell: Shell, example: Example) -> None:
    where = f"{example.page}:{example.line}"
    if capture := _CAPTURE.match(example.command):
        name, inner = capture.groups()
        first = inner.split(" | ")[0].strip()
        if first.startswith(".venv/bin/feedsvc "):
            shell.variables[name] = run_feedsvc(shell, first, where)
            return
        assert first.startswith("curl ") and "etag" in inner.lower(), f"{where}: cannot run {inner}"
        request = curl_request([expand(token, shell, where) for token in shlex.split(first)], where)
        response = send(shell, request)
        assert response.status_code == 200, f"{where}: answered {response.status_code}"
        shell.variables[name] = response.headers["ETag"]
        return
    if assignment := _ASSIGN.match(example.command):
        shell.variables[assignment.group(1)] = expand(assignment.group(2), shell, where)
        return
    if example.command.startswith(".venv/bin/feedsvc list-tokens") or _imports_repository_file(
        example.command
    ):
        run_feedsvc(shell, example.command, where)
        return
    if not example.command.startswith("curl "):
        return  # installing, serving, migrating: not run here
    tokens, comment = split_comment(shlex.split(example.command))
    if re.fullmatch(r"\d{3}", comment):
        example.status = int(comment)
    request = curl_request([expand(token, shell, where) for token in tokens], where)
    check_answer(example, request, send(shell, request), where)


PAGES_WITH_CURL = [page for page in PAGES if any("curl " in e.command for e in examples_of(page))]


@pytest.mark.parametrize("page", PAGES_WITH_CURL, ids=[page.name for page in PAGES_WITH_CURL])
def test_the_curl_examples_answer_as_the_page_says(page: Path, sample_app: Flask) -> None:
    shell = Shell(sample_app, sample_app.test_client())
    examples = examples_of(page)
    for example in examples:
        run(shell, example)
    assert [example for example in examples if example.command.startswith("curl ")]


def test_the_examples_are_found() -> None:
    commands = [example.command for page in PAGES for example in examples_of(page)]
    curls = [command for command in commands if command.startswith("curl ")]
    assert len(curls) >= 15
    publish = next(command for command in curls if "--data-binary" in command)
    assert "Innbrücke ab Montag gesperrt" in publish and "\n" in publish
    assert {page.name for page in PAGES_WITH_CURL} >= {"README.md", "api.md", "feeds.md", "pages.md"}
    assert any(command.startswith("curl -I") for command in curls)  # indented in a list item


def test_the_schema_revision_of_healthz_is_the_newest_migration(sample_app: Flask) -> None:
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    documented = re.findall(r'"schema": "(\w+)"', operations)
    assert documented == [head_revision()], "docs/operations.md: /healthz names another schema revision"
    answered = sample_app.test_client().get("/healthz?only=database").get_json()
    assert answered["schema"] == head_revision()


def test_the_layout_names_the_newest_migration() -> None:
    newest = sorted(path.stem for path in MIGRATIONS.glob("0*.py"))[-1]
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert f"0001_initial … {newest}" in architecture, (
        f"docs/architecture.md: the newest migration is {newest}"
    )


def test_the_api_reports_all_errors_at_once_as_the_errors_example_shows(sample_app: Flask) -> None:
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = api[api.index("## Errors") :]
    shown = json.loads(next(block.group(2) for block in _BLOCK.finditer(section) if block.group(1) == "json"))
    client = sample_app.test_client()
    secret = run_feedsvc(
        Shell(sample_app, client),
        '.venv/bin/feedsvc create-token --publisher "Pressestelle der Stadt Rosenheim" --city rosenheim',
        "api.md",
    )
    # A body with the three mistakes the example names.
    body = {
        "title": 5,
        "body": "<p>Text</p>",
        "city": "rosenheim",
        "topics": ["verkeh"],
        "published_at": "2026-11-25T09:00:00",
    }
    response = client.post("/api/v1/releases", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == shown["status"] == 422
    answered = response.get_json()
    assert answered["detail"] == shown["detail"]
    assert answered["errors"] == shown["errors"]
