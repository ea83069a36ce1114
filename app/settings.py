"""All service settings, read from environment variables prefixed `CLASSIFY_`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_torch_threads() -> int:
    """Half the cores, at least one: on 2 cores a batch-1 forward took 1.9 ms with one torch
    thread and 3.1 ms with two, because the event loop and decoding need the other core."""
    return max(1, (os.cpu_count() or 2) // 2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLASSIFY_", env_file=None, protected_namespaces=())

    host: str = Field("127.0.0.1", description="address the console script binds to")
    port: int = Field(8000, description="port the console script binds to")
    model_dir: Path = Field(Path("models"), description="folder whose *.pt checkpoints are served")
    device: str = Field("auto", description="torch device: auto (CUDA when available), cpu, cuda, cuda:1")
    torch_threads: int = Field(
        default_factory=lambda: default_torch_threads(),
        ge=1,
        description="torch CPU threads (default: half the cores, the rest serve HTTP and decoding)",
    )

    bulk_torch_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="torch CPU threads for whole-dataset forward passes (default: all cores)",
    )
    max_batch_size: int = Field(64, ge=1, description="rows per forward pass for /predict")
    max_delay_ms: float = Field(
        2.0, ge=0, description="longest wait for more rows, from the oldest waiting request"
    )
    max_queue_rows: int = Field(2048, ge=1, description="rows waiting per model before 503 overloaded")
    idle_dispatch: bool = Field(True, description="run waiting rows at once when the model's thread is idle")
    request_timeout_s: float = Field(
        30.0, gt=0, description="longest a /predict request waits for its result"
    )
    warmup_batch_sizes: list[int] = Field(
        default_factory=lambda: [1, 8, 64], description="batch sizes run at start-up, as a JSON list"
    )

    max_request_bytes: int = Field(20 * 2**20, ge=1024, description="largest /predict body in bytes")
    max_image_pixels: int = Field(40_000_000, ge=1, description="largest declared image size in pixels")
    body_idle_timeout_s: float = Field(
        30.0, gt=0, description="maximum wait for the next part of a request body before 408"
    )
    min_upload_bytes_per_s: float = Field(
        1024.0,
        ge=0,
        description="slowest average body rate accepted once body_idle_timeout_s has passed (408 below)",
    )

    max_upload_bytes: int = Field(2 * 2**30, ge=1024, description="largest /classify-dataset upload in bytes")
    max_archive_entries: int = Field(1_000_000, ge=1, description="most entries read from one archive")
    max_uncompressed_bytes: int = Field(
        8 * 2**30, ge=1024, description="most bytes decompressed from one archive"
    )
    max_entry_bytes: int = Field(50 * 2**20, ge=1024, description="largest single archive entry in bytes")
    bulk_batch_size: int = Field(
        256, ge=1, description="rows per forward pass for whole datasets of images or text"
    )
    bulk_tabular_batch_size: int = Field(
        4096,
        ge=1,
        description="rows per forward pass for whole CSVs of a tabular model (light models gain from large batches)",
    )
    bulk_chunk_items: int = Field(1024, ge=1, description="archive entries read and decoded per chunk")
    bulk_prefetch_chunks: int = Field(2, ge=1, description="decoded chunks kept ready ahead of the model")
    csv_block_bytes: int = Field(1 * 2**20, ge=4096, description="CSV bytes parsed per chunk")
    decode_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        description="threads decoding images and CSV chunks (default: cores)",
    )

    jobs_dir: Path = Field(Path("var/jobs"), description="folder where bulk jobs keep uploads and results")
    job_ttl_s: float = Field(7 * 24 * 3600, gt=0, description="seconds a finished job is kept")
    max_running_jobs: int = Field(1, ge=1, description="bulk jobs that run at the same time; others queue")

    api_token: SecretStr | None = Field(
        None, description="bearer token every endpoint but /healthz and /readyz requires (unset: no auth)"
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="origins allowed by CORS, as a JSON list (empty: CORS off)"
    )

    malloc_arenas: int = Field(
        2, ge=0, description="glibc malloc arenas (M_ARENA_MAX) set at import; 0 keeps glibc's default"
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log level")
    log_format: Literal["plain", "json"] = Field(
        "plain", description="plain text or one JSON object per line"
    )

    @field_validator("api_token")
    @classmethod
    def _non_empty_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < 16:
            raise ValueError("CLASSIFY_API_TOKEN must be at least 16 characters; use a random string")
        return token

    @field_validator("warmup_batch_sizes")
    @classmethod
    def _positive_sizes(cls, sizes: list[int]) -> list[int]:
        if any(s < 1 for s in sizes):
            raise ValueError("CLASSIFY_WARMUP_BATCH_SIZES must hold positive batch sizes")
        return sizes


@lru_cache
def get_settings() -> Settings:
    return Settings()
