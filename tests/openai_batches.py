"""The files and batches endpoints of the OpenAI protocol for `openai_server.FakeOpenAI` (standard library only).

* ``POST /v1/files`` (multipart: ``purpose``, ``file``) stores the upload; ``GET /v1/files/{id}`` its object,
  ``GET /v1/files/{id}/content`` its bytes.
* ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window``) makes a job;
  ``GET /v1/batches/{id}`` retrieves it. Each retrieve moves the job on: ``in_progress`` for the first
  ``server.batches.polls`` retrieves (its ``request_counts.completed`` rising with each), then its outcome, ``server.batches.outcome``:

  - ``"completed"``: every request answered by the server's chat ``default`` (a ``Reply`` step, as for a live
    call), in an output file;
  - ``("failed_after", n)``: the first ``n`` requests answered, the others in an error file (status
    ``completed``, as a provider reports a job where some requests failed);
  - ``("expired_after", n)``: the first ``n`` answered, the job ``expired``; the rest in an error file with code
    ``batch_expired``.

``server.batches.jobs`` holds every job (its ``input`` lines included).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

_ids = itertools.count(1)


class BatchEndpoints:
    def __init__(self, fake) -> None:
        self.fake = fake
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls = 1
        self.outcome: Any = "completed"
        self.lock = threading.Lock()

    def handles(self, path: str) -> bool:
        return path.startswith(("/v1/files", "/v1/batches", "/files", "/batches"))

    # ------------------------------------------------------------ files

    def _file(self, purpose: str, filename: str, data: bytes) -> dict[str, Any]:
        fid = f"file-{next(_ids)}"
        obj = {
            "id": fid,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        self.files[fid] = {"object": obj, "data": data}
        return obj

    def answer(self, method: str, path: str, record: dict, parse_multipart) -> tuple[int, Any]:
        """(status, JSON body or raw bytes) for one request."""
        parts = [p for p in path.split("/") if p and p != "v1"]
        with self.lock:
            if parts == ["files"] and method == "POST":
                form, files = parse_multipart(record["headers"].get("content-type", ""), record["body"])
                filename, data = files.get("file", ("upload.jsonl", b""))
                return 200, self._file(form.get("purpose", "batch"), filename, data)
            if parts[:1] == ["files"] and len(parts) >= 2:
                f = self.files.get(parts[1])
                if f is None:
                    return 404, {
                        "error": {"message": f"No such file: {parts[1]}", "type": "invalid_request_error"}
                    }
                return (200, f["data"]) if parts[2:] == ["content"] else (200, f["object"])
            if parts == ["batches"] and method == "POST":
                body = record["json"] or {}
                f = self.files.get(body.get("input_file_id"))
                if f is None:
                    return 400, {
                        "error": {"message": "input_file_id not found", "type": "invalid_request_error"}
                    }
                lines = [json.loads(x) for x in f["data"].decode().splitlines() if x.strip()]
                bid = f"batch_{next(_ids)}"
                self.jobs[bid] = {
                    "input": lines,
                    "polls": 0,
                    "object": {
                        "id": bid,
                        "object": "batch",
                        "endpoint": body.get("endpoint"),
                        "input_file_id": body.get("input_file_id"),
                        "completion_window": body.get("completion_window", "24h"),
                        "status": "validating",
                        "output_file_id": None,
                        "error_file_id": None,
                        "created_at": int(time.time()),
                        "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                        "metadata": body.get("metadata"),
                        "errors": None,
                    },
                }
                return 200, self.jobs[bid]["object"]
            if parts[:1] == ["batches"] and len(parts) == 2 and method == "GET":
                job = self.jobs.get(parts[1])
                if job is None:
                    return 404, {
                        "error": {"message": f"No such batch: {parts[1]}", "type": "invalid_request_error"}
                    }
                job["polls"] += 1
                obj = job["object"]
                if obj["status"] in ("validating", "in_progress"):
                    if job["polls"] <= self.polls:
                        obj["status"] = "in_progress"
                        total = len(job["input"])  # the job moves on with each retrieve, as a provider's does
                        obj["request_counts"]["completed"] = total * job["polls"] // (self.polls + 1)
                    else:
                        self._finish(job)
                return 200, obj
        return 404, {"error": {"message": f"Unknown path: {path}", "type": "invalid_request_error"}}

    def _finish(self, job: dict[str, Any]) -> None:
        outcome, n = (self.outcome, None) if isinstance(self.outcome, str) else self.outcome
        lines = job["input"]
        answered = lines if n is None else lines[:n]
        rest = [] if n is None else lines[n:]
        out = [self._reply_line(x) for x in answered]
        if outcome == "expired_after":
            code, message, status = (
                "batch_expired",
                "This request could not be executed before the completion window expired.",
                "expired",
            )
        else:
            code, message, status = (
                "server_error",
                "The server had an error processing this request.",
                "completed",
            )
        errors = [
            {
                "id": f"batch_req_{next(_ids)}",
                "custom_id": x["custom_id"],
                "response": None,
                "error": {"code": code, "message": message},
            }
            for x in rest
        ]
        obj = job["object"]
        obj["status"] = status
        if out:
            obj["output_file_id"] = self._file("batch_output", "output.jsonl", _jsonl(out))["id"]
        if errors:
            obj["error_file_id"] = self._file("batch_output", "errors.jsonl", _jsonl(errors))["id"]
        obj["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(errors)}

    def _reply_line(self, request: dict[str, Any]) -> dict[str, Any]:
        body = request.get("body") or {}
        step = self.fake._resolve_default(body)
        content = step.content(body) if callable(step.content) else step.content
        return {
            "id": f"batch_req_{next(_ids)}",
            "custom_id": request["custom_id"],
            "response": {
                "status_code": 200,
                "request_id": f"req_{next(_ids)}",
                "body": {
                    "id": f"chatcmpl-b{next(_ids)}",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 300, "completion_tokens": 100, "total_tokens": 400},
                },
            },
            "error": None,
        }


def _jsonl(rows: list[dict]) -> bytes:
    return ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n").encode()
