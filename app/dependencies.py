"""Request-scoped access to the app's shared objects."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.metrics import ServiceMetrics
from app.registry import ModelRegistry
from app.settings import Settings


def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


def get_settings_from_app(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> ServiceMetrics:
    return request.app.state.metrics


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
