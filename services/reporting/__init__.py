"""Reporting: the monthly ESF participant report to SCB and the referral loop's metrics, from
events only, with cells small enough to identify someone suppressed."""
