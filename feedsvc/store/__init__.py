"""Queries and writes. The session is passed in and never committed here; a
missing row is None, and becomes a 404 only in a view. Imports models only."""
