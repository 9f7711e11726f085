"""Signatures follow Standard Webhooks: checked against the reference implementation's test
vector (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
``test_sign_function``; the same vector is in every language's tests there)."""

from __future__ import annotations

import base64

from webhooks import signing

REFERENCE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REFERENCE_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REFERENCE_TIMESTAMP = 1614265330
REFERENCE_PAYLOAD = b'{"test": 2432232314}'
REFERENCE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_reference_test_vector() -> None:
    assert (
        signing.signature(
            secret=REFERENCE_SECRET,
            message_id=REFERENCE_MSG_ID,
            timestamp=REFERENCE_TIMESTAMP,
            body=REFERENCE_PAYLOAD,
        )
        == REFERENCE_SIGNATURE
    )


def test_headers_carry_id_timestamp_and_signature() -> None:
    headers = signing.headers(
        secret=REFERENCE_SECRET,
        message_id=REFERENCE_MSG_ID,
        timestamp=REFERENCE_TIMESTAMP,
        body=REFERENCE_PAYLOAD,
    )
    assert headers == {
        "webhook-id": REFERENCE_MSG_ID,
        "webhook-timestamp": str(REFERENCE_TIMESTAMP),
        "webhook-signature": REFERENCE_SIGNATURE,
    }


def test_verify_accepts_any_listed_signature_and_refuses_a_changed_body() -> None:
    header = "v1,bm90LXRoaXMtb25l " + REFERENCE_SIGNATURE
    common = {
        "secret": REFERENCE_SECRET,
        "message_id": REFERENCE_MSG_ID,
        "timestamp": REFERENCE_TIMESTAMP,
    }
    assert signing.verify(**common, body=REFERENCE_PAYLOAD, header=header)
    assert not signing.verify(**common, body=b'{"test": 1}', header=header)


def test_generated_secrets_are_whsec_with_24_random_bytes() -> None:
    first, second = signing.secret_generate(), signing.secret_generate()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24
