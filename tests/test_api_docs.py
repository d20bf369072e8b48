"""/docs (Swagger UI) and /redoc (ReDoc) work offline: every script, style sheet, icon
and document they load comes from eventrail itself."""

from __future__ import annotations

import re

import httpx
import pytest

# What a page loads: src= and href= attributes, ReDoc's spec-url, Swagger UI's url:.
_LOADED = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|\burl:\s*'([^']+)'""")

_CONTENT_TYPES = {
    ".js": ("application/javascript", "text/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


def loaded_urls(html: str) -> list[str]:
    return [a or b for a, b in _LOADED.findall(html)]


@pytest.mark.parametrize(
    ("page", "needed"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "openapi.json"}),
        ("/redoc", {"redoc.standalone.js", "favicon-32x32.png", "openapi.json"}),
    ],
)
async def test_docs_pages_load_only_same_origin_urls(
    http: httpx.AsyncClient, page: str, needed: set[str]
) -> None:
    answer = await http.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert "googleapis" not in html and "cdn." not in html and "validator.swagger.io" not in html
    urls = loaded_urls(html)
    assert {url.rsplit("/", 1)[-1] for url in urls} == needed
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        fetched = await http.get(url)
        assert fetched.status_code == 200, url
        suffix = "." + url.rsplit(".", 1)[-1]
        content_type = fetched.headers["content-type"].split(";")[0]
        assert content_type in _CONTENT_TYPES[suffix], (url, content_type)
        assert len(fetched.content) > 500, url


async def test_the_bundles_are_the_pinned_ones(http: httpx.AsyncClient) -> None:
    swagger = await http.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in swagger.text
    redoc = await http.get("/docs/assets/redoc.standalone.js")
    assert "Redoc" in redoc.text
    for licence in ("swagger-ui.LICENSE", "redoc.LICENSE"):
        assert (await http.get(f"/docs/assets/{licence}")).status_code == 200


async def test_unknown_assets_and_traversal_are_404(http: httpx.AsyncClient) -> None:
    for path in ("/docs/assets/nope.js", "/docs/assets/../../config.py", "/docs/assets/"):
        answer = await http.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["errors"][0]["code"] == 404
