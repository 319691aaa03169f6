"""The campaigns API under /api/v1/campaigns: add, list, pause, resume, run now."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bot.http.deps import require_api_key


def build_campaigns_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_key)])
    return router
