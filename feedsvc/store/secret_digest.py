"""The one digest of random secrets (API tokens, desk sessions, sign-in links): SHA-256.

The secrets have 256 bits of entropy, so a plain (unsalted, fast) hash is enough:
nobody can guess a secret whose hash they might have read.
"""

from __future__ import annotations

import hashlib


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
