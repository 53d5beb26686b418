"""A tampered checkpoint cannot make the app execute anything.

The issue's attack: sandboxed code rewrote a checkpoint with a msgpack extension object
naming ``os.system``, and the app ran it when it next read the state. Here the checkpoint
is rewritten the same way (directly in the real SQLite file) and the app reads it back.
"""

import contextlib
import sqlite3

import ormsgpack
from langgraph.checkpoint.serde.jsonplus import EXT_CONSTRUCTOR_POS_ARGS

from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session


def _evil(command: str) -> bytes:
    payload = ormsgpack.packb(("os", "system", [command]))
    return ormsgpack.packb({"question": ormsgpack.Ext(EXT_CONSTRUCTOR_POS_ARGS, payload)})


def test_an_object_planted_in_a_checkpoint_is_not_rebuilt(isolated_home, training_csv, tmp_path):
    marker = tmp_path / "pwned"
    session = Session(Settings.from_env(refutation_budget_s=5), thread_id="victim")
    session.start(training_csv, question="Does treat raise earnings_after?")
    database = sqlite3.connect(session.settings.checkpoint_path)
    with database:
        tampered = database.execute(
            "UPDATE writes SET type = 'msgpack', value = ? WHERE thread_id = 'victim'",
            (_evil(f"touch {marker}"),),
        ).rowcount
        tampered += database.execute(
            "UPDATE checkpoints SET type = 'msgpack', checkpoint = ? WHERE thread_id = 'victim'",
            (
                ormsgpack.packb(
                    {
                        "v": 4,
                        "id": "x",
                        "ts": "2026-01-01T00:00:00+00:00",
                        "channel_values": {
                            "question": ormsgpack.Ext(
                                EXT_CONSTRUCTOR_POS_ARGS,
                                ormsgpack.packb(("os", "system", [f"touch {marker}"])),
                            )
                        },
                        "channel_versions": {},
                        "versions_seen": {},
                    }
                ),
            ),
        ).rowcount
    assert tampered > 0
    reopened = Session(Settings.from_env(refutation_budget_s=5), thread_id="victim")
    with contextlib.suppress(Exception):  # refusing the checkpoint is fine, running it is not
        assert reopened.values.get("question") != 0
    assert not marker.exists()
