"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.dependencies import RegistryDep
from app.registry import ServedModel

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves HTTP."""
    return {"status": "ok"}


def _model_state(model: ServedModel) -> str:
    if not model.warmed_up:
        return "warming up"
    if not model.batcher.alive:
        return "batcher stopped"
    return "ready"


@router.get("/readyz", responses={503: {"description": "not ready"}})
async def readyz(registry: RegistryDep) -> JSONResponse:
    """Readiness: every loaded model is warmed up and its batcher is running."""
    models = {name: _model_state(m) for name, m in registry.models.items()}
    body: dict[str, object] = {"ready": registry.ready, "models": models}
    if registry.failures:
        body["failed_to_load"] = [f.path for f in registry.failures]
    if not registry.models:
        body["detail"] = "no model is loaded; check CLASSIFY_MODEL_DIR and the start-up log"
    return JSONResponse(body, status_code=200 if registry.ready else 503)
