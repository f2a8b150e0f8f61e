"""Queries and writes. The session is passed in and never committed here; a
missing row is None, and becomes a 404 only in a view. Takes plain values and
imports models (and `feedsvc.text`) only: no Flask, no web, no publishing."""
