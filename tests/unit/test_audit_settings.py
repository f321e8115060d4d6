"""The audit service refuses to start without a real signing key."""

import pytest
from pydantic import SecretStr

from services.audit.bootstrap import signer
from services.audit.settings import AuditSettings
from services.features.proofs.heads import Signer, new_secret

pytestmark = [pytest.mark.unit, pytest.mark.audit]


@pytest.mark.parametrize("key", [None, "", "   "])
def test_no_signing_key_means_no_audit_service(key):
    with pytest.raises(RuntimeError, match="SAMVERKAN_AUDIT_SIGNING_KEY"):
        signer(SecretStr(key) if key is not None else None)


def test_a_malformed_key_is_refused_and_a_real_one_signs():
    with pytest.raises(ValueError, match="32 bytes"):
        signer(SecretStr("c2hvcnQ="))
    secret = new_secret()
    assert signer(SecretStr(secret)).public_key == Signer.from_secret(secret).public_key


def test_the_key_is_a_secret_setting_with_no_default():
    field = AuditSettings.model_fields["audit_signing_key"]
    assert field.annotation == SecretStr | None and field.default is None
