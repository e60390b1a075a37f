"""Platform settings from the environment (prefix ``ERP_``), validated once at start.

A bad setting fails with the setting's environment variable name and how to fix it.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from erp_platform._errors import ConfigurationError

_DB_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::"})  # noqa: S104 - recognising a wildcard bind, not binding
_HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:]{2,39}")
_KEYGEN_HINT = (
    'generate one with: python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


class Settings(BaseSettings):
    """All platform settings. Construct with :func:`load_settings` to get clear errors."""

    model_config = SettingsConfigDict(env_prefix="ERP_", extra="ignore", frozen=True)

    home: Path = Field(Path(".erp"), description="state folder: embedded database, objects, key file, caches")
    database_url: str | None = Field(
        None, description="PostgreSQL URL; unset starts (or reuses) an embedded server under ERP_HOME"
    )
    object_store_url: str | None = Field(
        None, description="file:///path or s3://bucket/prefix; unset uses file://ERP_HOME/objects"
    )
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint (MinIO, moto); unset uses AWS")
    s3_region: str = Field("us-east-1", description="S3 region")
    vault_addr: str | None = Field(
        None, description="Vault address; when set, credentials live in Vault KV v2"
    )
    vault_token: SecretStr | None = Field(None, description="Vault token (required with ERP_VAULT_ADDR)")
    vault_mount: str = Field("secret", description="Vault KV v2 mount point")
    master_key: SecretStr | None = Field(
        None, description="urlsafe-base64 32-byte key for the local credential store; unset: a key file"
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    process_mode: Literal["forkserver", "stock"] = Field(
        "forkserver",
        description="forkserver: runs and code servers forked from one warm process (one machine); stock: "
        "Dagster's DefaultRunLauncher and one `dagster code-server start` gRPC server per tenant over TCP",
    )
    code_server_host: str = Field(
        "127.0.0.1", description="stock mode: the address tenant code servers listen on (0.0.0.0: every interface)"
    )
    code_server_address: str | None = Field(
        None,
        description="stock mode: the host name the webserver and daemon use to reach the code servers "
        "(a service name in a multi-host deployment); unset: ERP_CODE_SERVER_HOST",
    )
    code_server_port_base: int | None = Field(
        None,
        description="stock mode: tenant code servers listen on this port plus the tenant's id (the same "
        "ports on every host); unset: free ports picked at start",
    )

    page_workers: bool = Field(
        True,
        description="forkserver mode: a long extract reads its pages in page-worker processes (one per "
        "parallel request, each with its own sandbox session) to use every core; false: pages are read in "
        "the run worker",
    )
    page_workers_after_pages: int = Field(
        20, ge=1, le=1_000_000,
        description="page workers start when an extract reaches this page (each costs about 0.5 s of CPU to "
        "open its session, more than a short extract takes)",
    )
    rate_limit_lease_seconds: float = Field(
        0.25, ge=0, le=5,
        description="run workers take rate-limit tokens in batches of up to this many seconds of the tenant's "
        "rate (one database transaction per batch, unused tokens given back); 0: one transaction per request",
    )

    spec_max_bytes: int = Field(
        64 * 1024 * 1024, gt=0, description="largest spec file `erp sdk build` reads, in bytes"
    )
    spec_max_nodes: int = Field(
        5_000_000, gt=0, description="values in a decoded spec, each YAML alias counted as a full copy"
    )
    spec_max_depth: int = Field(200, gt=0, description="nesting of mappings and lists in a spec")
    spec_max_ref_expansions: int = Field(
        1_500_000, gt=0, description="$ref pointers followed plus values inlined while building one SDK"
    )
    spec_max_ref_chain: int = Field(64, gt=0, description="$ref pointers in a row on the way to one value")
    spec_parse_memory_mb: int = Field(
        2048, gt=0, description="address space of the child process that parses a spec, in MB"
    )
    spec_parse_timeout_seconds: float = Field(
        300.0, gt=0, description="wall-clock time of the child process that parses a spec"
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = urlsplit(value).scheme
        if scheme not in _DB_SCHEMES:
            raise ValueError(
                f"scheme {scheme!r} is not PostgreSQL; use postgresql://user@host:5432/dbname, "
                "or unset it to use the embedded server"
            )
        return value

    @field_validator("object_store_url")
    @classmethod
    def _check_object_store_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme == "file":
            if not parts.path:
                raise ValueError("file:// URL has no path; use file:///absolute/path")
            return value
        if parts.scheme == "s3":
            if not parts.netloc:
                raise ValueError("s3:// URL has no bucket; use s3://bucket/optional/prefix")
            return value
        raise ValueError(f"scheme {parts.scheme!r} is not supported; use file:///path or s3://bucket/prefix")

    @field_validator("vault_addr")
    @classmethod
    def _check_vault_addr(cls, value: str | None) -> str | None:
        return _http_url(value, "https://vault.example.com:8200")

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_s3_endpoint(cls, value: str | None) -> str | None:
        return _http_url(value, "http://127.0.0.1:9000")

    @field_validator("master_key")
    @classmethod
    def _check_master_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        try:
            raw = base64.urlsafe_b64decode(value.get_secret_value().encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise ValueError(f"not urlsafe base64; {_KEYGEN_HINT}") from None
        if len(raw) != 32:
            raise ValueError(f"decodes to {len(raw)} bytes, 32 are needed; {_KEYGEN_HINT}") from None
        return value

    @field_validator("process_mode", mode="before")
    @classmethod
    def _check_process_mode(cls, value: object) -> object:
        if value not in ("forkserver", "stock"):
            raise ValueError(
                f"{value!r} is not a process mode; use forkserver (one machine, the default) or stock "
                "(Dagster's DefaultRunLauncher and one gRPC code server per tenant over TCP)"
            )
        return value

    @field_validator("code_server_port_base", mode="before")
    @classmethod
    def _check_port_base(cls, value: object) -> object:
        if value is None or value == "":
            return None
        try:
            port = int(str(value))
        except ValueError:
            port = -1
        if not 1024 <= port <= 65000:
            raise ValueError(
                f"{value!r} is not a port from 1024 to 65000; tenant code servers listen on this base plus the "
                "tenant's id, e.g. ERP_CODE_SERVER_PORT_BASE=4000"
            )
        return port

    @field_validator("code_server_host")
    @classmethod
    def _check_code_server_host(cls, value: str) -> str:
        return _host(value)

    @field_validator("code_server_address")
    @classmethod
    def _check_code_server_address(cls, value: str | None) -> str | None:
        return None if value is None or value == "" else _host(value)

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    def check_consistency(self) -> None:
        """Cross-field rules (Vault needs a token)."""
        if self.vault_addr and self.vault_token is None:
            raise ConfigurationError(
                "ERP_VAULT_TOKEN is not set but ERP_VAULT_ADDR is: set ERP_VAULT_TOKEN to a Vault token "
                "allowed to read and write the KV v2 mount, or unset ERP_VAULT_ADDR to use the local "
                "encrypted credential store"
            )

    @property
    def code_server_advertised_host(self) -> str:
        """The host that workspace entries name for stock-mode code servers."""
        if self.code_server_address:
            return self.code_server_address
        return "127.0.0.1" if self.code_server_host in WILDCARD_HOSTS else self.code_server_host

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def effective_object_store_url(self) -> str:
        return self.object_store_url or (self.resolved_home / "objects").as_uri()


def _host(value: str) -> str:
    if not _HOST_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a host name or IP address; use e.g. 127.0.0.1, 0.0.0.0 or workers")
    return value


def _http_url(value: str | None, example: str) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL; use e.g. {example}")
    return value.rstrip("/")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and overrides); raise ConfigurationError naming the setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"ERP_{field.upper()}: {msg}")
        raise ConfigurationError("invalid setting: " + "; ".join(lines)) from None
    settings.check_consistency()
    return settings
