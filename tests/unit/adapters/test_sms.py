"""Guardian SMS through AWS End User Messaging SMS (pinpoint-sms-voice-v2), on botocore's Stubber:
moto 5.2 has no pinpoint-sms-voice-v2, so the cloud call is checked against the service model itself."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.sms import EndUserMessagingSms
from chalicelib.errors import RecipientOptedOut, StoreError
from chalicelib.models.sms import GuardianText
from chalicelib.services.saferet.guardians import send_text
from chalicelib.services.texts import kst, render

ORIGIN = "arn:aws:sms-voice:ap-northeast-2:123456789012:phone-number/phone-1234567890abcdef"
PHONE = "+821012345678"
# 2026-11-30 13:05:00 UTC is 22:05 in Seoul
AT_MS = 1_796_043_900_000


@pytest.fixture
def client():
    return boto3.client("pinpoint-sms-voice-v2", region_name="ap-northeast-2", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def korean_text() -> str:
    return render("sos-escalated", "ko", time=kst(AT_MS, "ko"), kind="범죄", agency="경찰(112)",
                  place="종로구 (37.57590, 126.97680)")


def test_a_korean_text_with_kst_goes_out_through_send_text_message(client):
    text = korean_text()
    # the time a guardian reads is Seoul's (UTC+9), not UTC
    assert "2026년 11월 30일 22:05 KST" in text and "경찰(112)" in text
    with Stubber(client) as stub:
        stub.add_response("send_text_message", {"MessageId": "msg-0001"}, expected_params={
            "DestinationPhoneNumber": PHONE, "OriginationIdentity": ORIGIN, "MessageBody": text,
            "MessageType": "TRANSACTIONAL", "Context": {"kind": "sos-escalated"}})
        message = GuardianText(kind="sos-escalated", phone=PHONE, text=text)
        assert send_text(EndUserMessagingSms(client, ORIGIN), message) == "msg-0001"
        stub.assert_no_pending_responses()


def test_an_opted_out_number_is_not_retried(client):
    with Stubber(client) as stub:
        stub.add_client_error("send_text_message", service_error_code="ConflictException", http_status_code=400,
                              service_message="The destination phone number is opted out.",
                              modeled_fields={"Message": "The destination phone number is opted out.",
                                              "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                                              "ResourceType": "opt-out-list", "ResourceId": "Default"})
        stub.add_client_error("send_text_message", service_error_code="ConflictException", http_status_code=400,
                              modeled_fields={"Message": "opted out", "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                                              "ResourceType": "opt-out-list", "ResourceId": "Default"})
        sender = EndUserMessagingSms(client, ORIGIN)
        with pytest.raises(RecipientOptedOut):
            sender.send(PHONE, korean_text(), kind="sos-escalated")
        # the service layer records the opt-out as "not sent" rather than failing the message (no retry)
        assert send_text(sender, GuardianText(kind="trip-started", phone=PHONE, text="x")) is None
        stub.assert_no_pending_responses()


def test_throttling_is_transient(client):
    with Stubber(client) as stub:
        stub.add_client_error("send_text_message", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(StoreError):
            EndUserMessagingSms(client, ORIGIN).send(PHONE, "hello", kind="trip-started")


def test_english_guardians_get_english_and_kst():
    text = render("trip-arrived", "en", time=kst(AT_MS, "en"))
    assert text == "[Golden Time] Arrived home safely at 2026-11-30 22:05 KST."
    assert render("trip-arrived", "ko", time=kst(AT_MS, "ko")) == "[골든타임] 2026년 11월 30일 22:05 KST에 안전하게 도착했습니다."
