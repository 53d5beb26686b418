"""The one place the LangChain chat model is built from configuration.

The reasoner and the chat router talk to the same OpenAI-compatible endpoint with the same
model, timeout and retry policy; building it here keeps them from drifting apart.
"""

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from causal_assistant.agent.config import Settings


def make_chat_model(settings: Settings) -> BaseChatModel:
    """``ChatOpenAI`` on the configured endpoint. A local server needs no key, but the
    OpenAI client refuses to start without one. Retries are ours (bounded, per answer),
    never the client's, because retrying endpoint failures is how retry storms start."""
    return ChatOpenAI(
        model=settings.model,
        api_key=settings.api_key or "unused",
        base_url=settings.base_url,
        timeout=settings.llm_timeout_s,
        max_retries=0,
    )
