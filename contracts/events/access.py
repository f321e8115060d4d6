"""Log review (loggkontroll): every read of a person's record becomes an event."""

from typing import Literal
from uuid import UUID

from contracts.codes import AccessedResource, AccessPurpose, PrincipalRole
from contracts.envelope import Event, StaffId


class RecordAccessed(Event):
    """Someone read a record about the subject; `correlation_id` is the record's id."""

    event_type: Literal["RecordAccessed"] = "RecordAccessed"
    schema_version: Literal[1] = 1
    accessor: StaffId
    accessor_role: PrincipalRole
    resource: AccessedResource
    resource_id: UUID | None = None
    purpose: AccessPurpose
