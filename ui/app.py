"""The Chainlit app: renders the agent's state and forwards chat, uploads and clicks.

No analysis logic lives here; every turn goes through ``agent.session.Session``.
"""

from pathlib import Path

import chainlit as cl

from agent.session import Session

WELCOME = ("Upload a dataset (CSV, TSV, Parquet or Excel) and ask a question such as "
           "*does treat raise earnings_after?* I will propose a causal graph, identify, "
           "estimate and stress-test the effect, and give you a script that reproduces it.")


@cl.on_chat_start
async def on_chat_start() -> None:
    cl.user_session.set("session", Session())
    await cl.Message(content=WELCOME).send()


@cl.on_message
async def on_message(message: cl.Message) -> None:
    session: Session = cl.user_session.get("session")
    uploads = [Path(e.path) for e in message.elements or [] if getattr(e, "path", None)]
    if not uploads:
        await cl.Message(content="Attach a dataset to this message to start.").send()
        return
    state = await cl.make_async(session.start)(uploads[0], question=message.content,
                                               auto_approve=True)
    for entry in state.get("messages", [])[1:]:
        await cl.Message(content=entry["content"]).send()
