"""Features: the capabilities services compose (the referral loop, consent, the registry of
persons, the audit log's proofs). Each is a package; those that run in a service bring their
own part, routes and migrations, and `proofs` is pure computation. Features build on the kit
and the contracts and never import a service."""
