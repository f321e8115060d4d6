"""Coded values that travel on the bus.

Minimum data (DOMAIN rule 7): reasons, outcomes and categories are codes, never free text.
New members may be added (additive change); removing or renaming one is a breaking change.
"""

from enum import StrEnum


class AgencyKind(StrEnum):
    """What kind of organisation an agency is."""

    SCHOOL = "school"
    SOCIAL_SERVICES = "social_services"
    EMPLOYMENT = "employment"
    FOLK_HIGH_SCHOOL = "folk_high_school"
    YOUTH_CLINIC = "youth_clinic"
    CASE_MANAGER = "case_manager"
    AUDIT = "audit"


class HandoffKind(StrEnum):
    """The kinds of handoff that follow the referral loop."""

    REFERRAL = "referral"
    DROPOUT_REPORT = "dropout_report"
    CONCERN_REPORT = "concern_report"


class ReferralReason(StrEnum):
    """Why a young person is referred."""

    ABSENCE = "absence"
    STUDY_DIFFICULTIES = "study_difficulties"
    MENTAL_HEALTH = "mental_health"
    FAMILY_SITUATION = "family_situation"
    EMPLOYMENT_SUPPORT = "employment_support"
    RETURN_TO_STUDIES = "return_to_studies"
    OTHER = "other"


class DataCategory(StrEnum):
    """Kinds of information a handoff or consent may cover."""

    IDENTITY = "identity"
    ATTENDANCE = "attendance"
    GRADES = "grades"
    HEALTH = "health"
    SOCIAL_SITUATION = "social_situation"
    EMPLOYMENT_STATUS = "employment_status"
    CASE_STATUS = "case_status"


class RejectionReason(StrEnum):
    """Why a receiver rejects a referral."""

    NO_CAPACITY = "no_capacity"
    NOT_IN_REMIT = "not_in_remit"
    WRONG_MUNICIPALITY = "wrong_municipality"
    SUBJECT_DECLINED = "subject_declined"
    ALREADY_KNOWN = "already_known"
    INSUFFICIENT_BASIS = "insufficient_basis"


class FailureReason(StrEnum):
    """Why a referral that was accepted did not succeed."""

    NO_CONTACT = "no_contact"
    SUBJECT_DECLINED = "subject_declined"
    MOVED_AWAY = "moved_away"
    NEEDS_OTHER_AGENCY = "needs_other_agency"


class CancelReason(StrEnum):
    """Why either side cancels an open referral."""

    NO_LONGER_NEEDED = "no_longer_needed"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    DUPLICATE = "duplicate"
    SUBJECT_MOVED = "subject_moved"


class PauseReason(StrEnum):
    """Why work on a referral is put on hold."""

    SUBJECT_UNAVAILABLE = "subject_unavailable"
    WAITING_FOR_OTHER_AGENCY = "waiting_for_other_agency"
    HOLIDAY = "holiday"


class Outcome(StrEnum):
    """Where the young person ends up (also the ESF outcome codes)."""

    RETURNED_TO_STUDIES = "returned_to_studies"
    IN_WORK = "in_work"
    IN_OTHER_ACTIVITY = "in_other_activity"
    SUPPORT_GIVEN = "support_given"
    NONE = "none"


class ContactChannel(StrEnum):
    """How a caseworker reached, or tried to reach, the young person."""

    PHONE = "phone"
    MEETING = "meeting"
    HOME_VISIT = "home_visit"
    LETTER = "letter"
    DIGITAL = "digital"


class DropoutReason(StrEnum):
    """Why a student left upper-secondary school (KAA notification)."""

    LEFT_PROGRAMME = "left_programme"
    LONG_ABSENCE = "long_absence"
    NEVER_STARTED = "never_started"
    MOVED_ABROAD = "moved_abroad"


class ConcernCode(StrEnum):
    """What a report of concern (orosanmälan) is about."""

    NEGLECT = "neglect"
    VIOLENCE_AT_HOME = "violence_at_home"
    SUBSTANCE_USE = "substance_use"
    CRIMINALITY = "criminality"
    SELF_HARM = "self_harm"
    HONOUR_RELATED = "honour_related"
    OTHER = "other"


class ConsentGiver(StrEnum):
    """Who gave a consent."""

    SUBJECT = "subject"
    GUARDIAN = "guardian"


class ConsentMethod(StrEnum):
    """How a consent was given, for proof."""

    WRITTEN = "written"
    DIGITAL_SIGNATURE = "digital_signature"
    VERBAL_DOCUMENTED = "verbal_documented"


class RiskIndicator(StrEnum):
    """The early-warning ABC: attendance, behaviour, course performance."""

    ATTENDANCE = "attendance"
    BEHAVIOUR = "behaviour"
    COURSE_PERFORMANCE = "course_performance"


class RiskLevel(StrEnum):
    """How serious a risk signal is."""

    WARNING = "warning"
    ALERT = "alert"


class Gender(StrEnum):
    """Gender as the ESF reports split it."""

    WOMAN = "woman"
    MAN = "man"
    OTHER_OR_UNKNOWN = "other_or_unknown"


class AgeBand(StrEnum):
    """Age bands used in ESF/SCB reporting."""

    UNDER_15 = "under_15"
    AGE_15_17 = "15_17"
    AGE_18_19 = "18_19"
    AGE_20_24 = "20_24"
    AGE_25_PLUS = "25_plus"


class AccessedResource(StrEnum):
    """What kind of record was read (log review)."""

    SUBJECT_RECORD = "subject_record"
    TIMELINE = "timeline"
    REFERRAL = "referral"
    INBOX = "inbox"
    CONSENT = "consent"
    AUDIT_CHAIN = "audit_chain"


class AccessPurpose(StrEnum):
    """Why a record was read."""

    CASEWORK = "casework"
    HANDOFF_DECISION = "handoff_decision"
    FOLLOW_UP = "follow_up"
    AUDIT = "audit"
    SYSTEM_INTEGRATION = "system_integration"


class PrincipalRole(StrEnum):
    """Roles of the people and systems that use an agency's API."""

    AGENCY_SYSTEM = "agency_system"
    CASEWORKER = "caseworker"
    AUDITOR = "auditor"
