"""Settings: flag > environment > config.toml > default, each value remembering where it came from.

A model may be named by a profile of the config file instead (`--model fast` with a `[models.fast]` table): the
profile's `model`, `api_base`, `timeout`, `retries` and `client` then stand in for those settings (a flag still
wins), and its key comes from the environment variable it names (`api_key_env`) or, in a 0600 file, `api_key`."""

from __future__ import annotations

import os
import re
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
    "client": ("INTERVIEWER_CLIENT", "auto", str),
    "check": ("INTERVIEWER_CHECK", "on", str),  # on: a session that grades with an LLM checks the model first
    "stt_model": ("INTERVIEWER_STT_MODEL", "openai/whisper-1", str),  # speech to text, for spoken answers
    "stt_api_base": ("INTERVIEWER_STT_API_BASE", None, str),
    "stt_api_key": ("INTERVIEWER_STT_API_KEY", None, str),
    "tts_model": ("INTERVIEWER_TTS_MODEL", None, str),  # text to speech, for --speak (else espeak-ng)
    "tts_api_base": ("INTERVIEWER_TTS_API_BASE", None, str),
    "tts_api_key": ("INTERVIEWER_TTS_API_KEY", None, str),
    "tts_voice": ("INTERVIEWER_TTS_VOICE", "alloy", str),
    "speak_to": ("INTERVIEWER_SPEAK_TO", None, str),  # --speak saves numbered WAVs here, not played
}
SECRETS = {"api_key", "stt_api_key", "tts_api_key"}
LANGS = ("zh", "en")  # the editions of the shipped bank
CLIENTS = ("auto", "litellm", "openai")  # how the LLM grader reaches its model (grading/models_for.py)
LOWEST = {"timeout": 0.1, "retries": 0, "concurrency": 1}
CHOICES = {"check": ("on", "off")}
PROFILES = "models"  # the config table of named model profiles: [models.NAME]
PROFILE_FIELDS = (
    "model",
    "api_base",
    "api_key",
    "api_key_env",
    "timeout",
    "retries",
    "client",
    "routing_strategy",
)
# a profile's deployments (grading/deployments.py) and how the Router picks one: not settings of their own
ROUTED = ("model_list", "routing_strategy")
PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # a bare word: never a model string (those have a '/')
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
    profile: str | None = None  # the model profile in use, when the model was named by one
    deployments: list[dict[str, Any]] | None = None  # the profile's deployments, routed by litellm's Router
    routing_strategy: str | None = None

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
    if name == "routing_strategy":
        from interviewer.grading.deployments import STRATEGIES

        if value not in STRATEGIES:
            raise ConfigError(
                where, None, f"routing_strategy must be one of {', '.join(STRATEGIES)}, got {value!r}"
            )
    if name == "client" and value not in CLIENTS:
        raise ConfigError(where, None, f"client must be one of {', '.join(CLIENTS)}, got {value!r}")
    if name in CHOICES and value not in CHOICES[name]:
        raise ConfigError(where, None, f"{name} must be one of {', '.join(CHOICES[name])}, got {value!r}")
    if name == "api_key_env" and not ENV_NAME.match(value):
        raise ConfigError(where, None, f"api_key_env must name an environment variable, got {value!r}")
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
    unknown = sorted(set(data) - set(FIELDS) - {PROFILES})
    if unknown:
        known = ", ".join([*FIELDS, f"[{PROFILES}.NAME]"])
        raise ConfigError(path, None, f"unknown setting {unknown[0]!r}; known: {known}")
    profiles = read_profiles(data, path)
    refuse_if_others_can_write(path)
    from interviewer.grading.deployments import has_literal_key

    secret = (
        next((k for k in SECRETS if k in data), None)
        or next((f"{PROFILES}.{n}.api_key" for n, p in profiles.items() if "api_key" in p), None)
        or next(
            (
                f"{PROFILES}.{n}.model_list"
                for n, p in profiles.items()
                if has_literal_key(p.get("model_list"))
            ),
            None,
        )
    )
    if secret and os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(path, None, f"holds {secret} but is readable by others; run: chmod 600 {path}")
    return data


def read_profiles(data: dict[str, Any], path: Path | str) -> dict[str, dict[str, Any]]:
    """The `[models.NAME]` tables of a config file, checked: each a table with a `model` and known fields."""
    profiles = data.get(PROFILES, {})
    if not isinstance(profiles, dict):
        raise ConfigError(
            path, None, f'{PROFILES} must be tables: [{PROFILES}.NAME] with model = "provider/name"'
        )
    for name, profile in profiles.items():
        where = f"[{PROFILES}.{name}]"
        if not PROFILE_NAME.match(name) or not isinstance(profile, dict):
            raise ConfigError(
                path, None, f"{where}: a profile is a table named by a word, like [{PROFILES}.fast]"
            )
        known = (*PROFILE_FIELDS, "model_list")
        unknown = sorted(set(profile) - set(known))
        if unknown:
            raise ConfigError(path, None, f"{where}: unknown field {unknown[0]!r}; known: {', '.join(known)}")
        if not isinstance(profile.get("model"), str) or not profile["model"].strip():
            raise ConfigError(path, None, f'{where}: needs model = "provider/name", e.g. openai/gpt-4o-mini')
        for key, value in profile.items():
            if key != "model_list":
                _coerce(key, value, PROFILE_TYPES[key], f"{path}: {where}")
        if "model_list" in profile:
            from interviewer.grading.deployments import read_model_list

            profile["model_list"] = read_model_list(name, profile["model"], profile["model_list"], str(path))
            clash = next((k for k in ("api_base", "api_key", "api_key_env") if k in profile), None)
            if clash:
                raise ConfigError(
                    path,
                    None,
                    f"{where}: {clash} belongs in each deployment's litellm_params, not beside model_list",
                )
        elif "routing_strategy" in profile:
            raise ConfigError(
                path, None, f"{where}: routing_strategy needs deployments: [[{PROFILES}.{name}.model_list]]"
            )
    return profiles


PROFILE_TYPES = {"model": str, "api_base": str, "api_key": str, "api_key_env": str, "timeout": float,
                 "retries": int, "client": str, "routing_strategy": str}  # fmt: skip


def _use_profile(settings: Settings, profiles: dict[str, dict[str, Any]], cfg_path: Path, env) -> None:
    """When the model setting names a profile, the profile's fields stand in for the settings it has (a flag
    wins)."""
    name = settings.values.get("model")
    if not isinstance(name, str) or name not in profiles:
        return
    profile = profiles[name]
    settings.profile = name
    where = f"profile {name} ({cfg_path})"
    for key, value in profile.items():
        if key in ROUTED:
            continue
        if key == "api_key_env":
            if settings.sources["api_key"] != "flag" and env.get(value):
                settings.values["api_key"] = env[value]
                settings.sources["api_key"] = f"env {value} (profile {name})"
            continue
        if key == "model" or settings.sources.get(key) != "flag":
            settings.values[key] = _coerce(key, value, PROFILE_TYPES[key], where)
            settings.sources[key] = where
    if "model_list" in profile:
        if settings.sources["api_base"] == "flag":
            raise ConfigError(
                where, None, "--api-base cannot be used with it: its deployments name their own endpoints"
            )
        settings.values["api_base"] = None  # never a stray endpoint from the environment
        settings.sources["api_base"] = f"{where}: its deployments"
        settings.deployments = profile["model_list"]
        settings.routing_strategy = profile.get("routing_strategy")


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
    _use_profile(settings, file_values.get(PROFILES, {}), cfg_path, env)
    return settings
