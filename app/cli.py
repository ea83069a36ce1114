"""Console script `classify-serve`: run the service with uvicorn on the host and port from the settings."""

from __future__ import annotations

import uvicorn

from app.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run("app.main:app", host=settings.host, port=settings.port, log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
