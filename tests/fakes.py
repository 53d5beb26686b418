"""A scripted chat model for unit tests that need tool calling or structured output.

langchain-core's stock fakes cannot ``bind_tools``, and the agent's reasoners need both
tool calls and ``with_structured_output``. This model replays a list of ``AIMessage``
replies in order and records what it was sent, so a unit test can script an LLM
conversation without any HTTP at all (for the wire protocol, see ``tests.openai_stub``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field, ValidationError

__all__ = ["ScriptedChatModel"]


class ScriptedChatModel(BaseChatModel):
    """Returns ``replies`` one per call; raises once they run out.

    ``received`` holds the message list of every call and ``bound_tools`` the tool names
    of the last ``bind_tools``, so tests can assert what the agent showed the model.
    """

    replies: list[AIMessage]
    received: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received.append(list(messages))
        if not self.replies:
            raise RuntimeError(
                f"ScriptedChatModel ran out of replies after {len(self.received) - 1}"
            )
        return ChatResult(generations=[ChatGeneration(message=self.replies.pop(0))])

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Record the tool names; the bound runnable still draws from the same script."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        self.bound_tools = [tool["function"]["name"] for tool in formatted]
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        """Parse the next reply (first tool call's args, else JSON content) into ``schema``.

        Like the real parsers, output that does not validate raises
        ``OutputParserException``; with ``include_raw`` it is returned as
        ``parsing_error`` next to the raw message instead.
        """
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise TypeError("ScriptedChatModel only parses into pydantic models")

        def parse(message: AIMessage) -> BaseModel:
            text = message.text
            try:
                data = message.tool_calls[0]["args"] if message.tool_calls else json.loads(text)
                return schema.model_validate(data)
            except (json.JSONDecodeError, ValidationError) as exc:
                raise OutputParserException(
                    f"Failed to parse {schema.__name__} from scripted reply: {exc}",
                    llm_output=text,
                ) from exc

        def parse_with_raw(message: AIMessage) -> dict[str, Any]:
            try:
                return {"raw": message, "parsed": parse(message), "parsing_error": None}
            except OutputParserException as exc:
                return {"raw": message, "parsed": None, "parsing_error": exc}

        return self | RunnableLambda(parse_with_raw if include_raw else parse)
