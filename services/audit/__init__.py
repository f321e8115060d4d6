"""The audit service: a tamper-evident log of every event on the bus, referral chains for
auditors, log review of reads (loggkontroll), and signed tree heads with proofs."""
