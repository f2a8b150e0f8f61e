"""Makes the suite's ~1,700 apps cheap to create and warm: what every app of one test
process would compute alike is computed once.

Each test creates its own app (its own database, clock and configuration) and so its own
engine. Two things would otherwise be done again for each:

- werkzeug parses each of the app's ~130 URL rules into regular expressions and compiles
  two Python functions for it while registering them: about two thirds of what
  `create_app` costs. The parts depend only on the rule's text and the map's converters,
  the functions only on the text, its defaults and its parts, so what was made for an
  equal rule of an earlier app serves.
- Jinja compiles each template to Python once per app (its environment's own cache): the
  desk's and the pages' templates, some 40 ms each. The code depends on the template's
  source and the environment's options, alike for every app, so a process-wide bytecode
  cache (Jinja's hook for this) hands each app the code compiled for the first.
- SQLAlchemy compiles each statement to SQL once per engine: its cache of compiled
  statements is the engine's and is keyed by the engine's dialect object. Engines made
  alike (same backend, driver and isolation level) share one dialect and one cache here,
  so a statement compiled in one test is not compiled again in the next.

Production creates its app and engine once per process and is not touched by this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.util import LRUCache
from werkzeug.routing.converters import BaseConverter
from werkzeug.routing.rules import Rule, RulePart

from feedsvc import db

Builder = Callable[..., tuple[str, str]]
_compile_builder: Callable[[Rule, bool], Builder] = Rule._compile_builder
_builders: dict[tuple[object, ...], Builder] = {}
_compile: Callable[[Rule], None] = Rule.compile
Parsed = tuple[list[RulePart], list[tuple[bool, str]], dict[str, BaseConverter], set[str]]
_parsed: dict[tuple[object, ...], Parsed] = {}
_create_engine = sqlalchemy.create_engine
_dialects: dict[tuple[str, str, object], tuple[Dialect, LRUCache[Any, Any]]] = {}
# Enough for every statement the suite compiles on one backend (an engine keeps 500).
COMPILED_STATEMENTS = 20_000


def _builder_of_an_equal_rule(rule: Rule, append_unknown: bool = True) -> Builder:
    # The builder's code reads converters through its `self` argument, never from the rule
    # it was compiled for; only defaults are folded in, so they are part of the key.
    defaults = tuple(sorted((name, repr(value)) for name, value in (rule.defaults or {}).items()))
    key = (rule.rule, tuple(rule._trace), defaults, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(rule, append_unknown)
    return builder


def _compile_as_an_equal_rule(rule: Rule) -> None:
    assert rule.map is not None, "rule not bound"
    url_map = rule.map
    domain = (rule.host if url_map.host_matching else rule.subdomain) or ""
    # Converters keep the map they were made for, but no converter reads it.
    converters = tuple(sorted((name, id(kind)) for name, kind in url_map.converters.items()))
    key = (rule.rule, rule.merge_slashes, url_map.host_matching, domain, converters)
    parsed = _parsed.get(key)
    if parsed is None:
        arguments_before = set(rule.arguments)
        _compile(rule)
        added = rule.arguments - arguments_before
        _parsed[key] = (rule._parts, rule._trace, rule._converters, added)
        return
    # What Rule.compile sets, from the equal rule's parts; the parts are only read later.
    parts, trace, rule_converters, arguments = parsed
    rule._parts, rule._trace, rule._converters = list(parts), list(trace), dict(rule_converters)
    rule.arguments |= arguments
    rule._build = rule._compile_builder(False).__get__(rule, None)
    rule._build_unknown = rule._compile_builder(True).__get__(rule, None)


class _CompiledTemplates(BytecodeCache):
    """Code objects kept in memory by template and source checksum, never written anywhere."""

    def __init__(self) -> None:
        self._code: dict[tuple[str, str], Any] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        bucket.code = self._code.get((bucket.key, bucket.checksum))

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[(bucket.key, bucket.checksum)] = bucket.code


def _engine_sharing_compiled_statements(*args: Any, **kwargs: Any) -> Engine:
    engine = _create_engine(*args, **kwargs)
    key = (engine.dialect.name, engine.dialect.driver, kwargs.get("isolation_level"))
    if key in _dialects:
        # The engine's own dialect was set up exactly as the shared one was (same
        # arguments); each connection is still prepared by the engine's own connect hooks.
        shared, statements = _dialects[key]
        engine.dialect = shared
        engine.pool._dialect = shared
        engine._compiled_cache = statements
        return engine

    def share_once_set_up(_connection: Any, _record: Any) -> None:
        # Only a dialect that has met its server (version, defaults) is shared; this runs
        # after the engine's own first-connect hook, which set it up.
        _dialects.setdefault(key, (engine.dialect, LRUCache(COMPILED_STATEMENTS)))

    event.listen(engine, "connect", share_once_set_up, once=True)
    return engine


def _install() -> None:
    builder: Any = _builder_of_an_equal_rule
    Rule._compile_builder = builder  # type: ignore[method-assign]
    compiler: Any = _compile_as_an_equal_rule
    Rule.compile = compiler  # type: ignore[method-assign]
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _CompiledTemplates()}
    engine_maker: Any = _engine_sharing_compiled_statements
    db.create_engine = engine_maker  # type: ignore[attr-defined]


_install()
