"""App factory and lifespan: load and warm up models, serve, drain on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.auth import BearerAuth
from app.errors import install_error_handlers
from app.jobs.manager import JobManager
from app.jobs.store import JobStore
from app.limits import BodyLimits, RequestBodyGuard
from app.logging_setup import configure_logging
from app.metrics import ServiceMetrics
from app.registry import ModelRegistry
from app.routes import datasets, health, jobs, metrics, models, predict
from app.settings import Settings
from checkpoint import resolve_device

logger = logging.getLogger(__name__)


BULK_PATHS = ("/classify-dataset", "/jobs")


def body_limits(settings: Settings, path: str) -> BodyLimits:
    max_bytes = settings.max_upload_bytes if path.startswith(BULK_PATHS) else settings.max_request_bytes
    return BodyLimits(max_bytes, settings.body_idle_timeout_s, settings.min_upload_bytes_per_s)


async def _expire_jobs_periodically(manager: JobManager, interval_s: float = 600) -> None:
    while True:
        await asyncio.sleep(interval_s)
        manager.expire()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        torch.set_num_threads(settings.torch_threads)
        app.state.decode_pool = ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="decode")
        try:
            device = resolve_device(settings.device)
        except ValueError as exc:
            raise ValueError(f"CLASSIFY_DEVICE: {exc}") from None
        registry = ModelRegistry(settings, app.state.metrics, device)
        app.state.registry = registry
        registry.load_all()
        await registry.warm_up()
        app.state.jobs = JobManager(
            JobStore(settings.jobs_dir), settings.job_ttl_s, settings.max_running_jobs
        )
        app.state.jobs.recover()
        expiry = asyncio.create_task(_expire_jobs_periodically(app.state.jobs))
        logger.info(
            "serving %d model(s) on %s: %s", len(registry.models), registry.device, sorted(registry.models)
        )
        yield
        logger.info("shutting down: draining queued requests, interrupting running jobs")
        expiry.cancel()
        await app.state.jobs.shutdown()
        await registry.stop()
        app.state.decode_pool.shutdown(wait=True)
        logger.info("shutdown complete")

    app = FastAPI(
        title="Classification service",
        version="0.1.0",
        description="PyTorch classifiers for single samples (micro-batched) and whole datasets.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = ServiceMetrics()
    install_error_handlers(app)
    for router in (
        health.router,
        models.router,
        predict.router,
        datasets.router,
        jobs.router,
        metrics.router,
    ):
        app.include_router(router)
    app.add_middleware(
        RequestBodyGuard, limits_for_path=lambda path: body_limits(settings, path), metrics=app.state.metrics
    )
    if settings.api_token is not None:
        # Runs before the body limit and the routes: unauthenticated requests go no further.
        app.add_middleware(BearerAuth, token=settings.api_token.get_secret_value())
    if settings.cors_origins:
        # Outermost, so browsers' preflight requests (which carry no token) reach the CORS handler.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
        )
    return app


app = create_app()
