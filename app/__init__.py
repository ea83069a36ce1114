"""The classification service: FastAPI app, model registry, micro-batching, bulk classification."""
