"""/api/docs/ (Swagger UI) and /api/redoc/ load nothing from outside Encore: they work offline."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_api_docs_pages_load_only_our_own_static_files(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assets = ASSET.findall(response.content.decode())
    assert assets, "the page loads its viewer's script"
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file"
    assert "/api/schema/" in response.content.decode()
