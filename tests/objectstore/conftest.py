"""Fixtures for the object stores: moto's S3 server (session), both stores, and fresh tenant slugs."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from erp_platform.objectstore import LocalObjectStore, ObjectStore, S3ObjectStore

BUCKET = "erp-test-objects"
PART_BYTES = 5 * 1024 * 1024  # S3's minimum part size: big files in tests go multipart quickly


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    bucket: str

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """moto's S3 in server mode on a free loopback port, with fake AWS credentials and one bucket."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint = S3Endpoint(url=f"http://{host}:{port}", bucket=BUCKET)
            client = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            yield endpoint
        finally:
            server.stop()


@pytest.fixture
def slug() -> str:
    """A fresh tenant slug per test (object keys need no tenant row), so tests never share objects."""
    return f"obj_{secrets.token_hex(4)}"


def make_store(kind: str, tmp_path: Path, s3: S3Endpoint) -> ObjectStore:
    if kind == "local":
        return LocalObjectStore(tmp_path / "objects")
    return S3ObjectStore(s3.bucket, "it", endpoint_url=s3.url, part_size=PART_BYTES)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: S3Endpoint) -> Iterator[ObjectStore]:
    """Each contract test runs once against the local folder store and once against S3 (moto server)."""
    with make_store(request.param, tmp_path, s3_endpoint) as s:
        yield s
