"""The real ChatOpenAI against the scripted server, and the scripted fake chat model.

These pin down the behaviours the LLM reasoner relies on (request shapes per
structured-output method, error classes, timeouts, streaming), so a langchain-openai or
openai upgrade that changes them fails here rather than in an agent test.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ValidationError

from tests.fakes import ScriptedChatModel
from tests.openai_stub import Reply, ScriptedOpenAIServer


class Edge(BaseModel):
    """A stand-in for the reasoner's structured answers."""

    cause: str
    effect: str


EDGE = {"cause": "age", "effect": "treat"}


@tool
def column_summary(column: str) -> str:
    """Summarise one column of the dataset."""
    return column


def chat(server: ScriptedOpenAIServer, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="stub-model", api_key="test", base_url=server.base_url, max_retries=0, **kwargs
    )


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as running:
        yield running


def test_plain_text_reply_and_request_recorded(server: ScriptedOpenAIServer) -> None:
    server.push(Reply.text("Earnings rise."))
    reply = chat(server).invoke("Does training raise earnings?")
    assert reply.content == "Earnings rise."
    assert reply.response_metadata["finish_reason"] == "stop"
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] > 0
    (request,) = server.requests
    assert request["model"] == "stub-model"
    assert request["messages"] == [{"role": "user", "content": "Does training raise earnings?"}]
    assert server.remaining == 0


def test_bind_tools_returns_parsed_tool_calls(server: ScriptedOpenAIServer) -> None:
    server.push(Reply.tool_calls(("column_summary", {"column": "age"}), ("column_summary", {})))
    reply = chat(server).bind_tools([column_summary]).invoke("Describe age")
    assert [call["args"] for call in reply.tool_calls] == [{"column": "age"}, {}]
    assert reply.tool_calls[0]["name"] == "column_summary"
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    sent_tools = server.requests[0]["tools"]
    assert [t["function"]["name"] for t in sent_tools] == ["column_summary"]


@pytest.mark.parametrize(
    ("method", "reply", "expected_request"),
    [
        (
            "json_schema",
            Reply.json(EDGE),
            {"response_format": {"type": "json_schema", "json_schema": {"name": "Edge"}}},
        ),
        ("json_mode", Reply.json(EDGE), {"response_format": {"type": "json_object"}}),
        (
            "function_calling",
            Reply.tool_call("Edge", EDGE),
            {"tool_choice": {"type": "function", "function": {"name": "Edge"}}},
        ),
    ],
)
def test_structured_output_each_method(
    server: ScriptedOpenAIServer, method: str, reply: Reply, expected_request: dict[str, Any]
) -> None:
    server.push(reply)
    result = chat(server).with_structured_output(Edge, method=method).invoke("Propose an edge")
    assert result == Edge(**EDGE)
    assert _contains(server.requests[0], expected_request)


