"""The data home's folder and files, private to their owner whatever the umask."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from interviewer.errors import StoreError


def make_private_dir(folder: Path) -> None:
    """The data home, created readable by its owner only (0700) whatever the umask; a clear error if it cannot be."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(
            f"{folder}: the data home is a file, not a folder; set INTERVIEWER_HOME to a folder"
        ) from None
    except OSError as exc:
        raise StoreError(
            f"{folder}: cannot create the data home ({exc.strerror or exc}); set INTERVIEWER_HOME to a writable folder"
        ) from None
    if not folder.is_dir():
        raise StoreError(f"{folder}: the data home is not a folder; set INTERVIEWER_HOME to a folder")
    if os.name == "posix" and (folder / "interviewer.db").exists():
        with contextlib.suppress(
            OSError
        ):  # a home made before homes were private, or by a loose umask: tighten it
            if stat.S_IMODE(folder.stat().st_mode) & 0o077:
                folder.chmod(0o700)


def make_private_file(path: Path) -> None:
    """A file of the data home readable by its owner only (0600), created so if it is new: transcripts and grades
    are personal."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
    except IsADirectoryError:
        raise StoreError(
            f"{path} is a folder, not a database; move it aside or set INTERVIEWER_HOME"
        ) from None
    except PermissionError:
        pass  # read-only, or not ours: SQLite says what it can or cannot do with it
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot use the database ({exc.strerror or exc}); set INTERVIEWER_HOME"
        ) from None
