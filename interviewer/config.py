"""Settings: flag > environment > config.toml > default, each value remembering where it came from."""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interviewer.errors import ConfigError
from interviewer.grading.registry import GRADER_NAMES

# name: (env var, default, type)
FIELDS: dict[str, tuple[str | None, Any, type]] = {
    "model": ("INTERVIEWER_MODEL", None, str),
    "api_base": ("INTERVIEWER_API_BASE", None, str),
    "api_key": ("INTERVIEWER_API_KEY", None, str),
    "grader": ("INTERVIEWER_GRADER", None, str),
    "lang": ("INTERVIEWER_LANG", "zh", str),
    "mode": (None, "practice", str),
    "timeout": ("INTERVIEWER_TIMEOUT", 60.0, float),
    "retries": ("INTERVIEWER_RETRIES", 3, int),
    "concurrency": (None, 8, int),
}
SECRETS = {"api_key"}
LANGS = ("zh", "en")  # the editions of the shipped bank
LOWEST = {"timeout": 0.1, "retries": 0, "concurrency": 1}


def home_dir() -> Path:
    env = os.environ.get("INTERVIEWER_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("interviewer", appauthor=False))


def mask(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "…" + value[-2:] if len(value) > 8 else "***"


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    home: Path = field(default_factory=home_dir)

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def grader_kind(self) -> str:
        """The grader in use: as set, else the LLM grader when a model is configured, else offline."""
        if self.values.get("grader"):
            return self.values["grader"]
        return "llm" if self.values.get("model") else "offline"

    @property
    def db_path(self) -> Path:
        return self.home / "interviewer.db"

    def public(self) -> dict[str, Any]:
        """Values safe to show or store: secrets masked."""
        return {k: (mask(v) if k in SECRETS else v) for k, v in self.values.items()}


def _coerce(name: str, value: Any, typ: type, where: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or (typ is str and not isinstance(value, str)):
        raise ConfigError(where, None, f"{name} must be a {typ.__name__}, got {value!r}")
    try:
        value = typ(value)
    except (TypeError, ValueError):
        raise ConfigError(where, None, f"{name} must be a {typ.__name__}, got {value!r}") from None
    if name == "grader" and value not in GRADER_NAMES:
        raise ConfigError(where, None, f"grader must be one of {', '.join(GRADER_NAMES)}, got {value!r}")
    if name == "mode" and value not in ("practice", "interview"):
        raise ConfigError(where, None, f"mode must be 'practice' or 'interview', got {value!r}")
    if name == "lang" and value not in LANGS:
        raise ConfigError(where, None, f"lang must be one of {', '.join(LANGS)}, got {value!r}")
    low = LOWEST.get(name)
    if low is not None and value < low:
        raise ConfigError(where, None, f"{name} must be at least {low:g}, got {value!r}")
    return value


def refuse_if_others_can_write(path: Path) -> None:
    """A file that steers the grader (config, prompts, rubrics) must not be writable by other users: one of them
    could point `api_base` at their own server and receive the key."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o022:
        raise ConfigError(path, None, f"is writable by other users; run: chmod go-w {path}")


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(path, None, "unreadable encoding: config.toml must be UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"invalid TOML: {exc}") from None
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ConfigError(path, None, f"unknown setting {unknown[0]!r}; known: {', '.join(FIELDS)}")
    refuse_if_others_can_write(path)
    if "api_key" in data and os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(path, None, "holds api_key but is readable by others; run: chmod 600 " + str(path))
    return data


def load_settings(flags: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    home = home_dir()
    cfg_path = home / "config.toml"
    file_values = read_config_file(cfg_path)
    settings = Settings(home=home)
    for name, (env_var, default, typ) in FIELDS.items():
        if name in flags:
            value, source = flags[name], "flag"
        elif env_var and env.get(env_var):
            value, source = env[env_var], f"env {env_var}"
        elif name in file_values:
            value, source = file_values[name], str(cfg_path)
        else:
            value, source = default, "default"
        settings.values[name] = _coerce(name, value, typ, source)
        settings.sources[name] = source
    return settings
