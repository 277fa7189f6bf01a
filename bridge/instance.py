"""The instance folder: files the bridge creates for itself, readable by its own user only.

``instance/`` sits in the working directory, like the default SQLite database
(``sqlite:///instance/bridge.db``). It holds the database, the embedded broker, the generated
console secret and gunicorn's control socket: folders are created ``0700``, files ``0600``.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

INSTANCE = Path("instance")
SECRET_FILE = "secret_key"  # noqa: S105 (a file name)


class InstanceError(RuntimeError):
    """A file in the instance folder is unusable; the message says which and why."""


def private_umask() -> None:
    """Have every file this process creates from now on readable by its own user only.

    For the long-running commands (serve, worker, beat, run): besides the files created here,
    libraries create their own (the embedded broker's SQLite file, beat's schedule shelve, their
    journals) with the umask's permissions.
    """
    os.umask(os.umask(0o077) | 0o077)


def private_dir(path: Path = INSTANCE) -> Path:
    """Create ``path`` (and parents) as ``0700`` if missing.

    An existing folder keeps its mode, unless it is the instance folder: that one is the
    bridge's own, so group and other permissions left by older versions are removed.
    """
    path = Path(path)
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif _in_instance(path):
        _tighten(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists as a ``0600`` file (created empty if missing).

    An existing file keeps its mode unless it lies in the instance folder (see
    :func:`private_dir`).
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if _in_instance(path):
            _tighten(path, 0o600)
    else:
        os.close(fd)
    return path


def secret_key(folder: Path = INSTANCE) -> str:
    """The console's session secret kept in ``folder/secret_key``, generated on first use.

    Several processes may start at once (gunicorn workers): each writes its candidate to a file
    of its own and links it into place, which fails for all but the first; all of them then
    read the one that won. A half-written secret is never visible.
    """
    path = Path(folder) / SECRET_FILE
    if not path.exists():
        private_dir(path.parent)
        candidate = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(6)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(48) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process was first: use its secret
        finally:
            candidate.unlink()
    _tighten(path, 0o600)
    value = path.read_text(encoding="ascii").strip()
    if len(value) < 32:
        raise InstanceError(
            f"{path} holds no usable secret (at least 32 characters); delete it to have a new"
            " one generated, or set BRIDGE_SECRET_KEY"
        )
    return value


def _in_instance(path: Path) -> bool:
    instance = INSTANCE.resolve()
    resolved = path.resolve()
    return resolved == instance or instance in resolved.parents


def _tighten(path: Path, mode: int) -> None:
    # Older versions created these with the umask's permissions; only files we own can change.
    info = path.stat()
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)
