"""Platform settings (environment variables with the ``ERP_`` prefix)."""

from erp_platform.config._settings import WILDCARD_HOSTS, Settings, load_settings

__all__ = ["WILDCARD_HOSTS", "Settings", "load_settings"]
