"""Free-text chat with an LLM: tool calls become the same intents as offline commands."""

from langchain_core.messages import AIMessage

from causal_assistant.agent.config import Settings
from causal_assistant.agent.conversation import LLM_CODE_MARK
from causal_assistant.agent.reasoners.offline import OfflineReasoner
from causal_assistant.agent.router import LLMRouter
from causal_assistant.agent.session import Session
from tests.fakes import ScriptedChatModel
from tests.openai_stub import Reply, ScriptedOpenAIServer


def call(name: str, **args: object) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": "c1"}])


def test_fake_model_edits_approves_and_answers(isolated_home, training_csv) -> None:
    model = ScriptedChatModel(
        replies=[
            call("EditEdge", op="remove", cause="region", effect="earnings_after"),
            call("Approve"),
            call("Answer", text="About 1500 more in earnings for those trained."),
        ]
    )
    settings = Settings.from_env(refutation_budget_s=3)
    session = Session(
        settings, reasoner=OfflineReasoner(), router=LLMRouter(settings, chat_model=model)
    )
    session.start(training_csv, question="Does treat raise earnings_after?")
    state = session.send("please drop the arrow from region into the earnings")
    assert ["region", "earnings_after"] not in [
        [e["cause"], e["effect"]] for e in state["graph"]["edges"]
    ]
    assert session.pending()["kind"] == "approve_graph"
    state = session.send("fine by me, carry on")
    assert state["estimation"]["estimate"]["value"] > 0
    reply = session.send("so how big is it, in plain words?")["messages"][-1]["content"]
    assert "About 1500" in reply and "LLM" in reply
    assert session.send("approve")["messages"][-1]["content"].startswith("Nothing is waiting")
    sent = " ".join(str(m.content) for batch in model.received for m in batch)
    assert "P00001" not in sent and "29967.5" not in sent  # no rows leave the machine
    assert "earnings_after" in sent


def test_real_endpoint_code_and_failures(isolated_home, training_csv, tmp_path) -> None:
    script = [
        Reply.tool_call("RunCode", {"code": "print(int(df['age'].max()))"}),
        Reply.error(500, "boom"),
        Reply.delay(30, Reply.text("too late")),
    ]
    with ScriptedOpenAIServer(script) as server:
        settings = Settings.from_env(
            api_key="test",
            base_url=server.base_url,
            llm_mode="auto",
            llm_timeout_s=1,
            refutation_budget_s=3,
        )
        session = Session(settings, reasoner=OfflineReasoner())
        session.start(training_csv, treatment="treat", outcome="earnings_after", auto_approve=True)
        reply = session.send("what is the oldest participant's age?")["messages"][-1]
        # The LLM's code is shown, not run: no output until the analyst says so.
        assert "not** run" in reply["content"] and "59" not in reply["content"]
        assert reply["code"] == "print(int(df['age'].max()))"
        reply = session.send("run it")["messages"][-1]  # offline command: no LLM request
        assert "```\n59\n```" in reply["content"] and "keep the code" in reply["content"]
        assert not session.values["custom_code"]  # not in the export unless asked
        assert "no code from the LLM" in session.send("run it")["messages"][-1]["content"]
        session.send("keep the code")
        kept = session.values["custom_code"]
        assert kept == [f"{LLM_CODE_MARK}\nprint(int(df['age'].max()))"]
        script = (session.export(tmp_path / "out")["analysis.py"]).read_text()
        assert LLM_CODE_MARK in script and "print(int(df['age'].max()))" in script
        for _ in range(2):
            reply = session.send("tell me something clever")["messages"][-1]["content"]
            assert "could not be reached" in reply and "help" in reply
        assert "export" in session.send("help")["messages"][-1]["content"]
        assert all(r["tools"] for r in server.requests)
