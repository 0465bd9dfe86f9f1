"""ASGI entry point for uvicorn: settings come from the environment."""
from api.app import create_app

app = create_app()
