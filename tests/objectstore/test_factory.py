"""Choosing the object store from ERP_OBJECT_STORE_URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from erp_platform._errors import ConfigurationError
from erp_platform.config import load_settings
from erp_platform.objectstore import LocalObjectStore, S3ObjectStore, make_object_store, tenant_key
from tests.objectstore.conftest import S3Endpoint


def test_default_is_a_folder_under_erp_home(tmp_path: Path) -> None:
    with make_object_store(load_settings(home=tmp_path, object_store_url=None)) as store:
        assert isinstance(store, LocalObjectStore)
        assert store.root == (tmp_path / "objects").resolve()


def test_file_url(tmp_path: Path) -> None:
    url = (tmp_path / "some where").as_uri()  # percent-encoded space
    with make_object_store(load_settings(home=tmp_path, object_store_url=url)) as store:
        assert isinstance(store, LocalObjectStore)
        assert store.root == (tmp_path / "some where").resolve()
    localhost = f"file://localhost{tmp_path / 'x'}"
    with make_object_store(load_settings(home=tmp_path, object_store_url=localhost)) as store:
        assert isinstance(store, LocalObjectStore)


def test_file_url_with_a_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as err:
        make_object_store(load_settings(home=tmp_path, object_store_url="file://data/objects"))
    assert str(err.value) == (
        "ERP_OBJECT_STORE_URL 'file://data/objects' names host 'data': file URLs need an absolute path, e.g. "
        "file:///data/objects"
    )


def test_s3_url_uses_endpoint_and_region(s3_endpoint: S3Endpoint, tmp_path: Path, slug: str) -> None:
    settings = load_settings(home=tmp_path, object_store_url=f"s3://{s3_endpoint.bucket}/from-settings",
                             s3_endpoint_url=s3_endpoint.url, s3_region="eu-west-1")
    with make_object_store(settings) as store:
        assert isinstance(store, S3ObjectStore)
        store.put_bytes(tenant_key(slug, "x"), b"1")
        assert store.get_bytes(tenant_key(slug, "x")) == b"1"
    raw = s3_endpoint.client()
    head = raw.head_object(Bucket=s3_endpoint.bucket, Key=f"from-settings/tenants/{slug}/x")
    assert head["ContentLength"] == 1
