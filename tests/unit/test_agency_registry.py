"""Look-ups over the agency registry that the portal's forms are built from."""

import pytest

from contracts.codes import HandoffKind
from deploy.kafka_jars import REPO_ROOT
from services.kit.agencies import AgencyRegistry

pytestmark = pytest.mark.unit

REGISTRY = AgencyRegistry.load(REPO_ROOT / "deploy" / "agencies.yaml")


def test_receivers_are_the_agencies_that_receive_the_kind_but_those_left_out():
    everyone = {a.id for a in REGISTRY.receivers(HandoffKind.REFERRAL)}
    assert everyone == {a.id for a in REGISTRY.all() if HandoffKind.REFERRAL in a.receives}
    assert {"ale.social", "ale.school.ale-gymnasium"} <= everyone
    concern = {a.id for a in REGISTRY.receivers(HandoffKind.CONCERN_REPORT)}
    assert concern == {"ale.social", "goteborg.social"}, "only social services receive concern"
    others = {a.id for a in REGISTRY.receivers(HandoffKind.REFERRAL, {"ale.social"})}
    assert others == everyone - {"ale.social"}
    kaa = {a.id for a in REGISTRY.receivers(HandoffKind.DROPOUT_REPORT)}
    assert kaa and all(".kaa" in agency for agency in kaa)
