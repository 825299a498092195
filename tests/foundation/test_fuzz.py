"""Fuzzing the grammar and the service: no input ever raises past the service."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import grammar as g
from bot.errors import BadCommand
from bot.replies import Reply
from bot.settings import Settings
from bot.wiring import build

WORDS = [name for name in g.COMMAND_NAMES] + [
    "is", "who", "what", "happened", "with", "since", "until", "for", "in", "#general",
    "<#C1|x>", "<@U1>", "2h", "daily", "08:30", "off", "add", "remove", "import", "page",
    '"', "(", ")", "AND", "OR", "NOT", "-", "*", "actor:", "0", "-1", "99999999999999999999",
    "file:///etc/passwd", "http://127.0.0.1/", "\u202e", "\x00", "Maduro", "Rodríguez",
]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
)


@given(texts)
@settings(max_examples=400, deadline=None)
def test_parse_returns_a_request_or_a_clear_error(text: str) -> None:
    try:
        request = g.parse(text)
    except BadCommand as exc:
        assert exc.message and len(exc.message) < 400
    else:
        assert request is not None


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    app = build(Settings(db_path=db))
    yield app
    app.close()


@given(texts)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_service_never_raises(app, text: str) -> None:  # type: ignore[no-untyped-def]
    for cmd in ("search ", "article ", "help ", ""):
        reply = app.service.handle(cmd + text)
        assert isinstance(reply, Reply)
        reply.to_dict()
