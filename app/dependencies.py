"""Request-scoped access to the app's shared objects.

The getters are `async` on purpose: FastAPI runs a plain `def` dependency in a worker
thread, which cost a thread round trip per dependency on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.metrics import ServiceMetrics
from app.registry import ModelRegistry
from app.settings import Settings


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


async def get_settings_from_app(request: Request) -> Settings:
    return request.app.state.settings


async def get_metrics(request: Request) -> ServiceMetrics:
    return request.app.state.metrics


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
