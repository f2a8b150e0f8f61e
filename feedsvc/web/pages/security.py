"""Security headers of every HTML response, pages and error pages alike.

The pages run no inline script: the only script is a static file, and JSON-LD is
a data block (`type="application/ld+json"`) that CSP does not execute. Release
images live on the press offices' own sites, so images may come from anywhere.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: http: data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # frame-ancestors is the rule; X-Frame-Options is for browsers that predate it.
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def add_security_headers(response: Response) -> Response:
    if response.mimetype != "text/html":
        return response
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
