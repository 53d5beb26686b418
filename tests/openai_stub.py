"""A scripted, OpenAI-compatible chat-completions server for tests and benches.

The LLM path talks to any OpenAI-compatible endpoint through ``langchain_openai.ChatOpenAI``.
There is no API key or network here, and mocking the client would skip exactly the layers
that break in practice (request shape, SSE parsing, error mapping, timeouts). So this is a
real HTTP server on 127.0.0.1 that answers from a script, standard library only, so bench
scripts can use it without test dependencies::

    with ScriptedOpenAIServer([Reply.json({"treatment": "treat"})]) as server:
        llm = ChatOpenAI(api_key="test", base_url=server.base_url, max_retries=0)
        ...
        assert server.requests[0]["response_format"]["type"] == "json_schema"
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

__all__ = ["Reply", "ScriptedOpenAIServer", "ToolCall"]

Responder = Callable[[dict[str, Any]], "Reply"]

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
_LLAMA_CPP_REFUSAL = 'response_format type must be one of "text" or "json_object", but got: '
_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolCall:
    """One tool call as sent on the wire; ``arguments`` is a raw string so it can be broken."""

    name: str
    arguments: str
    id: str = field(default_factory=lambda: f"call_{next(_ids)}")


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build it with the class methods, not the constructor."""

    content: str | None = None
    calls: tuple[ToolCall, ...] = ()
    status: int = 200
    error_type: str = ""
    delay_s: float = 0.0
    then: Reply | None = None
    refuses_json_schema: bool = False

    @classmethod
    def text(cls, content: str) -> Reply:
        """A plain assistant message."""
        return cls(content=content)

    @classmethod
    def json(cls, obj: Any) -> Reply:
        """An assistant message whose content is ``json.dumps(obj)`` (json_schema/json_mode)."""
        return cls(content=json.dumps(obj))

    @classmethod
    def tool_call(cls, name: str, args: dict[str, Any], *, content: str | None = None) -> Reply:
        """A single tool call (bind_tools, or structured output via function_calling)."""
        return cls.tool_calls((name, args), content=content)

    @classmethod
    def tool_calls(cls, *calls: tuple[str, dict[str, Any]], content: str | None = None) -> Reply:
        """Several tool calls in one message, as parallel tool calling produces."""
        return cls(
            content=content,
            calls=tuple(ToolCall(name, json.dumps(args)) for name, args in calls),
        )

    @classmethod
    def malformed(cls, text: str, *, tool_name: str | None = None) -> Reply:
        """Broken output: ``text`` as the content, or as the arguments of a ``tool_name`` call."""
        if tool_name is None:
            return cls(content=text)
        return cls(calls=(ToolCall(tool_name, text),))

    @classmethod
    def error(cls, status: int, message: str, type_: str | None = None) -> Reply:
        """An HTTP error with an OpenAI-style ``{"error": {...}}`` body (e.g. 429, 500, 400)."""
        return cls(
            content=message,
            status=status,
            error_type=type_ or _ERROR_TYPES.get(status, "api_error"),
        )

    @classmethod
    def delay(cls, seconds: float, then: Reply) -> Reply:
        """Sleep before answering with ``then``, to push the client past its timeout."""
        return cls(delay_s=seconds, then=then)

    @classmethod
    def refuse_response_format(cls, then: Reply) -> Reply:
        """Behave like a llama.cpp server without json_schema support.

        A request with ``response_format.type == "json_schema"`` gets HTTP 400 and the reply
        stays at the head of the script (the server would refuse every such request); any
        other request is answered with ``then`` and consumes it. So
        ``[Reply.refuse_response_format(Reply.tool_call(...))]`` scripts a client that falls
        back from json_schema to function calling.
        """
        return cls(then=then, refuses_json_schema=True)

    def resolve(self, request: dict[str, Any]) -> tuple[float, Reply]:
        """Seconds to wait, and the reply actually sent, for ``request``."""
        if self.then is None:
            return 0.0, self
        if self.refuses_json_schema and _wants_json_schema(request):
            return 0.0, Reply.error(400, _LLAMA_CPP_REFUSAL + "json_schema")
        delay, final = self.then.resolve(request)
        return self.delay_s + delay, final


def _wants_json_schema(request: dict[str, Any]) -> bool:
    response_format = request.get("response_format") or {}
    return isinstance(response_format, dict) and response_format.get("type") == "json_schema"


