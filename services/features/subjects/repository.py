"""SQL adapter for the subjects an agency registered (pseudonym ↔ personnummer)."""

from services.kit.database import Connection
from services.kit.identity import PersonalIdentity, Pseudonymizer


async def register(
    conn: Connection,
    pseudonyms: Pseudonymizer,
    identity: PersonalIdentity,
    agency: str,
    protected_identity: bool,
) -> tuple[str, bool]:
    """The subject reference for `identity`, stored with it; and whether it is protected.

    A protected-identity marking, once made, is kept.
    """
    subject = pseudonyms.subject_of(identity)
    protected = await conn.fetchval(
        "INSERT INTO subjects (subject, personnummer, protected_identity, registered_by)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (subject) DO UPDATE SET protected_identity ="
        " subjects.protected_identity OR EXCLUDED.protected_identity RETURNING protected_identity",
        subject,
        identity.number,
        protected_identity,
        agency,
    )
    return subject, bool(protected)


async def is_protected(conn: Connection, subject: str) -> bool:
    """Whether this agency knows the subject to have a protected identity."""
    return bool(
        await conn.fetchval("SELECT protected_identity FROM subjects WHERE subject = $1", subject)
    )
