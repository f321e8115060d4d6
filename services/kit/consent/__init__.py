"""Consent (samtycke, OSL 12 kap.): recorded with proof, scoped to recipients and data
categories, valid for a period, withdrawable; and the legal-basis check every shared event
must pass."""
