"""Features: the capabilities agency services compose (the referral loop, consent, the
registry of persons). Each is a package with its own part, routes and migrations; features
build on the kit and the contracts and never import a service."""
