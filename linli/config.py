"""Settings that come from the environment, with the embedded defaults a fresh machine needs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    path = Path(os.environ.get("LINLI_DATA_DIR", Path.cwd() / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def kept_secret(name: str, env_var: str, nbytes: int = 32) -> str:
    """A secret from the environment, else one generated once and kept in the data dir."""
    if value := os.environ.get(env_var):
        return value
    path = data_dir() / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    # Create with 0600 so other local users never see it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
