"""The analyst workspace's REST API (FastAPI): ``create_app`` builds it over one store."""

from __future__ import annotations

from allsource.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
