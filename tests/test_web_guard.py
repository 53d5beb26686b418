"""A web page on another site cannot drive the local chat app (issue 13).

The app is started the way a user starts it (``causal-assistant chat``, no login) and
attacked over real HTTP and websocket connections: a foreign Origin, no token, a
DNS-rebinding Host, and a public ``--host`` without login.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from .test_ui_browser import _chat_app, _command

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(address printed by the CLI with its token, base URL, token)."""
    with _chat_app(tmp_path_factory.mktemp("guard-home")) as address:
        token = re.search(r"[?&]token=([\w-]+)", address)
        assert token, f"the printed address carries no token: {address}"
        parts = urlsplit(address)
        yield address, f"{parts.scheme}://{parts.netloc}", token.group(1)


def _socket_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws/socket.io/?EIO=4&transport=websocket"


async def _open_socket(base: str, origin: str, cookie: str | None) -> str:
    """The engine.io open packet the server sends, or raises if the handshake is refused."""
    headers = {"Cookie": cookie} if cookie else {}
    async with websockets.connect(
        _socket_url(base), origin=origin, additional_headers=headers, open_timeout=10
    ) as socket:
        return await asyncio.wait_for(socket.recv(), timeout=10)


def test_printed_address_is_loopback_with_a_token(served):
    address, base, _ = served
    assert urlsplit(address).hostname == "127.0.0.1"


def test_without_the_token_nothing_is_served(served):
    _, base, token = served
    for path in ("/", "/project/settings", "/ws/socket.io/?EIO=4&transport=polling"):
        response = httpx.get(base + path, timeout=10)
        assert response.status_code == 403, path
    assert httpx.get(f"{base}/?token=wrong{token}", timeout=10).status_code == 403


def test_the_token_opens_the_app_and_sets_a_cookie(served):
    address, base, token = served
    first = httpx.get(address, timeout=10)
    assert first.status_code == 200 and "<html" in first.text.lower()
    cookie = first.headers["set-cookie"]
    assert token in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    again = httpx.get(base + "/", cookies={"causal_assistant_token": token}, timeout=10)
    assert again.status_code == 200


def test_websocket_from_the_apps_own_page_connects(served):
    _, base, token = served
    opened = asyncio.run(_open_socket(base, base, f"causal_assistant_token={token}"))
    assert opened.startswith("0{")  # engine.io "open" with the session id


def test_foreign_origin_websocket_is_refused_even_with_the_cookie(served):
    _, base, token = served
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(_open_socket(base, EVIL, f"causal_assistant_token={token}"))
    assert refused.value.response.status_code == 403


def test_websocket_without_the_token_is_refused(served):
    _, base, _ = served
    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(_open_socket(base, base, None))


def test_foreign_origin_http_and_rebound_host_are_refused(served):
    address, base, token = served
    cookies = {"causal_assistant_token": token}
    foreign = httpx.get(base + "/project/settings", headers={"Origin": EVIL}, cookies=cookies)
    assert foreign.status_code == 403
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, so Origin and Host agree.
    rebound = httpx.get(
        address, headers={"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}
    )
    assert rebound.status_code == 403


def test_public_host_without_login_is_refused_in_one_line(tmp_path):
    env = {"CAUSAL_ASSISTANT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [*_command(), "chat", "--host", "0.0.0.0", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "CHAINLIT_AUTH_SECRET" in lines[0], done.stderr