class ScriptedOpenAIServer:
    """OpenAI chat-completions server on 127.0.0.1 answering from a script.

    ``replies`` are consumed one per chat request; ``responder`` (if given) is called with
    each parsed request body instead. An exhausted script answers HTTP 500 saying so, which
    makes a test that sends more requests than expected fail loudly. ``requests`` holds
    every chat request body in arrival order, including ones that got errors.
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Responder | None = None,
        model: str = "stub-model",
    ) -> None:
        self.requests: list[dict[str, Any]] = []
        self.model = model
        self._queue: deque[Reply] = deque(replies)
        self._responder = responder
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        cast(Any, self._httpd).stub = self
        # A short poll interval keeps shutdown() (and so every test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="scripted-openai",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` / ``OPENAI_BASE_URL``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def remaining(self) -> int:
        """Replies not yet consumed; assert 0 at the end to prove the script was used up."""
        with self._lock:
            return len(self._queue)

    def push(self, *replies: Reply) -> None:
        """Append replies while running (e.g. after inspecting the first requests)."""
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> ScriptedOpenAIServer:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and wake delayed handlers so nothing outlives the test."""
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def next_reply(self, request: dict[str, Any]) -> Reply | None:
        """Record ``request`` and pick its reply; ``None`` means the script ran out."""
        with self._lock:
            self.requests.append(request)
            if self._responder is None:
                if not self._queue:
                    return None
                head = self._queue[0]
                if not (head.refuses_json_schema and _wants_json_schema(request)):
                    self._queue.popleft()
                return head
        return self._responder(request)

    def wait(self, seconds: float) -> bool:
        """Sleep for a delayed reply; ``False`` if the server closed meanwhile."""
        return not self._closing.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    """Speaks just enough of the OpenAI REST API for ChatOpenAI and the openai SDK."""

    server_version = "ScriptedOpenAI/1.0"

    @property
    def stub(self) -> ScriptedOpenAIServer:
        return cast(Any, self.server).stub

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; ``stub.requests`` is the record."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            model = {"id": self.stub.model, "object": "model", "created": 0, "owned_by": "stub"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(404, f"no route for GET {self.path}", "not_found_error")

    def do_POST(self) -> None:
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send_error(404, f"no route for POST {self.path}", "not_found_error")
            return
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        except json.JSONDecodeError as exc:
            self._send_error(400, f"request body is not JSON: {exc}", "invalid_request_error")
            return
        try:
            reply = self.stub.next_reply(request)
        except Exception as exc:  # a broken responder must surface in the test, not hang it
            self._send_error(500, f"responder raised {exc!r}", "server_error")
            return
        if reply is None:
            self._send_error(500, "scripted OpenAI server ran out of replies", "server_error")
            return
        delay, reply = reply.resolve(request)
        if delay and not self.stub.wait(delay):
            return
        try:
            if reply.status != 200:
                self._send_error(reply.status, reply.content or "", reply.error_type)
            elif request.get("stream"):
                self._send_stream(request, reply)
            else:
                self._send_json(200, _completion(request, reply, self.stub.model))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to answer

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, type_: str) -> None:
        error = {"message": message, "type": type_, "param": None, "code": None}
        self._send_json(status, {"error": error})

    def _send_stream(self, request: dict[str, Any], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for chunk in _chunks(request, reply, self.stub.model):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _usage(request: dict[str, Any], reply: Reply) -> dict[str, int]:
    """Rough token counts (4 characters a token) so usage metadata is non-trivial."""
    prompt = len(json.dumps(request.get("messages", []))) // 4 + 1
    completion = (len(reply.content or "") + sum(len(t.arguments) for t in reply.calls)) // 4
    completion += 1
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _envelope(request: dict[str, Any], model: str, obj: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-stub{next(_ids)}",
        "object": obj,
        "created": int(time.time()),
        "model": request.get("model") or model,
        "system_fingerprint": "stub",
    }


def _finish_reason(reply: Reply) -> str:
    return "tool_calls" if reply.calls else "stop"


def _completion(request: dict[str, Any], reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.calls:
        message["tool_calls"] = [
            {"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments}}
            for t in reply.calls
        ]
    choice = {"index": 0, "message": message, "finish_reason": _finish_reason(reply)}
    body = _envelope(request, model, "chat.completion")
    body.update(choices=[{**choice, "logprobs": None}], usage=_usage(request, reply))
    return body


def _pieces(text: str, n: int = 3) -> list[str]:
    """Split ``text`` into up to ``n`` chunks so clients must reassemble it."""
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _chunks(request: dict[str, Any], reply: Reply, model: str) -> Iterator[dict[str, Any]]:
    """The chat.completion.chunk sequence OpenAI sends for ``reply`` when streaming."""
    base = _envelope(request, model, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**base, "choices": [choice]}

    yield chunk({"role": "assistant", "content": ""})
    for piece in _pieces(reply.content or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(reply.calls):
        opening = {"index": index, "id": call.id, "type": "function"}
        yield chunk({"tool_calls": [{**opening, "function": {"name": call.name, "arguments": ""}}]})
        for piece in _pieces(call.arguments):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, _finish_reason(reply))
    if (request.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": _usage(request, reply)}
