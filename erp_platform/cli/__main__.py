"""``python -m erp_platform.cli``."""

from erp_platform.cli._main import main

main()
