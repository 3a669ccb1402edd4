"""The demo's folder is 0700 and its database and key files 0600, from the moment they exist."""

from __future__ import annotations

import stat
from pathlib import Path

from order_service.bootstrap import demo_secret
from order_service.config import Settings
from order_service.entrypoints.demo import secure_var_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_demo_folder_and_database_are_private_from_the_start(tmp_path: Path) -> None:
    var = tmp_path / "var"
    settings = Settings(var_dir=str(var), database_url=f"sqlite+aiosqlite:///{var}/demo.db")
    secure_var_dir(settings)
    assert mode(var) == 0o700
    assert mode(var / "demo.db") == 0o600
    demo_secret(str(var), "jwt-secret")
    assert mode(var / "jwt-secret") == 0o600


def test_an_older_demo_folder_is_tightened(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    for name in ("order-service.db", "order-service.db-wal", "demo-api-key", "secret-key"):
        (var / name).write_text("x")
        (var / name).chmod(0o644)
    settings = Settings(
        var_dir=str(var), database_url=f"sqlite+aiosqlite:///{var}/order-service.db"
    )
    secure_var_dir(settings)
    assert mode(var) == 0o700
    assert {path.name: mode(path) for path in var.iterdir()} == {
        "order-service.db": 0o600,
        "order-service.db-wal": 0o600,
        "demo-api-key": 0o600,
        "secret-key": 0o600,
    }
