"""Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.dependencies import MetricsDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def metrics(service_metrics: MetricsDep) -> Response:
    """Request counts, queue wait and compute histograms, batch sizes, queue depth, items."""
    return Response(generate_latest(service_metrics.registry), media_type=CONTENT_TYPE_LATEST)
