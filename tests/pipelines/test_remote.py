"""The published warehouse's copy on an fsspec filesystem (pipelines/remote.py): uploaded whole
beside the target, then moved onto it; opened by DuckDB where it landed; a URL whose protocol
is unknown or not installed is refused when the settings are read, naming what to install."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import fsspec
import pytest

from pipelines.assets.warehouse import warehouse_copy
from pipelines.configuration import load_settings
from pipelines.errors import ConfigurationError
from pipelines.remote import upload
from pipelines.settings import CONFIG_FIELDS, Warehouse

from .chainfix import DemoChain
from .harness import Pipeline, warehouse_contents


def _with_url(pipeline: Pipeline, url: str) -> Warehouse:
    fields = {n: getattr(pipeline.warehouse, n) for n in CONFIG_FIELDS}
    return Warehouse(**(fields | {"publish_url": url}))


def test_the_copy_asset_uploads_the_published_file_and_duckdb_opens_it(
    built: tuple[DemoChain, Pipeline], tmp_path: Path
) -> None:
    _, pipeline = built
    target = tmp_path / "share" / "drey"
    warehouse = _with_url(pipeline, target.as_uri())
    result = dg.materialize([warehouse_copy], resources={"warehouse": warehouse})
    assert result.success
    copy = target / "warehouse.duckdb"
    assert copy.read_bytes() == pipeline.warehouse.store.warehouse.read_bytes()
    assert not (target / "warehouse.duckdb.partial").exists()
    assert warehouse_contents(copy) == warehouse_contents(pipeline.warehouse.store.warehouse)
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["url"].value == f"{target.as_uri()}/warehouse.duckdb"
    assert metadata["bytes"].value == copy.stat().st_size


def test_an_upload_replaces_the_last_copy_whole(built: tuple[DemoChain, Pipeline]) -> None:
    # fsspec's in-memory filesystem: a filesystem with no rename, as object storage has none.
    _, pipeline = built
    published = pipeline.warehouse.store.warehouse
    memory = fsspec.filesystem("memory")
    memory.pipe("/drey-test/warehouse.duckdb", b"the last copy")
    copied = upload(published, "memory://drey-test")
    assert copied.url == "memory://drey-test/warehouse.duckdb"
    assert memory.cat_file("/drey-test/warehouse.duckdb") == published.read_bytes()
    assert memory.ls("/drey-test", detail=False) == ["/drey-test/warehouse.duckdb"]
    memory.rm("/drey-test", recursive=True)


def test_without_a_url_nothing_is_copied(built: tuple[DemoChain, Pipeline], tmp_path: Path) -> None:
    _, pipeline = built
    result = dg.materialize([warehouse_copy], resources={"warehouse": _with_url(pipeline, "")})
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["url"].value == "(no publish_url)"


@pytest.mark.parametrize(
    ("url", "says"),
    [("nosuch://bucket/drey", "unknown protocol 'nosuch'"), ("s3://bucket/drey", "Install s3fs")],
)
def test_a_url_that_cannot_be_written_is_refused_with_the_settings(
    url: str, says: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match=f"publish_url: .*{says}"):
        load_settings(env={"DREY_PUBLISH_URL": url}, workdir=tmp_path)
