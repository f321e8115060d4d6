"""Proofs of the audit log, checkable with nothing but SHA-256 and Ed25519: what an entry's
leaf and chain hashes cover, the Merkle tree over the entries (RFC 6962 / RFC 9162) with its
inclusion and consistency proofs (`merkle`), signed tree heads (`heads`), and the check of one
entry against a signed head without the log (`checks`).

Pure computation, no I/O. The audit service makes its log and its proofs with it; the portal
checks them with the same code, as an outside auditor would, without depending on the audit
service.
"""