def _contains(actual: Any, expected: Any) -> bool:
    """Whether ``expected`` is a sub-tree of ``actual`` (dict keys may be extra)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value) for key, value in expected.items()
        )
    return actual == expected


@pytest.mark.parametrize(
    ("method", "error"),
    [("json_mode", OutputParserException), ("json_schema", ValidationError)],
)
def test_malformed_json_raises(
    server: ScriptedOpenAIServer, method: str, error: type[Exception]
) -> None:
    server.push(Reply.malformed("{not json"))
    with pytest.raises(error):
        chat(server).with_structured_output(Edge, method=method).invoke("Propose an edge")


def test_malformed_tool_arguments_become_invalid_tool_calls(server: ScriptedOpenAIServer) -> None:
    """function_calling does not raise on broken arguments: the parser yields ``None``."""
    server.push(
        Reply.malformed("{not json", tool_name="Edge"), Reply.malformed("{", tool_name="Edge")
    )
    llm = chat(server)
    assert llm.with_structured_output(Edge, method="function_calling").invoke("q") is None
    reply = llm.bind_tools([Edge]).invoke("q")
    assert reply.tool_calls == []
    assert reply.invalid_tool_calls[0]["args"] == "{"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (400, openai.BadRequestError),
    ],
)
def test_http_errors_map_to_openai_exceptions(
    server: ScriptedOpenAIServer, status: int, error: type[Exception]
) -> None:
    server.push(Reply.error(status, f"scripted {status}"))
    with pytest.raises(error, match=f"scripted {status}"):
        chat(server).invoke("hi")


def test_empty_script_answers_500_saying_so(server: ScriptedOpenAIServer) -> None:
    with pytest.raises(openai.InternalServerError, match="ran out of replies"):
        chat(server).invoke("hi")
    assert len(server.requests) == 1


def test_delay_beyond_client_timeout_raises_quickly() -> None:
    started = time.monotonic()
    with ScriptedOpenAIServer([Reply.delay(30, Reply.text("too late"))]) as server:
        with pytest.raises(openai.APITimeoutError):
            chat(server, timeout=0.5).invoke("hi")
    assert time.monotonic() - started < 3, "timeout or server shutdown waited on the delay"


def test_refuse_response_format_then_function_calling(server: ScriptedOpenAIServer) -> None:
    server.push(Reply.refuse_response_format(Reply.tool_call("Edge", EDGE)))
    llm = chat(server)
    with pytest.raises(openai.BadRequestError, match="response_format type must be one of"):
        llm.with_structured_output(Edge, method="json_schema").invoke("q")
    assert server.remaining == 1, "a refusal must not consume the scripted answer"
    result = llm.with_structured_output(Edge, method="function_calling").invoke("q")
    assert result == Edge(**EDGE)
    assert server.remaining == 0


def test_streaming_text_is_reassembled(server: ScriptedOpenAIServer) -> None:
    server.push(Reply.text("The effect is about 1600 dollars."))
    chunks = list(chat(server).stream("hi"))
    assert "".join(str(c.content) for c in chunks) == "The effect is about 1600 dollars."
    assert sum(1 for c in chunks if c.content) > 1, "content should arrive in several chunks"
    assert server.requests[0]["stream"] is True


def test_streaming_tool_call_is_reassembled(server: ScriptedOpenAIServer) -> None:
    server.push(Reply.tool_call("column_summary", {"column": "re78"}))
    chunks = list(chat(server, stream_usage=True).bind_tools([column_summary]).stream("hi"))
    message = chunks[0]
    for chunk in chunks[1:]:
        message += chunk
    assert message.tool_calls[0]["args"] == {"column": "re78"}
    assert message.usage_metadata is not None and message.usage_metadata["output_tokens"] > 0


def test_responder_answers_from_the_request() -> None:
    def echo(request: dict[str, Any]) -> Reply:
        return Reply.text(request["messages"][-1]["content"].upper())

    with ScriptedOpenAIServer(responder=echo) as server:
        llm = chat(server)
        assert [llm.invoke(q).content for q in ("one", "two")] == ["ONE", "TWO"]
    assert len(server.requests) == 2


def test_models_listing_and_path_without_v1() -> None:
    with ScriptedOpenAIServer([Reply.text("ok")], model="local-llama") as server:
        client = openai.OpenAI(api_key="test", base_url=server.base_url, max_retries=0)
        assert [m.id for m in client.models.list()] == ["local-llama"]
        root = server.base_url.removesuffix("/v1")
        body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
        post = urllib.request.Request(f"{root}/chat/completions", data=body, method="POST")
        with urllib.request.urlopen(post, timeout=5) as response:
            completion = json.load(response)
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "local-llama"
    assert completion["choices"][0]["message"] == {
        "role": "assistant",
        "content": "ok",
        "refusal": None,
    }


def test_scripted_model_tool_calls_and_records() -> None:
    call = {"name": "column_summary", "args": {"column": "age"}, "id": "1"}
    model = ScriptedChatModel(replies=[AIMessage(content="", tool_calls=[call])])
    reply = model.bind_tools([column_summary]).invoke([HumanMessage("Describe age")])
    assert reply.tool_calls[0]["args"] == {"column": "age"}
    assert model.bound_tools == ["column_summary"]
    assert model.received[0][0].content == "Describe age"
    with pytest.raises(RuntimeError, match="ran out of replies"):
        model.invoke("again")


def test_scripted_model_structured_output() -> None:
    model = ScriptedChatModel(
        replies=[
            AIMessage(content=json.dumps(EDGE)),
            AIMessage(content="", tool_calls=[{"name": "Edge", "args": EDGE, "id": "1"}]),
            AIMessage(content='{"cause": "age"}'),
            AIMessage(content="not json"),
        ]
    )
    structured = model.with_structured_output(Edge)
    assert structured.invoke("q") == Edge(**EDGE)
    assert structured.invoke("q") == Edge(**EDGE)
    with pytest.raises(OutputParserException, match="Failed to parse Edge"):
        structured.invoke("q")
    raw = model.with_structured_output(Edge, include_raw=True).invoke("q")
    assert raw["parsed"] is None and isinstance(raw["parsing_error"], OutputParserException)
    assert raw["raw"].content == "not json"
