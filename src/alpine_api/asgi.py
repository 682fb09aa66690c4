"""The ASGI entry point Granian imports in each worker: `alpine_api.asgi:app`."""

from alpine_api.app import create_app
from alpine_api.config import load_settings

app = create_app(load_settings())
