import pytest
from pydantic import SecretStr

from services.features.subjects.part import pseudonymizer
from services.kit.auth import Principal, Principals
from services.kit.settings import KafkaSettings, ServiceSettings

pytestmark = [pytest.mark.unit, pytest.mark.lawful]


@pytest.mark.parametrize("key", [None, "short", "a" * 64, "abababababababababababababababab"])
def test_a_missing_weak_or_default_pseudonym_key_refuses_to_start(key):
    with pytest.raises(RuntimeError, match="SAMVERKAN_PSEUDONYM_KEY"):
        pseudonymizer(SecretStr(key) if key else None)


def test_a_random_key_is_accepted_and_never_shown():
    key = "k3y-9f8e7d6c5b4a3928171605f4e3d2c1b0a9"
    secret = SecretStr(key)
    assert pseudonymizer(secret) is not None
    assert key not in repr(secret) and key not in str(secret)


def test_no_principals_means_no_api(tmp_path):
    with pytest.raises(RuntimeError, match="will not serve an open API"):
        Principals.load(None)
    empty = tmp_path / "principals.yaml"
    empty.write_text("principals: []\n")
    with pytest.raises(RuntimeError, match="lists no principals"):
        Principals.load(empty)


def test_only_auditors_may_read_every_agency():
    with pytest.raises(ValueError, match="only auditors"):
        Principal(id="x", role="caseworker", agency="ale.social", all_agencies=True)
    auditor = Principal(id="a", role="auditor", agency="ivo.tillsyn", all_agencies=True)
    assert auditor.may_read("ale.social") and not auditor.may_act_for("ivo.tillsyn")


def test_the_inbox_check_is_switched_off_only_on_prefixed_test_topics():
    with pytest.raises(ValueError, match="chaos control runs"):
        ServiceSettings(service="social", kafka=KafkaSettings(security_protocol="PLAINTEXT"),
                        unsafe_skip_inbox_check_for_control_run=True)  # fmt: skip
    control = ServiceSettings(
        service="social", kafka=KafkaSettings(security_protocol="PLAINTEXT", topic_prefix="c1."),
        unsafe_skip_inbox_check_for_control_run=True,
    )  # fmt: skip
    assert control.unsafe_skip_inbox_check_for_control_run
    plain = ServiceSettings(service="social", kafka=KafkaSettings(security_protocol="PLAINTEXT"))
    assert not plain.unsafe_skip_inbox_check_for_control_run
