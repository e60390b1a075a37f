"""Platform settings (environment variables with the ``ERP_`` prefix)."""

from erp_platform.config._settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
