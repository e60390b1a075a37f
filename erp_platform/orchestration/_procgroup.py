"""Stopping child processes started in their own session (the process and everything it started)."""

from __future__ import annotations

import os
import signal
import subprocess


def terminate_group(popen: subprocess.Popen[bytes], *, grace: float) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds; wait for the child."""
    try:
        os.killpg(popen.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        popen.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        popen.wait(5)
