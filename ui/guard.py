"""Who may talk to the chat server: its own pages only, and without login only with a token.

The app runs code on the analyst's machine, so a web page on another site must not be able
to drive it. Chainlit's socket.io server accepts any Origin (CORS handling is switched off)
and, with no login configured, any client at all. This ASGI middleware sits in front of all
of Chainlit (HTTP routes and the websocket) and

- refuses a request whose ``Origin`` is not the app's own address (a foreign page);
- refuses a ``Host`` that is not the app's own address when there is no login, so a
  DNS-rebinding page cannot pose as the app's origin;
- without login, requires the per-launch token the CLI prints in the address
  (``http://127.0.0.1:8000/?token=...``, as Jupyter does); the first visit with it sets an
  HttpOnly, SameSite=Strict cookie, so the page's own requests and websocket carry it.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "CAUSAL_ASSISTANT_CHAT_TOKEN"
COOKIE = "causal_assistant_token"
FOREIGN_ORIGIN = "This app only answers its own pages; requests from other sites are refused."
NO_TOKEN = (
    "Open the address printed by 'causal-assistant chat' (it ends in ?token=...); "
    "this app does not answer without it."
)
WRONG_HOST = "This app answers only at its own address (127.0.0.1 or localhost)."


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; everything else is reachable from elsewhere."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_host_problem(host: str, login: bool) -> str | None:
    """Why serving on ``host`` is refused, or None: without login, only loopback."""
    if login or is_loopback(host):
        return None
    return (
        f"Serving on {host} without login would let anyone who can reach this machine run "
        "code on it; set CHAINLIT_AUTH_SECRET and CAUSAL_ASSISTANT_USERS, or use --host "
        "127.0.0.1."
    )


def own_addresses(host: str, port: int) -> set[str]:
    """host:port spellings that name this server from the machine itself."""
    names = {host}
    if is_loopback(host):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    return {f"{name}:{port}" for name in names}


class OriginGuard:
    """The ASGI middleware; ``token`` None means Chainlit's login protects the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        token: str | None,
        extra_origins: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.token = token
        self.addresses = own_addresses(host, port)
        self.extra_origins = {o.rstrip("/") for o in extra_origins if o}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        problem, set_cookie = self._check(scope, headers)
        if problem:
            await _refuse(scope, receive, send, problem)
            return
        if set_cookie and scope["type"] == "http":
            send = _with_cookie(send, self.token or "")
        await self.app(scope, receive, send)

    def _check(self, scope: Scope, headers: dict[str, str]) -> tuple[str | None, bool]:
        """(reason to refuse or None, whether to set the token cookie)."""
        host = headers.get("host", "")
        origin = headers.get("origin")
        if origin is not None and not self._own_origin(origin, host):
            return FOREIGN_ORIGIN, False
        if self.token is None:
            return None, False
        if host not in self.addresses:
            return WRONG_HOST, False
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no token
            cookie = SimpleCookie()
        if COOKIE in cookie and _same(cookie[COOKIE].value, self.token):
            return None, False
        offered = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])
        if _same(offered[0], self.token):
            return None, True
        return NO_TOKEN, False

    def _own_origin(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/")
        if origin in self.extra_origins:
            return True
        scheme, _, address = origin.partition("://")
        if scheme not in ("http", "https"):
            return False
        if self.token is not None:  # no login: only the loopback names of this server
            return address in self.addresses
        # With login, the server may be reached under any name; a page is its own origin
        # when it names the host the request was sent to.
        return address == host or address in self.addresses


def _same(offered: str, token: str) -> bool:
    return hmac.compare_digest(offered.encode(), token.encode())


def _with_cookie(send: Send, token: str) -> Send:
    cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
        await send(message)

    return sender


async def _refuse(scope: Scope, receive: Receive, send: Send, reason: str) -> None:
    """403 with the reason; a websocket is closed before it is accepted (HTTP 403)."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        return
    body = (reason + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
