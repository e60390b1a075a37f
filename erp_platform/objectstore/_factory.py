"""Choosing the object store from settings (``ERP_OBJECT_STORE_URL``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from erp_platform._errors import ConfigurationError
from erp_platform.config import Settings
from erp_platform.objectstore._local import LocalObjectStore
from erp_platform.objectstore._s3 import S3ObjectStore
from erp_platform.objectstore._store import ObjectStore


def make_object_store(settings: Settings) -> ObjectStore:
    """A :class:`LocalObjectStore` for ``file:///path`` (default ``ERP_HOME/objects``), an
    :class:`S3ObjectStore` for ``s3://bucket/prefix`` (with ``ERP_S3_ENDPOINT_URL`` and ``ERP_S3_REGION``).

    Raises:
        ConfigurationError: the URL's scheme, host or bucket is unusable.
    """
    url = settings.effective_object_store_url
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigurationError(
                f"ERP_OBJECT_STORE_URL {url!r} names host {parts.netloc!r}: file URLs need an absolute path, "
                f"e.g. file:///{parts.netloc}{parts.path}"
            )
        return LocalObjectStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        return S3ObjectStore(parts.netloc, unquote(parts.path), endpoint_url=settings.s3_endpoint_url,
                             region=settings.s3_region)
    raise ConfigurationError(
        f"ERP_OBJECT_STORE_URL {url!r} has scheme {parts.scheme!r}: use file:///path or s3://bucket/prefix"
    )
