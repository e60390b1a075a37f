"""The builder's version: part of every artifact cache key, bumped whenever generated code changes."""

from __future__ import annotations

#: Bump on any change to parsing or code generation that changes generated files.
BUILDER_VERSION = "0.2.0"
