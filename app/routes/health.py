"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.dependencies import RegistryDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers HTTP."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready"}})
async def readyz(registry: RegistryDep) -> JSONResponse:
    """Readiness: every loaded model is warmed up and its batcher is running."""
    models = {
        name: (
            "ready" if m.warmed_up and m.batcher.alive else "batcher stopped" if m.warmed_up else "warming up"
        )
        for name, m in registry.models.items()
    }
    body: dict[str, object] = {"ready": registry.ready, "models": models}
    if registry.failures:
        body["failed_to_load"] = [f.path for f in registry.failures]
    if not registry.models:
        body["detail"] = "no model is loaded; check CLASSIFY_MODEL_DIR and the start-up log"
    return JSONResponse(body, status_code=200 if registry.ready else 503)
