"""A scriptable fake OpenAI chat-completions server for tests (standard library only).

The server listens on 127.0.0.1 (random free port) and speaks enough of the
OpenAI HTTP protocol for the ``openai`` client and ``litellm`` to talk to it::

    with FakeOpenAI() as server:
        server.script(Reply("hello"), Status(429, headers={"Retry-After": "1"}))
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        ...
        assert server.requests[0]["json"]["model"] == "gpt-4o-mini"

Endpoints
---------
* ``POST /v1/chat/completions`` and ``POST /chat/completions``: answered by the
  next scripted step (see below).
* ``POST /v1/audio/transcriptions`` and ``POST /audio/transcriptions``
  (multipart form: ``file``, ``model``, ``response_format``, …): answered by
  the next step of the transcription queue (see ``Transcript`` below).
* ``POST /v1/audio/speech`` and ``POST /audio/speech`` (JSON: ``model``,
  ``input``, ``voice``, ``response_format``): answered by the next step of the
  speech queue (see ``Speech`` below).
* ``GET /v1/models`` and ``GET /models``: a small fixed model list.
* Anything else: 404 with an OpenAI-style error body (recorded, no step used).

Server API
----------
``FakeOpenAI(default=None, latency=0.0)``
    ``start()`` binds 127.0.0.1 port 0, serves in a daemon thread and returns
    ``self``; ``stop()`` shuts it down (idempotent): it wakes up every pending
    ``Hang`` / latency wait, closes open connections and joins the threads.
    Usable as a context manager (``with FakeOpenAI() as server:``).
``.port`` / ``.base_url``
    The bound port and ``"http://127.0.0.1:PORT/v1"``.
``.script(*steps)``
    Append steps to a FIFO queue; each chat-completion request consumes one.
``.default``
    Used when the queue is empty: a step, or a callable
    ``(request_json: dict | None) -> step``. Initially ``Reply("OK")``.
``.latency``
    Default delay in seconds for ``Reply`` steps whose ``latency`` is ``None``.
``.requests``
    Snapshot (a new list on each access) of every recorded request, in arrival
    order. Each entry is a dict ``{"method", "path", "headers", "json", "body"}``:
    ``headers`` has lower-cased names, ``json`` is the parsed body (``None``
    when the body is empty or not valid JSON), ``body`` is the raw bytes.
``.last_request``
    The most recent recorded request (``None`` if there is none).
``.pending``
    Number of scripted steps not consumed yet.
``.wait_for_requests(n, timeout=5.0) -> bool``
    Block until at least ``n`` requests have been recorded.
``.reset()``
    Forget recorded requests and scripted steps.
``.script_transcription(*steps)`` / ``.transcription_default``
    The transcription endpoint's own FIFO queue and default (a step, or a
    callable ``(record) -> step``, where ``record`` is the recorded request with
    ``form`` (field → str) and ``files`` (field → ``(filename, bytes)``));
    initially ``Transcript("OK")``. A plain ``str`` is ``Transcript(that_str)``;
    ``Status``, ``Raw``, ``Hang`` and ``Drop`` work as for chat.
``.transcriptions``
    The recorded transcription requests (each with ``form`` and ``files``).
``.script_speech(*steps)`` / ``.speech_default`` / ``.speeches``
    The same for the speech endpoint: its own FIFO queue, its default (a step,
    or a callable ``(record) -> step``; initially ``Speech()``) and its
    recorded requests. ``Status``, ``Raw``, ``Hang`` and ``Drop`` work as for
    chat.

Steps (dataclasses)
-------------------
``Reply(content, latency=None, prompt_tokens=None, completion_tokens=None, finish_reason="stop", choices=None)``
    200 with a ``chat.completion`` JSON body (``id``, ``object``, ``created``,
    ``model`` echoed from the request, ``choices[0].message`` =
    ``{"role": "assistant", "content": ...}``, ``finish_reason``, ``usage``).
    ``content`` is a string, ``None`` (sent as ``"content": null``) or a
    callable ``(request_json) -> str``. ``choices``, when not ``None``, is sent
    as the body's ``choices`` as is, in place of the generated one (not in a
    stream): ``[]`` for a reply without a choice,
    ``[{"index": 0, "message": None}]`` for one without a message.
    ``latency=None`` means "use the server's ``.latency``". Token counts left at
    ``None`` are estimated (about four characters per token, at least 1).
    A plain ``str`` given as a step is shorthand for ``Reply(that_str)``.
    If the request has ``"stream": true`` the reply is sent as a server-sent
    event stream: one ``chat.completion.chunk`` carrying the whole content and
    the finish reason, a usage chunk when ``stream_options.include_usage`` is
    set, then ``data: [DONE]``.
``Status(code, body=None, headers=None, latency=0.0, content_type=None)``
    Answer with HTTP status ``code``. ``body``: ``None`` gives an OpenAI-style
    error JSON (``{"error": {"message", "type", "param", "code"}}``) fitting
    the status; a ``dict`` is sent as JSON; a ``str`` is sent as is, with
    content type ``text/html`` when it starts with ``<``, else ``text/plain``.
    ``content_type`` (or a ``Content-Type`` in ``headers``) overrides that.
    ``headers`` are added to the response, e.g. ``{"Retry-After": "1"}``.
``Raw(body, status=200, content_type="application/json", headers=None)``
    Send ``body`` (bytes, or str encoded as UTF-8) verbatim, e.g. non-JSON or
    truncated JSON.
``Hang(seconds, then=None)``
    Wait ``seconds`` before answering (to trigger client timeouts), then
    answer with ``then`` (a step; ``None`` means the server's ``.default``).
    ``stop()`` ends the wait at once; the connection is then closed without
    a response.
``Drop()``
    Close the connection without sending any response.

A step that cannot be served (not a step, or a ``content`` / ``.default``
callable that raises) gets a 500 whose error message names the exception.

``Transcript(text, segments=None, duration=None, language="en", latency=0.0)``
    200 with a transcription: ``{"text"}`` for ``response_format=json`` (the
    default), the text alone for ``text``, and for ``verbose_json``
    ``{"task", "language", "duration", "text", "segments"}``, each segment a
    ``(start, end, text)`` triple sent as ``{"id", "start", "end", "text", …}``.

``Speech(seconds_per_char=0.02, latency=0.0)``
    200 with a WAV file (``audio/wav``; 8 kHz, mono, 16-bit): a 440 Hz tone
    lasting ``seconds_per_char`` per character of the request's ``input``
    (at least 0.1 s), whatever ``response_format`` asked for.

``chat_json_reply(obj, **reply_kwargs)`` returns
``Reply(json.dumps(obj, ensure_ascii=False), **reply_kwargs)``.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Drop",
    "FakeOpenAI",
    "Hang",
    "Raw",
    "Reply",
    "Speech",
    "Status",
    "Step",
    "Transcript",
    "chat_json_reply",
]

MODELS = ("gpt-4o-mini", "gpt-4o", "fake-model")

_CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
_MODEL_PATHS = frozenset({"/v1/models", "/models"})
_TRANSCRIPTION_PATHS = frozenset({"/v1/audio/transcriptions", "/audio/transcriptions"})
_SPEECH_PATHS = frozenset({"/v1/audio/speech", "/audio/speech"})

# status -> (error type, error code) for generated OpenAI-style error bodies
_ERROR_KINDS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout_error", "timeout"),
    409: ("conflict_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "gateway_timeout"),
}


@dataclass
class Reply:
    """200 with a chat.completion body (see module docstring)."""

    content: str | None | Callable[[Any], str]
    latency: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    choices: list | None = None


@dataclass
class Status:
    """An HTTP error status, with an OpenAI-style JSON error body by default."""

    code: int
    body: str | dict | None = None
    headers: dict[str, str] | None = None
    latency: float = 0.0
    content_type: str | None = None


@dataclass
class Raw:
    """An arbitrary response body sent verbatim."""

    body: bytes | str
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] | None = None


@dataclass
class Hang:
    """Wait ``seconds`` (interruptible by ``stop()``), then answer with ``then``."""

    seconds: float
    then: Step | None = None


@dataclass
class Drop:
    """Close the connection without any response."""


@dataclass
class Transcript:
    """200 with a transcription of the uploaded audio (see module docstring)."""

    text: str
    segments: list[tuple[float, float, str]] | None = None
    duration: float | None = None
    language: str = "en"
    latency: float = 0.0


@dataclass
class Speech:
    """200 with a WAV tone as long as the input text (see module docstring)."""

    seconds_per_char: float = 0.02
    latency: float = 0.0


Step = Reply | Status | Raw | Hang | Drop | Transcript | Speech | str


def tone_wav(seconds: float, rate: int = 8000) -> bytes:
    """A WAV file of a 440 Hz sine tone, ``seconds`` long."""
    import io
    import math
    import struct
    import wave

    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buffer.getvalue()


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """A multipart/form-data body as (form fields, files); empty when it is not one."""
    import email.parser
    import email.policy

    if not content_type.lower().startswith("multipart/form-data"):
        return {}, {}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, data)
        else:
            form[name] = data.decode("utf-8", errors="replace")
    return form, files


def chat_json_reply(obj: Any, **reply_kwargs: Any) -> Reply:
    """A Reply whose content is ``json.dumps(obj, ensure_ascii=False)``."""
    return Reply(json.dumps(obj, ensure_ascii=False), **reply_kwargs)


def error_body(code: int, message: str | None = None) -> dict:
    """An OpenAI-style error body for HTTP status ``code``."""
    err_type, err_code = _ERROR_KINDS.get(
        code, ("server_error" if code >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": message or f"Fake OpenAI server error (HTTP {code}).",
            "type": err_type,
            "param": None,
            "code": err_code,
        }
    }


def _estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _prompt_text(request_json: Any) -> str:
    if not isinstance(request_json, dict):
        return ""
    parts = []
    for message in request_json.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(
                item["text"]
                for item in content
                if isinstance(item, dict) and isinstance(item.get("text"), str)
            )
    return "\n".join(parts)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Many parallel clients may connect at once; a short listen backlog would
    # make the kernel drop SYNs and the clients retry a second later.
    request_queue_size = 128

    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or disconnect are expected; stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall between them
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track_connection(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # --- HTTP verbs -------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        record = self._read_and_record()
        path = record["path"]
        if self.server.fake.batches.handles(path):  # files and batches: see openai_batches
            return self._batch_endpoint(record)
        if path in _MODEL_PATHS:
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": name, "object": "model", "created": 1700000000, "owned_by": "fake"}
                        for name in MODELS
                    ],
                },
            )
        else:
            self._send_json(404, error_body(404, f"Unknown path: {path}"))

    def do_POST(self) -> None:  # noqa: N802
        record = self._read_and_record()
        if self.server.fake.batches.handles(record["path"]):
            return self._batch_endpoint(record)
        if record["path"] in _TRANSCRIPTION_PATHS:
            self._transcription(record)
            return
        if record["path"] in _SPEECH_PATHS:
            self._speech(record)
            return
        if record["path"] not in _CHAT_PATHS:
            self._send_json(404, error_body(404, f"Unknown path: {record['path']}"))
            return
        try:
            step = self.server.fake._next_step(record["json"])
            self._perform(step, record["json"])
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # a broken step or content callable: make it visible
            message = f"FakeOpenAI step failed: {type(exc).__name__}: {exc}"
            self._send_json(500, error_body(500, message))

    def _transcription(self, record: dict) -> None:
        record["form"], record["files"] = parse_multipart(
            record["headers"].get("content-type", ""), record["body"]
        )
        fake = self.server.fake
        try:
            step = fake._next_transcription_step(record)
            self._perform_transcription(step, record)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:
            self._send_json(500, error_body(500, f"FakeOpenAI step failed: {type(exc).__name__}: {exc}"))

    def _perform_transcription(self, step: Any, record: dict) -> None:
        fake = self.server.fake
        if isinstance(step, str):
            step = Transcript(step)
        if isinstance(step, Hang):
            if not fake._sleep(step.seconds):
                return self._abort()
            then = step.then if step.then is not None else fake._resolve_transcription_default(record)
            return self._perform_transcription(then, record)
        if not isinstance(step, Transcript):
            return self._perform(step, None)
        if not fake._sleep(step.latency):
            return self._abort()
        fmt = record["form"].get("response_format") or "json"
        if fmt == "text":
            return self._send(200, step.text.encode("utf-8"), "text/plain; charset=utf-8")
        body: dict[str, Any] = {"text": step.text}
        if fmt == "verbose_json":
            segments = step.segments or []
            duration = step.duration if step.duration is not None else (segments[-1][1] if segments else 0.0)
            body = {
                "task": "transcribe",
                "language": step.language,
                "duration": duration,
                "text": step.text,
                "segments": [
                    {
                        "id": i,
                        "seek": 0,
                        "start": a,
                        "end": b,
                        "text": t,
                        "tokens": [],
                        "temperature": 0.0,
                        "avg_logprob": -0.2,
                        "compression_ratio": 1.0,
                        "no_speech_prob": 0.01,
                    }
                    for i, (a, b, t) in enumerate(segments)
                ],  # fmt: skip
            }
        return self._send_json(200, body)

    def _speech(self, record: dict) -> None:
        try:
            self._perform_speech(self.server.fake._next_speech_step(record), record)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:
            self._send_json(500, error_body(500, f"FakeOpenAI step failed: {type(exc).__name__}: {exc}"))

    def _perform_speech(self, step: Any, record: dict) -> None:
        fake = self.server.fake
        if isinstance(step, Hang):
            if not fake._sleep(step.seconds):
                return self._abort()
            then = step.then if step.then is not None else fake._resolve_speech_default(record)
            return self._perform_speech(then, record)
        if not isinstance(step, Speech):
            return self._perform(step, None)
        if not fake._sleep(step.latency):
            return self._abort()
        text = (record["json"] or {}).get("input") or ""
        return self._send(200, tone_wav(max(0.1, len(str(text)) * step.seconds_per_char)), "audio/wav")

    def _batch_endpoint(self, record: dict) -> None:
        status, body = self.server.fake.batches.answer(
            record["method"], record["path"], record, parse_multipart
        )
        if isinstance(body, bytes):
            self._send(status, body, "application/octet-stream")
        else:
            self._send_json(status, body)

    # --- helpers ----------------------------------------------------------

    def _read_and_record(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = {
            "method": self.command,
            "path": self.path.split("?", 1)[0],
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "json": parsed,
            "body": body,
        }
        self.server.fake._record(record)
        return record

    def _perform(self, step: Any, request_json: Any) -> None:
        fake = self.server.fake
        if isinstance(step, str):
            step = Reply(step)
        if isinstance(step, Reply):
            latency = fake.latency if step.latency is None else step.latency
            if not fake._sleep(latency):
                return self._abort()
            self._send_reply(step, request_json)
        elif isinstance(step, Status):
            if not fake._sleep(step.latency):
                return self._abort()
            self._send_status(step)
        elif isinstance(step, Raw):
            body = step.body.encode("utf-8") if isinstance(step.body, str) else step.body
            self._send(step.status, body, step.content_type, step.headers)
        elif isinstance(step, Hang):
            if not fake._sleep(step.seconds):
                return self._abort()
            then = step.then if step.then is not None else fake._resolve_default(request_json)
            self._perform(then, request_json)
        elif isinstance(step, Drop):
            self._abort()
        else:
            raise TypeError(f"not a FakeOpenAI step: {step!r}")
        return None

    def _abort(self) -> None:
        """Close the connection without sending anything."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        extra = dict(headers or {})
        has_type = any(k.lower() == "content-type" for k in extra)
        self.send_response(status)
        if content_type and not has_type:
            self.send_header("Content-Type", content_type)
        for name, value in extra.items():
            if name.lower() != "content-length":
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_fake_{next(_ids)}")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json", headers)

    def _send_status(self, step: Status) -> None:
        if step.body is None:
            body = json.dumps(error_body(step.code)).encode("utf-8")
            content_type = "application/json"
        elif isinstance(step.body, dict):
            body = json.dumps(step.body, ensure_ascii=False).encode("utf-8")
            content_type = "application/json"
        else:
            body = step.body.encode("utf-8")
            is_html = step.body.lstrip().startswith("<")
            content_type = "text/html; charset=utf-8" if is_html else "text/plain; charset=utf-8"
        self._send(step.code, body, step.content_type or content_type, step.headers)

    def _send_reply(self, step: Reply, request_json: Any) -> None:
        content = step.content(request_json) if callable(step.content) else step.content
        request = request_json if isinstance(request_json, dict) else {}
        model = request.get("model") or MODELS[0]
        prompt_tokens = step.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = _estimate_tokens(_prompt_text(request_json))
        completion_tokens = step.completion_tokens
        if completion_tokens is None:
            completion_tokens = _estimate_tokens(content or "")
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        completion_id = f"chatcmpl-fake{next(_ids)}"
        created = int(time.time())

        if request.get("stream") is True:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": step.finish_reason,
                    }
                ],
            }
            events = [chunk]
            stream_options = request.get("stream_options") or {}
            if isinstance(stream_options, dict) and stream_options.get("include_usage"):
                events.append({**chunk, "choices": [], "usage": usage})
            body = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events)
            body += "data: [DONE]\n\n"
            self._send(200, body.encode("utf-8"), "text/event-stream", {"Cache-Control": "no-cache"})
            return

        self._send_json(
            200,
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": step.finish_reason,
                    }
                ]
                if step.choices is None
                else step.choices,
                "usage": usage,
            },
        )


