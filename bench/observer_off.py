"""The production app without the request observer, as a Granian target for
`bench.http_overhead` (the only difference from `alpine_api.asgi:app`)."""

from alpine_api.asgi import app
from alpine_api.http.middleware import RequestObserver

assert isinstance(app.asgi_handler, RequestObserver)
app.asgi_handler = app.asgi_handler.app
