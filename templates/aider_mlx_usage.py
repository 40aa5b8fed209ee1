# Written by aider-mlx next to its LiteLLM config (litellm_settings: callbacks: aider_mlx_usage.handler).
# After each completion the proxy answers it appends one JSON line to the turns log below: the model
# group, the server that answered (api_base, deployment id), prompt_tokens, cached_tokens and the
# x-litellm-session-id header. Never message text, never keys. `aider-mlx status` and the doctor read
# it to show each server's prompt cache hit rate. The log is kept small (two files of 256 KiB at most).
# A failure in here is swallowed: it can never break a completion.
import json
import os
import time

TURNS_LOG = "{{turns_log}}"
MAX_BYTES = 256 * 1024

try:
    from litellm.integrations.custom_logger import CustomLogger as _Base
except Exception:  # noqa: BLE001 - an older or trimmed litellm: the proxy still starts
    _Base = object


def _get(obj, key):
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _base_url(v):
    # scheme://host:port/path only: no user:password@, no query.
    if not isinstance(v, str):
        return None
    v = v.split("?", 1)[0].split("#", 1)[0]
    if "://" in v:
        scheme, rest = v.split("://", 1)
        host, _, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1]
        return scheme + "://" + host + ("/" + path if path else "")
    return v


def _seconds(v):
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return v.timestamp()
    except Exception:  # noqa: BLE001
        return None


def turn_of(kwargs, response_obj, start_time=None, end_time=None):
    """The line for one completion: only counts and names."""
    slo = kwargs.get("standard_logging_object") or {}
    meta = _get(slo, "metadata") or {}
    usage = _get(response_obj, "usage")
    details = _get(usage, "prompt_tokens_details")
    headers = _get(meta, "requester_custom_headers") or {}
    session = None
    if isinstance(headers, dict):
        for k, v in headers.items():
            if str(k).lower() == "x-litellm-session-id" and isinstance(v, str):
                session = v[:200]
    lp = kwargs.get("litellm_params") or {}
    return {
        "time": _seconds(end_time) or time.time(),
        "start": _seconds(start_time),
        "model_group": _get(slo, "model_group") or _get(_get(lp, "metadata"), "model_group"),
        "api_base": _base_url(_get(slo, "api_base") or _get(lp, "api_base")),
        "deployment": _get(slo, "model_id") or kwargs.get("model_id"),
        "prompt_tokens": _int(_get(usage, "prompt_tokens")),
        "cached_tokens": _int(_get(details, "cached_tokens")),
        "session": session,
        "stream": bool(kwargs.get("stream")),
    }


def append_line(line, path=TURNS_LOG, max_bytes=MAX_BYTES):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        if os.path.getsize(path) >= max_bytes:
            os.replace(path, path + ".1")
    except OSError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


class AiderMlxUsage(_Base):
    # The proxy calls the async hook for every completion, streamed or not (litellm 1.108.7).
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        try:
            append_line(turn_of(kwargs, response_obj, start_time, end_time))
        except Exception:  # noqa: BLE001 - never break a completion
            pass


handler = AiderMlxUsage()