_ids = itertools.count(1)


class FakeOpenAI:
    """Scriptable fake OpenAI server; see the module docstring."""

    def __init__(self, default: Any = None, latency: float = 0.0) -> None:
        self.default: Any = Reply("OK") if default is None else default
        self.latency: float = latency
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._requests: list[dict] = []
        self._queue: collections.deque = collections.deque()
        self._transcription_queue: collections.deque = collections.deque()
        self.transcription_default: Any = Transcript("OK")
        self._speech_queue: collections.deque = collections.deque()
        self.speech_default: Any = Speech()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        import runpy
        from pathlib import Path

        # the file beside this one, however this one was loaded (imported, or run by path as bench/ does)
        batches_module = runpy.run_path(str(Path(__file__).with_name("openai_batches.py")))
        BatchEndpoints = batches_module["BatchEndpoints"]  # noqa: N806

        self.batches = BatchEndpoints(self)  # /v1/files and /v1/batches (see openai_batches)
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------

    def start(self) -> FakeOpenAI:
        if self._server is not None:
            raise RuntimeError("FakeOpenAI already started")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeOpenAI:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        server = self._server
        if server is None or self._stopping.is_set():
            return
        self._stopping.set()  # wakes Hang and latency waits
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = dict(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in connections.values():
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FakeOpenAI:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- addresses --------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeOpenAI not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- scripting and inspection ----------------------------------------

    def script(self, *steps: Step) -> FakeOpenAI:
        with self._lock:
            self._queue.extend(steps)
        return self

    def script_transcription(self, *steps: Step) -> FakeOpenAI:
        with self._lock:
            self._transcription_queue.extend(steps)
        return self

    @property
    def transcriptions(self) -> list[dict]:
        with self._lock:
            return [r for r in self._requests if r["path"] in _TRANSCRIPTION_PATHS]

    def script_speech(self, *steps: Step) -> FakeOpenAI:
        with self._lock:
            self._speech_queue.extend(steps)
        return self

    @property
    def speeches(self) -> list[dict]:
        with self._lock:
            return [r for r in self._requests if r["path"] in _SPEECH_PATHS]

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[dict]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> dict | None:
        with self._lock:
            return self._requests[-1] if self._requests else None

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        with self._recorded:
            return self._recorded.wait_for(lambda: len(self._requests) >= n, timeout)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._queue.clear()
            self._transcription_queue.clear()
            self._speech_queue.clear()

    # --- used by the handler ---------------------------------------------

    def _record(self, record: dict) -> None:
        with self._recorded:
            self._requests.append(record)
            self._recorded.notify_all()

    def _next_step(self, request_json: Any) -> Any:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self._resolve_default(request_json)

    def _next_transcription_step(self, record: dict) -> Any:
        with self._lock:
            if self._transcription_queue:
                return self._transcription_queue.popleft()
        return self._resolve_transcription_default(record)

    def _next_speech_step(self, record: dict) -> Any:
        with self._lock:
            if self._speech_queue:
                return self._speech_queue.popleft()
        return self._resolve_speech_default(record)

    def _resolve_speech_default(self, record: dict) -> Any:
        default = self.speech_default
        return default(record) if callable(default) else default

    def _resolve_transcription_default(self, record: dict) -> Any:
        default = self.transcription_default
        return default(record) if callable(default) else default

    def _resolve_default(self, request_json: Any) -> Any:
        default = self.default
        if callable(default):
            return default(request_json)
        return default

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; False if the server is stopping (before or during the wait)."""
        if seconds and seconds > 0:
            return not self._stopping.wait(seconds)
        return not self._stopping.is_set()

    def _track_connection(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections[conn] = threading.current_thread()
            else:
                self._connections.pop(conn, None)
