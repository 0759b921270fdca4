"""Changing `config.toml` from the command line (`config set`, `config edit`): one setting at a time, in place, so
comments and the order of the file stay as they were; what is written is read back and checked before it
replaces the file, which is kept readable by its owner only (0600), as a file that may hold a key must be.

A key is a setting (`model`, `timeout`, …) or a field of a model profile, `models.NAME.FIELD`."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from interviewer.config import (
    FIELDS,
    PROFILE_FIELDS,
    PROFILE_NAME,
    PROFILE_TYPES,
    PROFILES,
    SECRETS,
    _coerce,
    read_config_file,
)
from interviewer.errors import ConfigError, InputError

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

TEMPLATE = """# interviewer settings: flag > environment > this file > default ('interviewer config show' tells which won).
# model = "openai/gpt-4o-mini"
# api_base = "http://127.0.0.1:8000/v1"
# timeout = 60
#
# A named model profile, used with --model fast (its key from the environment variable it names):
# [models.fast]
# model = "openai/gpt-4o-mini"
# api_key_env = "OPENAI_API_KEY"
"""


def parse_key(key: str) -> tuple[str | None, str, type]:
    """`timeout` → (None, 'timeout', float); `models.fast.model` → ('models.fast', 'model', str)."""
    parts = key.strip().split(".")
    if len(parts) == 1 and parts[0] in FIELDS:
        return None, parts[0], FIELDS[parts[0]][2]
    if (
        len(parts) == 3
        and parts[0] == PROFILES
        and PROFILE_NAME.match(parts[1])
        and parts[2] in PROFILE_FIELDS
    ):
        return f"{PROFILES}.{parts[1]}", parts[2], PROFILE_TYPES[parts[2]]
    raise InputError(
        f"unknown setting {key!r}; a key is one of {', '.join(FIELDS)}, or {PROFILES}.NAME.FIELD with FIELD one of "
        f"{', '.join(PROFILE_FIELDS)}"
    )


def is_secret(key: str) -> bool:
    return key.split(".")[-1] in SECRETS


def toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: JSON's escapes are TOML's
    return repr(value)


def _with_line(lines: list[str], table: str | None, name: str, line: str) -> list[str]:
    """The file's lines with `name = …` in `table` (None: the top) replaced by `line`, or added at its end."""
    headers = [(i, m.group(1).replace(" ", "")) for i, ln in enumerate(lines) if (m := _HEADER.match(ln))]
    if table is None:
        start, end = 0, headers[0][0] if headers else len(lines)
    else:
        found = [i for i, (_, h) in enumerate(headers) if h == table]
        if not found:
            tail = lines[:]
            while tail and not tail[-1].strip():
                tail.pop()
            return [*tail, *([""] if tail else []), f"[{table}]", line]
        k = found[0]
        start = headers[k][0] + 1
        end = headers[k + 1][0] if k + 1 < len(headers) else len(lines)
    setting = re.compile(rf"^\s*{re.escape(name)}\s*=")
    for i in range(start, end):
        if setting.match(lines[i]):
            return [*lines[:i], line, *lines[i + 1 :]]
    at = end
    while at > start and not lines[at - 1].strip():
        at -= 1
    return [*lines[:at], line, *lines[at:]]


def set_value(path: Path, key: str, text: str) -> Any:
    """Set `key` to `text` (read as the setting's type) in the config file; returns the value written."""
    table, name, typ = parse_key(key)
    value = _coerce(name, text, typ, "the value")
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = _with_line(before.splitlines(), table, name, f"{name} = {toml_value(value)}")
    after = "\n".join(lines) + "\n"
    try:
        tomllib.loads(after)
    except (
        tomllib.TOMLDecodeError
    ) as exc:  # a file this editor cannot place the key in (e.g. an inline table)
        raise ConfigError(
            path, None, f"cannot set {key} here ({exc}); use 'interviewer config edit'"
        ) from None
    write_private(path, after, check=True)
    return value


def write_private(path: Path, text: str, check: bool = False) -> None:
    """Replace the file with `text`, readable by its owner only; with `check`, only if it reads back as a valid
    config file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if check:
            try:
                read_config_file(temp)
            except ConfigError as exc:  # named for the file it would have become
                raise ConfigError(path, None, f"not changed: {exc.message}") from None
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def file_value(path: Path, key: str) -> Any:
    """A key's value as the file has it (None when it does not), for `models.NAME[.FIELD]`."""
    data = read_config_file(path)
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
