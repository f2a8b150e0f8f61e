"""Settings: the publish form's signing key when none is configured; what a worker loads."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from feedsvc.config import _instance_secret


def test_a_missing_secret_key_is_made_once_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "secret_key"
    first = _instance_secret(path)
    assert len(first) >= 32
    assert _instance_secret(path) == first, "every worker and every restart reads the same key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_serving_worker_does_not_load_the_migrations(tmp_path: Path) -> None:
    # Each worker imports the app itself: what it loads, every worker pays for in memory.
    program = (
        "import sys\n"
        "from feedsvc import create_app\n"
        f"create_app({{'DATABASE_URL': 'sqlite:///{tmp_path / 'db.sqlite3'}', 'SECRET_KEY': 'k'}})\n"
        "print(','.join(name for name in ('alembic', 'mako') if name in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""


def test_every_default_is_a_checked_setting_with_the_same_value() -> None:
    from feedsvc.config import defaults
    from feedsvc.settings import CODE_ONLY, Settings

    values = defaults("/instance")
    assert set(values) - set(CODE_ONLY) <= set(Settings.model_fields), "a default without a checked setting"
    for key, value in values.items():
        # Both lie in the app's instance folder, which only the app knows.
        if key in Settings.model_fields and key not in ("DATABASE_URL", "INSTANCE_PATH"):
            assert Settings.model_fields[key].default == value, key
