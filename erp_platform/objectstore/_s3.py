"""Objects in an S3 bucket (AWS, MinIO, moto) through boto3."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from erp_platform._errors import ConfigurationError, ObjectStoreError
from erp_platform.objectstore._errors import (
    ObjectNotFoundError,
    ObjectStoreUnavailableError,
    object_exists,
    object_not_found,
)
from erp_platform.objectstore._keys import ObjectKey, key_from_stored_path
from erp_platform.objectstore._store import ObjectStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest multipart part
DEFAULT_PART_BYTES = 8 * 1024 * 1024
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_SEGMENT_RE = re.compile(r"[A-Za-z0-9._=+@,-]+")
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
_TRANSIENT = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
              "ConditionalRequestConflict", "500", "503"}
_UNREACHABLE = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
)


class S3ObjectStore(ObjectStore):
    """Objects at ``s3://<bucket>/<prefix>/tenants/<slug>/...``.

    ``put_new`` uses a conditional write (``If-None-Match: *``), which S3 applies atomically, so
    concurrent writers cannot overwrite each other; files above ``part_size`` use a multipart upload
    whose completion carries the same condition. ``put_file``/``get_file`` stream through s3transfer
    (parts of ``part_size`` bytes, a bounded number in memory). AWS credentials come from boto3's usual
    chain (environment, profile, instance role).
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str = "us-east-1", *, client: S3Client | None = None,
                 part_size: int = DEFAULT_PART_BYTES) -> None:
        if _BUCKET_RE.fullmatch(bucket) is None:
            raise ConfigurationError(
                f"S3 bucket name {bucket!r} (ERP_OBJECT_STORE_URL) is invalid: use 3 to 63 lowercase "
                "letters, digits, '.' and '-', e.g. s3://erp-objects/prod"
            )
        if part_size < MIN_PART_BYTES:
            raise ConfigurationError(f"part_size {part_size} is below S3's minimum of {MIN_PART_BYTES} bytes")
        self._bucket = bucket
        self._prefix = _check_prefix(prefix)
        self._endpoint = endpoint_url
        self._part_size = part_size
        self._owns_client = client is None
        self._closed = False
        if client is None:
            config = Config(retries={"max_attempts": 5, "mode": "standard"},
                            s3={"addressing_style": "path"} if endpoint_url else {})
            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region,
                                                    config=config)
        self._client: S3Client = client
        self._transfer = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size,
                                        max_concurrency=4, max_io_queue=16)

    def __repr__(self) -> str:
        where = f"s3://{self._bucket}/{self._prefix}".rstrip("/")
        return f"S3ObjectStore({where!r}, endpoint_url={self._endpoint!r})"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._owns_client:
                self._client.close()

    # -- writes -------------------------------------------------------------------------------------
    def _put_bytes(self, key: ObjectKey, data: bytes, *, new: bool) -> None:
        with self._mapped(key, "write"):
            if new:
                self._client.put_object(Bucket=self._bucket, Key=self._name(key), Body=data, IfNoneMatch="*")
            else:
                self._client.put_object(Bucket=self._bucket, Key=self._name(key), Body=data)

    def _put_file(self, key: ObjectKey, source: Path, *, new: bool) -> None:
        with self._mapped(key, "write"):
            if not new:
                self._client.upload_file(str(source), self._bucket, self._name(key), Config=self._transfer)
            elif source.stat().st_size <= self._part_size:
                with source.open("rb") as body:
                    self._client.put_object(Bucket=self._bucket, Key=self._name(key), Body=body,
                                            IfNoneMatch="*")
            else:
                self._multipart_new(key, source)

    def _multipart_new(self, key: ObjectKey, source: Path) -> None:
        """Upload part by part (one part in memory), completing only if the key is still free."""
        name = self._name(key)
        upload_id = self._client.create_multipart_upload(Bucket=self._bucket, Key=name)["UploadId"]
        try:
            parts: list[Any] = []
            with source.open("rb") as body:
                while chunk := body.read(self._part_size):
                    number = len(parts) + 1
                    etag = self._client.upload_part(Bucket=self._bucket, Key=name, UploadId=upload_id,
                                                    PartNumber=number, Body=chunk)["ETag"]
                    parts.append({"PartNumber": number, "ETag": etag})
            self._client.complete_multipart_upload(Bucket=self._bucket, Key=name, UploadId=upload_id,
                                                   MultipartUpload={"Parts": parts}, IfNoneMatch="*")
        except BaseException:
            # the original error matters more than a failed abort; S3 lifecycle rules clean stale uploads
            with suppress(botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=name, UploadId=upload_id)
            raise

    # -- reads --------------------------------------------------------------------------------------
    def _get_file(self, key: ObjectKey, target: Path) -> None:
        with self._mapped(key, "read"):  # s3transfer writes a temp file and renames it into place
            self._client.download_file(self._bucket, self._name(key), str(target), Config=self._transfer)

    def _get_bytes(self, key: ObjectKey) -> bytes:
        with self._mapped(key, "read"):
            return self._client.get_object(Bucket=self._bucket, Key=self._name(key))["Body"].read()

    def _exists(self, key: ObjectKey) -> bool:
        try:
            self._size(key)
        except ObjectNotFoundError:
            return False
        return True

    def _size(self, key: ObjectKey) -> int:
        with self._mapped(key, "read"):
            return self._client.head_object(Bucket=self._bucket, Key=self._name(key))["ContentLength"]

    def _list(self, prefix: ObjectKey) -> builtins.list[ObjectKey]:
        return [key for key, _ in self._listing(prefix)]

    def _usage(self, prefix: ObjectKey) -> int:
        return sum(size for _, _, size in self._sized_listing(prefix))

    def _listing(self, prefix: ObjectKey) -> Iterator[tuple[ObjectKey, str]]:
        """(key, stored name) of every valid object of ``prefix``'s tenant below ``prefix``."""
        for key, name, _ in self._sized_listing(prefix):
            yield key, name

    def _sized_listing(self, prefix: ObjectKey) -> Iterator[tuple[ObjectKey, str, int]]:
        """(key, stored name, size) of every valid object of ``prefix``'s tenant below ``prefix``."""
        strip = len(self._prefix) + 1 if self._prefix else 0
        with self._mapped(prefix, "list"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=self._name(prefix) + "/"
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item.get("Key", "")
                    key = key_from_stored_path(name[strip:])
                    if key is not None and key.tenant == prefix.tenant:
                        yield key, name, int(item.get("Size", 0))

    # -- deletes ------------------------------------------------------------------------------------
    def _delete(self, key: ObjectKey) -> None:
        with self._mapped(key, "delete"):
            self._client.delete_object(Bucket=self._bucket, Key=self._name(key))

    def _delete_prefix(self, prefix: ObjectKey) -> int:
        names = [name for _, name in self._listing(prefix)]
        with self._mapped(prefix, "delete"):
            for start in range(0, len(names), 1000):
                batch = names[start:start + 1000]
                response = self._client.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": [{"Key": n} for n in batch], "Quiet": True}
                )
                errors = response.get("Errors", [])
                if errors:
                    first = errors[0]
                    raise ObjectStoreError(
                        f"S3 refused to delete {len(errors)} object(s) under {prefix}, e.g. "
                        f"{first.get('Key')} ({first.get('Code')}: {first.get('Message')}): check the "
                        "bucket policy, then retry"
                    )
        return len(names)

    # -- internals ----------------------------------------------------------------------------------
    def _name(self, key: ObjectKey) -> str:
        return f"{self._prefix}/{key.path}" if self._prefix else key.path

    @contextmanager
    def _mapped(self, key: ObjectKey, op: str) -> Iterator[None]:
        """Turn botocore errors into store errors that name the key and the fix (never credentials)."""
        where = f"s3://{self._bucket}/{self._name(key)}"
        try:
            yield
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            message = error.get("Message", "")
            if code == "NoSuchBucket":
                raise ObjectStoreError(
                    f"S3 bucket {self._bucket!r} does not exist{self._at()}: create it, or fix "
                    "ERP_OBJECT_STORE_URL"
                ) from exc
            if code in _NOT_FOUND or (status == "404" and op != "write"):
                raise object_not_found(key, f" ({where})") from None
            if code == "PreconditionFailed" or status == "412":
                raise object_exists(key) from None
            if code in _DENIED or status == "403":
                raise ObjectStoreError(
                    f"S3 refused the {op} of {where} ({code}){self._at()}: check the AWS credentials "
                    "(AWS_ACCESS_KEY_ID / AWS_PROFILE / role) and the bucket policy"
                ) from exc
            if code in _TRANSIENT or status in _TRANSIENT:
                raise ObjectStoreUnavailableError(
                    f"S3 could not {op} {where} right now ({code}: {message}); retry later"
                ) from exc
            raise ObjectStoreError(f"S3 {op} of {where} failed ({code}: {message})") from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise ObjectStoreError(
                f"no AWS credentials for the {op} of {where}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance role"
            ) from exc
        except _UNREACHABLE as exc:
            raise ObjectStoreUnavailableError(
                f"cannot reach S3{self._at()} for the {op} of {where} ({type(exc).__name__}): check "
                "ERP_S3_ENDPOINT_URL and the network, then retry"
            ) from exc

    def _at(self) -> str:
        return f" at {self._endpoint} (ERP_S3_ENDPOINT_URL)" if self._endpoint else ""


def _check_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if not prefix:
        return ""
    for segment in prefix.split("/"):
        if segment in ("", ".", "..") or _PREFIX_SEGMENT_RE.fullmatch(segment) is None:
            raise ConfigurationError(
                f"S3 prefix {prefix!r} (ERP_OBJECT_STORE_URL) is invalid at segment {segment!r}: use "
                "segments of letters, digits and . _ - = + @ , separated by single '/'"
            )
    return prefix
