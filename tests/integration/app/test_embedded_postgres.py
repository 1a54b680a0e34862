"""The embedded PostgreSQL never outlives a command that was stopped while starting it."""

from pathlib import Path

import psutil
import pytest

from app.embedded import EmbeddedPostgres

pytestmark = pytest.mark.integration


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def test_interrupt_between_first_start_and_restart_stops_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM arrives as SystemExit; Ctrl-C as KeyboardInterrupt: both must stop what started."""
    server = EmbeddedPostgres(tmp_path / "pgdata")
    seen: list[int | None] = []

    def interrupted(self: EmbeddedPostgres) -> bool:
        seen.append(_postmaster_pid(self.pgdata))
        raise SystemExit(143)

    monkeypatch.setattr(EmbeddedPostgres, "_configure", interrupted)
    with pytest.raises(SystemExit):
        server.start()
    assert seen and seen[0] is not None, "the server was running when the interrupt came"
    assert not psutil.pid_exists(seen[0]) or psutil.Process(seen[0]).status() == "zombie"
    assert _postmaster_pid(tmp_path / "pgdata") is None

    monkeypatch.undo()
    url = server.start()  # the data directory is intact: a later start works
    try:
        assert url.startswith("postgresql+asyncpg://")
    finally:
        server.destroy()
    assert _postmaster_pid(tmp_path / "pgdata") is None
