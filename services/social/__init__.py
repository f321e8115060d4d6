"""Social services (socialtjänst): receives referrals and reports of concern."""
