"""orderguard/heap.py: a serving process freezes its start-up heap and raises the young threshold, once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from orderguard import heap
from orderguard.bootstrap import build_context
from orderguard.settings import Settings


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What `settle_for_serving` asks of the collector, as in a fresh process; the real one untouched."""
    calls: list[object] = []
    monkeypatch.setattr(heap, "_settled", threading.Lock())
    monkeypatch.setattr(heap.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(heap.gc, "get_threshold", lambda: (700, 10, 10))
    monkeypatch.setattr(heap.gc, "set_threshold", lambda *thresholds: calls.append(thresholds))
    return calls


def test_the_first_call_of_a_process_freezes_and_raises_the_young_threshold_later_ones_nothing(
    settled: list[object],
) -> None:
    for _ in range(3):
        heap.settle_for_serving()
    assert settled == ["freeze", (heap.YOUNG_THRESHOLD, 10, 10)]


def test_the_asgi_factory_settles_its_process_once_the_app_is_built(
    settled: list[object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from orderguard.api import asgi

    url = f"sqlite:///{tmp_path / 'og.db'}"
    build_context(Settings(database_url=url, files_dir=tmp_path / "files")).engine.dispose()  # migrated
    monkeypatch.setenv("ORDERGUARD_DATABASE_URL", url)
    monkeypatch.setenv("ORDERGUARD_FILES_DIR", str(tmp_path / "files"))
    app = asgi.app()
    assert settled == ["freeze", (heap.YOUNG_THRESHOLD, 10, 10)]
    app.state.ctx.engine.dispose()
