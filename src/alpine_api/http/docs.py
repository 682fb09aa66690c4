"""The interactive docs at /schema: Swagger UI, every asset served by the service itself.

The assets come from the `swagger-ui-bundle-v2` wheel (a runtime dependency) and are
served under /schema/assets, so the page works with no internet access and loads nothing
from a CDN (Litestar's render plugins point at public CDNs by default, favicon included).
"""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS_PATH = "/schema/assets"
_ASSET_MAX_AGE_SECONDS = 86400  # the files change only with the package's version


def docs_plugin() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
    )


def docs_assets() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[str(swagger_ui_path)],
        name="docs-assets",
        cache_control=CacheControlHeader(max_age=_ASSET_MAX_AGE_SECONDS, public=True),
        include_in_schema=False,
    )
