"""Parameter fields of kinds (``sync.params``): a file parameter stays in the import folder."""

from __future__ import annotations

import pytest

from sync.exceptions import InvalidJobParams
from tests.sync.helpers import create

pytestmark = pytest.mark.django_db


def test_import_path_must_stay_inside_the_import_folder(import_dir, tmp_path):
    (tmp_path / "secret.csv").write_text("title\n")
    with pytest.raises(InvalidJobParams, match=r"params\.path: must name a file inside the import"):
        create(kind="catalog_import", params={"path": "../secret.csv"})
    with pytest.raises(InvalidJobParams, match=r"params\.path: must name a file inside the import"):
        create(kind="catalog_import", params={"path": str(tmp_path / "secret.csv")})
    with pytest.raises(InvalidJobParams, match=r"params\.path: no such file in the import folder"):
        create(kind="catalog_import", params={"path": "missing.csv"})
    with pytest.raises(InvalidJobParams, match=r"params\.path: This field is required"):
        create(kind="catalog_import", params={})
