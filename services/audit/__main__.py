"""The audit service: keeps the tamper-evident log of every event."""

from services.audit.bootstrap import main

main()
