"""Plugs the audit log into the audit service: the consumer of every event topic, the signed
head at start-up, and the periodic publication of heads."""

from pathlib import Path

from contracts import EVENT_TOPICS
from services.audit.heads import Signer
from services.audit.service import AuditLog, Recorder
from services.kit.runtime import Part, Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


def installer(signer: Signer, publish_head_s: float) -> Part:
    """The part that keeps the log, signing with `signer` and publishing heads that often."""

    async def install(runtime: Runtime) -> None:
        recorder = Recorder(runtime.pool, signer)
        await recorder.sign_head()
        # Not the dead-letter topic: what is there failed to decode and is not an event.
        runtime.subscribe(
            "log", [topic.name for topic in EVENT_TOPICS], recorder.record, recorder.record_many
        )
        runtime.run_every("publish-head", publish_head_s, recorder.publish_head)
        runtime.app.state.audit = AuditLog(runtime.pool, signer.public_key)

    return install
