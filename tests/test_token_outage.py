"""Getting an access token (oauth2.googleapis.com/token) during an outage: no answer, a timeout or a
5xx is an outage (TransientSourceError, retried like the Sheets API's own outages), not a bad key.
Only the HTTP layer is faked (responses): google-auth's and gspread's own code runs."""

import pytest
import requests
import responses

from conftest import TOKEN_URL
from coalition_metrics.errors import SourceError, TransientSourceError
from coalition_metrics.pipeline import extract
from test_sheets_source import ALLOWED_LOCATIONS, BATCH_URL, META_URL, NO_BOUNDARY, FakeGoogle, api_calls, \
    batch_answer, metadata, sheet_settings

TOKEN = {"access_token": "ya29.fake", "expires_in": 3599, "token_type": "Bearer"}


def token_calls(rsps):
    return [c for c in api_calls(rsps) if c.request.url.startswith(TOKEN_URL)]


def sheets_answer(rsps):
    rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
    rsps.add(responses.GET, META_URL, json=metadata())
    rsps.add(responses.GET, BATCH_URL, json=batch_answer())


@pytest.mark.parametrize("failure", [requests.ConnectionError("Connection refused"),
                                     requests.ReadTimeout("Read timed out. (read timeout=60)")])
def test_a_token_endpoint_that_does_not_answer_is_an_outage(settings, credentials_file, failure):
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, TOKEN_URL, body=failure)
        with pytest.raises(TransientSourceError) as err:
            extract(sheet_settings(settings, credentials_file))  # retry_delays [0, 0, 0]
        assert len(token_calls(rsps)) == 4  # the first try and three retries
        assert [c for c in api_calls(rsps) if not c.request.url.startswith(TOKEN_URL)] == []
    message = str(err.value)
    assert "did not answer after 4 attempts" in message and "not a problem with the key" in message
    assert type(failure).__name__ in message and "\n" not in message


def test_a_token_endpoint_outage_that_ends_is_retried(settings, credentials_file):
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        rsps.add(responses.POST, TOKEN_URL, body=requests.ConnectionError("Connection reset by peer"))
        rsps.add(responses.POST, TOKEN_URL, json=TOKEN)
        sheets_answer(rsps)
        tabs = extract(sheet_settings(settings, credentials_file))
        assert [c.request.url.split("?")[0] for c in api_calls(rsps)] == [TOKEN_URL, TOKEN_URL, META_URL, BATCH_URL]
    assert len(tabs["members"].rows) > 0


def test_a_token_endpoint_answering_5xx_is_an_outage(settings, credentials_file):
    """google-auth tries a 5xx token answer three times itself (about 3 s of back-off), then
    reports it as retryable; that is an outage, not a refused key."""
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, TOKEN_URL, status=503, json={"error": "backend_error"})
        with pytest.raises(TransientSourceError, match="after 1 attempts .*not a problem with the key"):
            extract(sheet_settings(settings, credentials_file, retry_delays=[]))
        assert len(token_calls(rsps)) == 3


def test_a_refused_key_is_not_an_outage(settings, credentials_file):
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, TOKEN_URL, status=400,
                 json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        with pytest.raises(SourceError) as err:
            extract(sheet_settings(settings, credentials_file))
        assert len(token_calls(rsps)) == 1  # not retried
    assert not isinstance(err.value, TransientSourceError)
    assert "Google did not accept the service account" in str(err.value)
