"""The S3 store against moto's server: layout in the bucket, multipart streaming, error mapping."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from erp_platform._errors import ConfigurationError, ObjectStoreError
from erp_platform.objectstore import (
    ObjectExistsError,
    ObjectStoreUnavailableError,
    S3ObjectStore,
    tenant_key,
    tenant_prefix,
)
from tests.objectstore.conftest import PART_BYTES, S3Endpoint


def client_for(s3: S3Endpoint, **config: Any) -> Any:
    return boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1", config=Config(**config))


def bucket_names(s3: S3Endpoint, prefix: str) -> list[str]:
    listed = client_for(s3).list_objects_v2(Bucket=s3.bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def write_file(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        out.write(os.urandom(size))
    return path


def test_objects_live_under_the_store_prefix(s3_endpoint: S3Endpoint, slug: str) -> None:
    with S3ObjectStore(s3_endpoint.bucket, "/deploy/prod/", endpoint_url=s3_endpoint.url) as store:
        store.put_bytes(tenant_key(slug, "a", "b.txt"), b"x")
        assert repr(store) == (
            f"S3ObjectStore('s3://{s3_endpoint.bucket}/deploy/prod', endpoint_url={s3_endpoint.url!r})"
        )
    names = bucket_names(s3_endpoint, f"deploy/prod/tenants/{slug}/")
    assert names == [f"deploy/prod/tenants/{slug}/a/b.txt"]


def test_foreign_objects_in_the_bucket_are_not_listed(s3_endpoint: S3Endpoint, slug: str) -> None:
    raw = client_for(s3_endpoint)
    for name in (f"it/tenants/{slug}/ok.txt", f"it/tenants/{slug}/bad name.txt", f"it/tenants/{slug}/.hidden",
                 f"it/tenants/{slug}/a/../b", f"it/tenants/{slug}x/other.txt"):
        raw.put_object(Bucket=s3_endpoint.bucket, Key=name, Body=b"1")
    with S3ObjectStore(s3_endpoint.bucket, "it", endpoint_url=s3_endpoint.url) as store:
        assert [k.path for k in store.list(tenant_prefix(slug))] == [f"tenants/{slug}/ok.txt"]
        # delete_prefix removes only what is a valid key of this tenant
        assert store.delete_prefix(tenant_prefix(slug)) == 1
    assert f"it/tenants/{slug}x/other.txt" in bucket_names(s3_endpoint, "it/tenants/")


@pytest.mark.parametrize("new", [False, True])
def test_large_files_go_up_and_down_in_bounded_parts(s3_endpoint: S3Endpoint, slug: str, tmp_path: Path,
                                                     new: bool) -> None:
    client = client_for(s3_endpoint)
    part_sizes: list[int] = []
    ranges: list[str] = []
    client.meta.events.register("before-parameter-build.s3.UploadPart",
                                lambda params, **_: part_sizes.append(len(params["Body"])))
    client.meta.events.register("before-parameter-build.s3.GetObject",
                                lambda params, **_: ranges.append(params.get("Range", "")))
    source = write_file(tmp_path / "big.bin", 2 * PART_BYTES + 100)
    with S3ObjectStore(s3_endpoint.bucket, "it", client=client, part_size=PART_BYTES) as store:
        key = tenant_key(slug, "big.bin")
        store.put_file(key, source, new=new)
        store.get_file(key, tmp_path / "copy.bin")
    assert sorted(part_sizes) == [100, PART_BYTES, PART_BYTES]
    assert len(ranges) == 3 and all(r.startswith("bytes=") for r in ranges)
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_refused_multipart_put_new_leaves_no_pending_upload(s3_endpoint: S3Endpoint, slug: str,
                                                             tmp_path: Path) -> None:
    source = write_file(tmp_path / "big.bin", PART_BYTES + 1)
    key = tenant_key(slug, "once.bin")
    with S3ObjectStore(s3_endpoint.bucket, "it", endpoint_url=s3_endpoint.url, part_size=PART_BYTES) as store:
        store.put_file(key, source, new=True)
        with pytest.raises(ObjectExistsError):
            store.put_file(key, source, new=True)
    uploads = client_for(s3_endpoint).list_multipart_uploads(Bucket=s3_endpoint.bucket,
                                                             Prefix=f"it/{key.path}")
    assert uploads.get("Uploads", []) == []


def test_missing_bucket(s3_endpoint: S3Endpoint, slug: str) -> None:
    with S3ObjectStore("no-such-bucket", endpoint_url=s3_endpoint.url) as store, \
            pytest.raises(ObjectStoreError) as err:
        store.put_bytes(tenant_key(slug, "x"), b"1")
    assert str(err.value) == (
        f"S3 bucket 'no-such-bucket' does not exist at {s3_endpoint.url} (ERP_S3_ENDPOINT_URL): create it, "
        "or fix ERP_OBJECT_STORE_URL"
    )


def test_unreachable_endpoint_is_transient(slug: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="y", config=Config(retries={"max_attempts": 1}))
    store = S3ObjectStore("bucket", endpoint_url=url, client=client)
    with pytest.raises(ObjectStoreUnavailableError) as err:
        store.get_bytes(tenant_key(slug, "x"))
    assert err.value.transient
    assert str(err.value) == (
        f"cannot reach S3 at {url} (ERP_S3_ENDPOINT_URL) for the read of s3://bucket/tenants/{slug}/x "
        "(EndpointConnectionError): check ERP_S3_ENDPOINT_URL and the network, then retry"
    )


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bucket": "Bad_Bucket"}, "S3 bucket name 'Bad_Bucket' (ERP_OBJECT_STORE_URL) is invalid: use 3 to 63 "
                               "lowercase letters, digits, '.' and '-', e.g. s3://erp-objects/prod"),
    ({"bucket": "ok-bucket", "prefix": "a/../b"},
     "S3 prefix 'a/../b' (ERP_OBJECT_STORE_URL) is invalid at segment '..': use segments of letters, digits "
     "and . _ - = + @ , separated by single '/'"),
    ({"bucket": "ok-bucket", "prefix": "a//b"},
     "S3 prefix 'a//b' (ERP_OBJECT_STORE_URL) is invalid at segment '': use segments of letters, digits "
     "and . _ - = + @ , separated by single '/'"),
    ({"bucket": "ok-bucket", "part_size": 1024}, "part_size 1024 is below S3's minimum of 5242880 bytes"),
])
def test_bad_configuration(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        S3ObjectStore(**kwargs)
    assert str(err.value) == message


def test_close_is_idempotent_and_leaves_an_injected_client_open(s3_endpoint: S3Endpoint, slug: str) -> None:
    client = client_for(s3_endpoint)
    store = S3ObjectStore(s3_endpoint.bucket, "it", client=client)
    store.close()
    store.close()
    client.put_object(Bucket=s3_endpoint.bucket, Key=f"it/tenants/{slug}/still-open", Body=b"1")
    owned = S3ObjectStore(s3_endpoint.bucket, "it", endpoint_url=s3_endpoint.url)
    owned.close()
    owned.close()
