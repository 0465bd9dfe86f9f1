"""ASGI entry point for uvicorn: settings come from the environment."""
from api.app import create_app
from core.runtime import tune_gc

app = create_app()
tune_gc()
