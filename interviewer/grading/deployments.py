"""Several deployments of one model (keys, endpoints, regions) behind a model profile, in litellm's `model_list`
format, routed by litellm's Router:

    [models.cohort]
    model = "openai/gpt-4o-mini"
    routing_strategy = "usage-based-routing-v2"     # optional: hold each deployment to its rpm/tpm

    [[models.cohort.model_list]]
    litellm_params = { model = "openai/gpt-4o-mini", api_base = "https://eu.example.com/v1", rpm = 500 }
    model_info = { id = "eu" }

Every deployment must serve the profile's model (a deployment whose model string differs, an Azure deployment
say, names it in `model_info.base_model`): the Router only ever picks among them, with no fallback to another
model, because a grade's model is part of its meaning. Each grade records the `id` of the deployment that served it.
This module only reads and checks; litellm is imported by `router_chat` when a grade is asked for."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from interviewer.errors import ConfigError, InputError

# litellm's routing strategies that pick among one group's deployments (none of them falls back to another model)
STRATEGIES = ("simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2")
DEPLOYMENT_KEYS = ("model_name", "litellm_params", "model_info")
PARAMS = {"model": str, "api_base": str, "api_key": str, "api_version": str, "rpm": int, "tpm": int,
          "max_parallel_requests": int, "timeout": float, "organization": str, "region_name": str}  # fmt: skip
ENV_PREFIX = "os.environ/"  # litellm's way of naming a key by its environment variable


def same_model(a: str, b: str) -> bool:
    """`openai/gpt-4o-mini` and `gpt-4o-mini` name one model; `azure/x` and `openai/x` do not (checked by the
    caller with `base_model`)."""
    return a == b or a.split("/", 1)[-1] == b or b.split("/", 1)[-1] == a


def _deployment_id(params: dict[str, Any], index: int, taken: set[str]) -> str:
    """A readable id for a deployment without one: its endpoint's host, else its model and position."""
    host = urlsplit(params["api_base"]).netloc if params.get("api_base") else ""
    name = host or f"{params['model']}#{index}"
    return name if name not in taken else f"{name}#{index}"


def read_model_list(profile: str, model: str, value: Any, where: str) -> list[dict[str, Any]]:
    """A profile's `model_list`, checked and completed: each deployment in the profile's group, with an `id`
    (`model_info.id`, given or derived), serving the profile's model. A config error names the deployment."""
    head = f"[models.{profile}] model_list"
    if not isinstance(value, list) or not value:
        raise ConfigError(
            where, None, f"{head} must be a list of deployments: [[models.{profile}.model_list]]"
        )
    out, taken, names = [], set(), set()
    for n, entry in enumerate(value, 1):
        at = f"{head} deployment {n}"
        if not isinstance(entry, dict):
            raise ConfigError(where, None, f"{at} must be a table with litellm_params = {{ model = … }}")
        unknown = sorted(set(entry) - set(DEPLOYMENT_KEYS))
        if unknown:
            raise ConfigError(
                where, None, f"{at}: unknown field {unknown[0]!r}; known: {', '.join(DEPLOYMENT_KEYS)}"
            )
        params, info = entry.get("litellm_params"), entry.get("model_info", {})
        if (
            not isinstance(params, dict)
            or not isinstance(params.get("model"), str)
            or not params["model"].strip()
        ):
            raise ConfigError(where, None, f'{at} needs litellm_params = {{ model = "{model}", … }}')
        if not isinstance(info, dict):
            raise ConfigError(where, None, f'{at}: model_info must be a table, like {{ id = "eu" }}')
        for key, val in params.items():
            typ = PARAMS.get(key)
            if key == "api_key_env":
                raise ConfigError(
                    where, None, f'{at}: name the key\'s variable as api_key = "os.environ/{val}"'
                )
            if typ is None:
                known = ", ".join(PARAMS)
                raise ConfigError(where, None, f"{at}: unknown litellm_params field {key!r}; known: {known}")
            ok = isinstance(val, typ) or (typ is float and isinstance(val, int))
            if not ok or isinstance(val, bool) or (typ in (int, float) and val <= 0):
                kind = "a string" if typ is str else f"a positive {'whole ' if typ is int else ''}number"
                raise ConfigError(where, None, f"{at}: {key} must be {kind}, got {val!r}")
        names.add(entry.get("model_name", profile))  # a proxy config's public name; the group is the profile
        if len(names) > 1:
            listed = ", ".join(sorted(map(str, names)))
            raise ConfigError(
                where,
                None,
                f"{at}: the deployments name different model groups ({listed}); a profile's "
                "deployments are one model: give each model its own profile",
            )
        served = info.get("base_model") or params["model"]
        if not isinstance(served, str) or not same_model(served, model):
            why = f"serves {served!r}, not the profile's {model!r}"
            raise ConfigError(
                where,
                None,
                f"{at} {why}: every deployment must be the same model (an Azure deployment names "
                "it in model_info.base_model); a grade's model is part of its meaning",
            )
        did = info.get("id")
        if did is None:
            did = _deployment_id(params, n, taken)
        if not isinstance(did, str) or not did.strip() or did in taken:
            raise ConfigError(where, None, f"{at}: model_info.id must be a word of its own, got {did!r}")
        taken.add(did)
        out.append({"model_name": profile, "litellm_params": dict(params), "model_info": {**info, "id": did}})
    return out


def has_literal_key(value: Any) -> bool:
    """True when some deployment writes its key in the file (not `os.environ/NAME`): the file must be 0600."""
    entries = value if isinstance(value, list) else []
    return any(
        isinstance(e, dict)
        and isinstance(e.get("litellm_params"), dict)
        and isinstance(e["litellm_params"].get("api_key"), str)
        and not e["litellm_params"]["api_key"].startswith(ENV_PREFIX)
        for e in entries
    )


def resolved(deployments: list[dict[str, Any]], env=None) -> list[dict[str, Any]]:
    """The model list as the Router takes it: keys named by environment variable looked up (a missing one is an
    input error naming it), and a local server without a key given a placeholder (the SDK insists on one)."""
    env = os.environ if env is None else env
    out = []
    for d in deployments:
        params = dict(d["litellm_params"])
        key = params.get("api_key")
        if isinstance(key, str) and key.startswith(ENV_PREFIX):
            var = key.removeprefix(ENV_PREFIX)
            if not env.get(var):
                raise InputError(
                    f"deployment {d['model_info']['id']} of profile {d['model_name']} reads its key from {var}, "
                    f"which is not set; export {var}=…"
                )
            params["api_key"] = env[var]
        elif key is None and params.get("api_base"):
            params["api_key"] = "not-needed"
        out.append({**d, "litellm_params": params})
    return out


def describe(deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What may be shown or stored of each deployment: id, model, endpoint and limits; never a key."""
    rows = []
    for d in deployments:
        p = d["litellm_params"]
        row = {"id": d["model_info"]["id"], "model": p["model"], "api_base": p.get("api_base")}
        row |= {k: p[k] for k in ("rpm", "tpm", "max_parallel_requests") if k in p}
        rows.append(row)
    return rows
