"""The login page over HTTP on both backends (``TestClient``, a fresh store per test): password
and token logins, lockout with a clear message, sessions that survive a restart of the app,
per-user session caps, and sessions ended by logout, a disabled user or a revoked token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from allsource.api import create_app
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.config import Settings
from allsource.store import credentials, logins, open_store, sessions, throttle, users
from allsource.store import schema as t
from allsource.store.sql import SqlStore
from allsource.web.security import SESSION_COOKIE

GOOD = "plover tandem quietly orchid"


@pytest.fixture
def app(store: SqlStore, settings: Settings) -> TestClient:
    return TestClient(create_app(settings, store=store), follow_redirects=False)


@pytest.fixture
def rita(store: SqlStore) -> users.User:
    user = users.add_user(store, "rita", "analyst")
    credentials.set_password(store, user, GOOD)
    return user


def _password_login(c: TestClient, name: str, password: str) -> object:
    return c.post("/login", data={"username": name, "password": password,
                                  "next": "/alerts"})


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_password_login_and_logout(app: TestClient, store: SqlStore,
                                   rita: users.User) -> None:
    bad = _password_login(app, "rita", "wrong words here")
    assert bad.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong user name or password." in bad.text  # type: ignore[attr-defined]
    assert 'value="rita"' in bad.text  # type: ignore[attr-defined]  # the name is kept
    ok = _password_login(app, "rita", GOOD)
    assert ok.status_code == 303 and ok.headers["location"] == "/alerts"  # type: ignore[attr-defined]
    cookie = app.cookies[SESSION_COOKIE]
    with store.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.select(t.web_sessions))]
    assert len(stored) == 1 and not any(cookie in str(v) for v in stored[0])
    page = app.get("/alerts")
    assert page.status_code == 200 and "rita (analyst)" in page.text
    assert app.post("/logout", data={"csrf": _csrf(page.text)}).status_code == 303
    assert sessions.find_session(store, cookie) is None
    app.cookies.set(SESSION_COOKIE, cookie)
    assert app.get("/alerts").status_code == 303


def test_lockout_has_a_clear_message_and_an_admin_unlocks(app: TestClient, store: SqlStore,
                                                          rita: users.User) -> None:
    for i in range(throttle.ACCOUNT.free):
        r = _password_login(app, "rita", f"wrong guess {i}")
        assert r.status_code == 401  # type: ignore[attr-defined]
    locked = _password_login(app, "rita", GOOD)
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed logins for this account" in locked.text  # type: ignore[attr-defined]
    assert 1 <= int(locked.headers["retry-after"]) <= 30  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in app.cookies
    assert throttle.unlock(store, throttle.account_key("rita"))
    assert _password_login(app, "rita", GOOD).status_code == 303  # type: ignore[attr-defined]


def test_session_survives_a_restart(store: SqlStore, settings: Settings,
                                    rita: users.User) -> None:
    with TestClient(create_app(settings, store=store), follow_redirects=False) as first:
        assert _password_login(first, "rita", GOOD).status_code == 303  # type: ignore[attr-defined]
        cookie = first.cookies[SESSION_COOKIE]
    # a new app over a new connection to the same database, as after `allsource serve` restarts
    reopened = open_store(settings.model_copy(update={"database_url": store.url}))
    try:
        with TestClient(create_app(settings, store=reopened), follow_redirects=False) as again:
            again.cookies.set(SESSION_COOKIE, cookie)
            page = again.get("/alerts")
            assert page.status_code == 200 and "rita (analyst)" in page.text
    finally:
        reopened.close()


def test_logins_by_one_user_never_log_another_out(app: TestClient, store: SqlStore,
                                                  settings: Settings, rita: users.User) -> None:
    """Regression (issue 10, leak 9): any valid token could log every web user out by
    logging in 10,000 times (a global cap evicting the oldest session of anybody)."""
    assert _password_login(app, "rita", GOOD).status_code == 303  # type: ignore[attr-defined]
    mallory = users.add_user(store, "mallory", "reader")
    _, token = users.create_token(store, mallory)
    with TestClient(create_app(settings, store=store), follow_redirects=False) as attacker:
        for _ in range(sessions.MAX_PER_USER * 3):
            attacker.cookies.clear()  # a fresh session each time, as a script would
            r = attacker.post("/login", data={"token": token})
            assert r.status_code == 303
    assert app.get("/alerts").status_code == 200
    assert len(sessions.list_sessions(store, mallory.id)) == sessions.MAX_PER_USER


def test_disabling_the_user_or_revoking_the_token_ends_the_session(
        app: TestClient, store: SqlStore, settings: Settings, rita: users.User) -> None:
    info, token = users.create_token(store, rita)
    with TestClient(create_app(settings, store=store), follow_redirects=False) as by_token:
        assert by_token.post("/login", data={"token": token}).status_code == 303
        assert _password_login(app, "rita", GOOD).status_code == 303  # type: ignore[attr-defined]
        users.revoke_token(store, info.id)
        assert by_token.get("/alerts").status_code == 303  # the token's session ended
        assert app.get("/alerts").status_code == 200  # the password session did not
    logins.disable_user(store, "rita")
    assert app.get("/alerts").status_code == 303
    r = _password_login(app, "rita", GOOD)
    assert r.status_code == 403 and "disabled" in r.text  # type: ignore[attr-defined]


def test_a_read_scoped_token_session_cannot_triage(app: TestClient, store: SqlStore,
                                                   rita: users.User) -> None:
    [alert_id] = raise_alerts(store, [AlertDraft(kind="warning", severity=Severity.LOW,
                                                 title="surge", group_key="w:1")])
    _, token = users.create_token(store, rita, scopes=("read",))
    assert app.post("/login", data={"token": token}).status_code == 303
    page = app.get("/alerts")
    r = app.post(f"/alerts/{alert_id}/ack", data={"csrf": _csrf(page.text)})
    assert r.status_code == 403 and "read-only token" in r.text
    assert _password_login(app, "rita", GOOD).status_code == 303  # type: ignore[attr-defined]
    page = app.get("/alerts")
    assert app.post(f"/alerts/{alert_id}/ack",
                    data={"csrf": _csrf(page.text)}).status_code == 303


@pytest.fixture
def _no_leftover(store: SqlStore) -> Iterator[None]:
    yield
    assert throttle.list_locks(store) == []


def test_unknown_user_gets_the_wrong_password_answer(app: TestClient, rita: users.User,
                                                     _no_leftover: None) -> None:
    real = _password_login(app, "rita", "not the password")
    ghost = _password_login(app, "ghost", "not the password")
    assert real.status_code == ghost.status_code == 401  # type: ignore[attr-defined]
    assert re.findall(r'role="alert"[^>]*>([^<]+)<', real.text) == re.findall(  # type: ignore[attr-defined]
        r'role="alert"[^>]*>([^<]+)<', ghost.text)  # type: ignore[attr-defined]
