"""Settings: the publish form's signing key when none is configured."""

from __future__ import annotations

import stat
from pathlib import Path

from feedsvc.config import _instance_secret


def test_a_missing_secret_key_is_made_once_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "secret_key"
    first = _instance_secret(path)
    assert len(first) >= 32
    assert _instance_secret(path) == first, "every worker and every restart reads the same key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
