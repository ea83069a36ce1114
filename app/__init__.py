"""The classification service: FastAPI app, model registry, micro-batching, bulk classification."""

import os

from app.memory import limit_malloc_arenas

# Runs on the first import of the package, before torch, uvicorn and the app start their
# threads, because the cap only bounds arenas created afterwards. Settings validates the
# same variable (malloc_arenas) and reports an invalid value at start-up.
_arenas = os.environ.get("CLASSIFY_MALLOC_ARENAS", "2")
if _arenas.isdigit():
    limit_malloc_arenas(int(_arenas))
