"""The portal: the web interface for caseworkers and auditors."""

from services.portal.bootstrap import main

main()
