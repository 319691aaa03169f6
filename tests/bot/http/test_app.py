"""The application: its OpenAPI document covers the public surface."""

from __future__ import annotations

import httpx


async def test_openapi_documents_the_public_surface(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/surveys",
        "/api/v1/contacts",
        "/api/v1/triggers",
        "/api/v1/responses",
        "/api/v1/surveys/{key}/scores",
    ):
        assert path in paths
