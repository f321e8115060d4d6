"""Employment: Arbetsförmedlingen and the municipal activity unit (KAA).

Receives referrals and dropout reports.
"""
