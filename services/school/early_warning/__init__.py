"""Early warning at school: attendance, behaviour and course-performance indicators from the
school admin system's records, risk signals that stay inside the school, a case manager per
student, and a referral made from a signal when there is a basis to share."""

from services.school.early_warning.api import early_warning_router
from services.school.early_warning.part import MIGRATIONS, install

__all__ = ["MIGRATIONS", "early_warning_router", "install"]
