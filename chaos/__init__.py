"""Samverkan under faults: drive the referral loop through the real stack while services are
killed, stopped and restarted, then check that nothing was lost, done twice or undone.

``python -m chaos [--small] [--control]`` runs it and writes ``build/chaos/summary.json``.
"""
