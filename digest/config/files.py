"""What the settings keep on disk: the data directory and the development secret key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from digest.config.errors import ConfigError

MIN_SECRET_LENGTH = 50  # and 5 different characters: what Django's `check --deploy` asks of SECRET_KEY
# A relative LANYARD_DATA_DIR (and the default, var) is taken from the checkout's root, not
# from the folder a command runs in: `python site/manage.py` run inside site/ must find the
# same database and secret key as `lanyard` run at the top. Installed without a checkout
# (no pyproject.toml beside the package), the working directory is all there is.
_CHECKOUT = Path(__file__).resolve().parents[2]
PROJECT_ROOT: Path | None = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else None


def from_checkout(path: Path) -> Path:
    """A relative path taken from the checkout's root (or the working directory)."""
    return path if path.is_absolute() else (PROJECT_ROOT or Path.cwd()) / path


def parse_data_dir(value: str) -> Path:
    """The data directory, absolute, created if missing; relative paths start at the checkout."""
    path = Path(os.path.normpath(from_checkout(Path(value).expanduser())))
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test.{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        problem = f"cannot create or write {path} ({error.strerror or error}); point it at a writable folder"
        raise ConfigError("LANYARD_DATA_DIR", problem) from None
    return path


def parse_secret_keys(value: str, *, production: bool, data_dir: Path) -> tuple[str, ...]:
    var = "LANYARD_SECRET_KEYS"
    keys = tuple(k.strip() for k in value.split(",") if k.strip())
    if not keys:
        if production:
            raise ConfigError(
                var,
                f"is required in production; set one or more comma-separated keys of at least {MIN_SECRET_LENGTH} "
                "random characters "
                "(the first signs, all verify)",
            )
        return (_development_secret(data_dir),)
    for index, key in enumerate(keys, 1):
        if production and (len(key) < MIN_SECRET_LENGTH or len(set(key)) < 5):
            raise ConfigError(
                var,
                f"key number {index} is shorter than {MIN_SECRET_LENGTH} characters or repeats too few "
                "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')",
            )
    return keys


def _development_secret(data_dir: Path) -> str:
    """A random key kept under the data directory, made on first use."""
    path = data_dir / "secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written whole to a temporary file, then linked into place: link() fails if
    # another process got there first, so two processes starting at once agree.
    temporary = path.with_name(f".secret.key.{os.getpid()}")
    temporary.write_text(key + "\n")
    temporary.chmod(0o600)
    try:
        os.link(temporary, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        temporary.unlink()
    return key
