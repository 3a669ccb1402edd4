"""A command that cannot start says why in one line and exits 1; `--debug` shows the traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).parent / "order-service"
UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:9/none"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "ORDER_SERVICE_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/cli.db",
        "ORDER_SERVICE_VAR_DIR": str(directory / "var"),
        "ORDER_SERVICE_PORT": str(_free_port()),
        "ORDER_SERVICE_PAPER_BROKER_PORT": str(_free_port()),
        **env,
    }
    return subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [str(CLI), *args],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve", ORDER_SERVICE_PORT="eighty")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "CONFIGURATION: invalid configuration: ORDER_SERVICE_PORT: Input should be a valid "
        "integer, unable to parse string as an integer"
    ]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_bad_setting_is_one_line_for_the_day_to_day_commands(tmp_path: Path) -> None:
    for command in (
        ("users", "list"),
        ("orders", "watch", "--user", "01JANYUSER0000000000000000"),
        ("serve", "--workers", "2"),
    ):
        done = _run(tmp_path, *command, ORDER_SERVICE_DATABASE_URL="mysql://nope")
        assert done.returncode == 1, command
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (command, done.stderr)
        assert lines[0].startswith("CONFIGURATION: invalid configuration: "), command
        assert "ORDER_SERVICE_DATABASE_URL" in lines[0], command


def test_with_debug_the_traceback_is_shown(tmp_path: Path) -> None:
    done = _run(tmp_path, "--debug", "serve", ORDER_SERVICE_PORT="eighty")
    assert done.returncode == 1
    assert "ConfigurationError" in done.stderr
    assert len(done.stderr.splitlines()) > 10


def test_an_unreachable_database_is_one_line_for_each_command(tmp_path: Path) -> None:
    user = "01JNOSUCHUSER0000000000000"
    for command in (
        ("serve",),
        ("serve", "--workers", "2"),
        ("worker",),
        ("migrate",),
        ("users", "list"),
        ("orders", "watch", "--user", user, "--once"),
    ):
        done = _run(tmp_path, *command, ORDER_SERVICE_DATABASE_URL=UNREACHABLE_POSTGRES)
        assert done.returncode == 1, command
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (command, done.stderr)
        assert lines[0].startswith("DATABASE_UNAVAILABLE: "), command
        assert "Traceback" not in done.stdout, command


def test_a_second_demo_on_a_busy_port_stops_before_it_touches_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the first demo's API
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run(tmp_path, "demo", ORDER_SERVICE_PORT=str(port))
    assert done.returncode == 1
    assert done.stderr.strip().startswith(f"CONFIGURATION: cannot listen on 127.0.0.1:{port}")
    # No database migrated, no secret or key written, no paper broker started or logged into.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_key_that_opens_no_stored_secret_stops_the_start_and_rotation_fixes_it(
    tmp_path: Path,
) -> None:
    old = {"ORDER_SERVICE_SECRET_KEY": "the key the account was added under"}
    new = {"ORDER_SERVICE_SECRET_KEY": "the key that replaces it"}
    assert _run(tmp_path, "migrate").returncode == 0
    user = _run(tmp_path, "users", "create", "alice", **old).stdout.strip()
    added = _run(
        tmp_path, "accounts", "add", "ACC1", "--api-key", "k", "--api-secret", "s3cr3t",
        "--user", user, **old,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr

    for command in (("worker",), ("secrets", "check")):
        refused = _run(tmp_path, *command, **new)
        assert refused.returncode == 1, command
        out = (refused.stdout + refused.stderr).strip().splitlines()
        assert len(out) == 1, (command, out)
        assert out[0].startswith("CONFIGURATION: ORDER_SERVICE_SECRET_KEY does not decrypt 1 ")
        assert "account ACC1's API secret" in out[0]
        assert "s3cr3t" not in out[0]

    rotated = _run(
        tmp_path, "secrets", "rotate", **new, ORDER_SERVICE_OLD_SECRET_KEYS=old[
            "ORDER_SERVICE_SECRET_KEY"]
    )  # fmt: skip
    assert rotated.stdout.strip() == "re-encrypted 1 stored secret(s) under the current key"
    checked = _run(tmp_path, "secrets", "check", **new)
    assert checked.returncode == 0
    assert checked.stdout.strip() == "every stored secret opens with the configured keys"
