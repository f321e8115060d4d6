"""Plugs the handoff loop into a service: consumer, deadline checks, live notifications, and
the cancellation of open referrals when the consent they were sent under is withdrawn."""

from pathlib import Path
from uuid import UUID

from contracts.codes import CancelReason
from contracts.events import ReferralCancelled
from contracts.topics import HANDOFFS
from services.features.consent.service import ConsentDesk, WithdrawalHook
from services.features.handoffs.notifications import NotificationHub
from services.features.handoffs.service import HandoffDesk
from services.kit.database import Connection
from services.kit.provided import provided_in
from services.kit.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


async def install(runtime: Runtime) -> None:
    """Host this service's agencies in the handoff loop (after consent is installed)."""
    settings = runtime.settings
    desk = HandoffDesk(
        runtime.registry,
        runtime.registry.hosted_by(settings.service),
        consumer_name=f"{settings.service}.handoffs",
        topic_prefix=settings.kafka.topic_prefix,
    )
    runtime.subscribe("handoffs", [HANDOFFS.name], desk.receive, desk.receive_many)
    runtime.run_every("expiry", settings.expiry_check_s, lambda: desk.expire_overdue(runtime.pool))
    provided_in(runtime.app, ConsentDesk).on_withdrawal.append(canceller(desk))
    runtime.provide(desk)
    runtime.provide(NotificationHub(runtime.pool))


def canceller(desk: HandoffDesk) -> WithdrawalHook:
    """Cancels the open referrals hosted agencies sent under a withdrawn consent: the
    receiver is told to stop, and nothing more is shared under it."""

    async def cancel_under(conn: Connection, consent_id: UUID) -> None:
        for handoff in await desk.open_under_consent(conn, consent_id):
            await desk.act(
                conn, handoff.referral_id, handoff.sender, ReferralCancelled,
                reason=CancelReason.CONSENT_WITHDRAWN,
            )  # fmt: skip

    return cancel_under
