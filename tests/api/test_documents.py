"""``/documents`` on an encrypted store: titles are sealed, so sorting by them is refused
with a clear error instead of returning the ciphertexts' order."""

from __future__ import annotations

import base64
import os

from fastapi.testclient import TestClient
from pydantic import SecretStr

from allsource.api.app import create_app
from allsource.config import Settings
from allsource.model.records import Collected, Document, Source
from allsource.store import open_store, users

V = "/api/v1/documents"


def test_sorting_by_sealed_titles_is_refused(settings: Settings) -> None:
    keyed = settings.model_copy(update={
        "encryption_key": SecretStr(base64.b64encode(os.urandom(32)).decode())})
    store = open_store(keyed)
    try:
        src = Source(name="src", kind="files", location="/tmp/x")
        store.add_source(src)
        store.write_batch(src, [Collected(Document.build(kind="report", title=ti, text=ti * 3))
                                for ti in ("Bravo report", "Alpha report")], [], None)
        _, secret = users.create_token(store, users.add_user(store, "ana", "admin"))
        h = {"Authorization": f"Bearer {secret}"}
        with TestClient(create_app(keyed, store=store)) as c:
            refused = c.get(V, params={"sort": "-title"}, headers=h)
            assert refused.status_code == 422
            assert refused.json()["error"]["code"] == "invalid_sort"
            assert "encrypted" in refused.json()["error"]["message"]
            listed = c.get(V, params={"sort": "kind,-published_at"}, headers=h).json()
            assert sorted(d["title"] for d in listed["items"]) == ["Alpha report",
                                                                  "Bravo report"]
    finally:
        store.close()
