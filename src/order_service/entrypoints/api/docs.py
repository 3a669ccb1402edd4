"""``/docs``: Swagger UI from files shipped in the package, under a CSP that allows only them."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI_VERSION = "5.35.0"  # static/swagger-ui/SOURCE.md says where the files come from
STATIC_DIR = Path(__file__).parent / "static"
ASSETS = "/static/swagger-ui"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve the vendored assets under ``/static`` and the Swagger UI page at ``/docs``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    html = docs_html(app.title, openapi_url)
    headers = {"Content-Security-Policy": docs_policy(html)}

    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)


def docs_html(title: str, openapi_url: str) -> str:
    """Render the page: every asset from this service, no OAuth redirect, no validator badge."""
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} - docs",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}",
        swagger_css_url=f"{ASSETS}/swagger-ui.css?v={SWAGGER_UI_VERSION}",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None},  # else it loads a badge from swagger.io
    )
    return bytes(page.body).decode()


def docs_policy(html: str) -> str:
    """Allow this origin's scripts, styles, images and API calls, and the page's own script."""
    hashes = " ".join(_script_hash(script) for script in _INLINE_SCRIPT.findall(html))
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def _script_hash(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"'sha256-{digest}'"
