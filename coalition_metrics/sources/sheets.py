"""Google Sheets through gspread: one metadata request, then every tab in one values:batchGet.

Credentials: a service-account JSON key file, from ``[source] credentials_file`` or
``GOOGLE_APPLICATION_CREDENTIALS``. 429 and 5xx answers (and dropped connections) are retried with
the delays in ``[source] retry_delays``. The credentials path and key are never logged.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from ..errors import SourceError, TransientSourceError
from . import RawTab, a1_tab, split_rows

log = logging.getLogger(__name__)

READONLY_SCOPES = ["https://www.googleapis.com/auth/spreadsheets.readonly"]
READWRITE_SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]  # `coalition template --sheet` only
RETRY_STATUS = {408, 429, 500, 502, 503, 504}
MOST_RETRY_AFTER_SECONDS = 300.0  # a Retry-After longer than this is not waited for


def _retrying_client_class(delays: list[float], timeout: float, before_read=None):
    """A gspread HTTPClient that retries 408/429/5xx and connection errors, then gives up.

    ``before_read()`` is called before every read request (GET), retries included: each one
    counts against the service account's read quota (ratelimit.SheetsReadLimiter)."""
    import google.auth.exceptions
    import requests
    from gspread.exceptions import APIError
    from gspread.http_client import HTTPClient

    class RetryingHTTPClient(HTTPClient):
        retry_delays = list(delays)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.timeout = timeout

        def request(self, *args, **kwargs):
            method = str(args[0] if args else kwargs.get("method", "")).upper()
            for attempt in range(len(self.retry_delays) + 1):
                if before_read is not None and method == "GET":
                    before_read()
                asked = 0.0  # seconds the answer's Retry-After asks for
                try:
                    return super().request(*args, **kwargs)
                except APIError as err:
                    code = err.response.status_code
                    if code not in RETRY_STATUS or attempt == len(self.retry_delays):
                        raise
                    reason = f"HTTP {code}"
                    asked = _retry_after(err.response)
                except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError) as err:  # no answer, or one cut off
                    if attempt == len(self.retry_delays):
                        raise TransientSourceError(
                            f"Google Sheets could not be reached after {attempt + 1} attempts "
                            f"({type(err).__name__}). Check the network and try again."
                        ) from None
                    reason = type(err).__name__
                except (google.auth.exceptions.TransportError, google.auth.exceptions.RefreshError) as err:
                    # Getting an access token: no answer (connection error, timeout) or a 5xx/429
                    # from oauth2.googleapis.com is an outage, not a bad key.
                    if not _token_outage(err):
                        raise
                    if attempt == len(self.retry_delays):
                        raise TransientSourceError(
                            f"Google's sign-in service (oauth2.googleapis.com) did not answer after "
                            f"{attempt + 1} attempts ({_outage_reason(err)}), so no access token could be "
                            f"had. This is an outage, not a problem with the key: check the network and "
                            f"try again later."
                        ) from None
                    reason = f"no access token ({_outage_reason(err)})"
                wait = max(self.retry_delays[attempt], min(asked, MOST_RETRY_AFTER_SECONDS))
                log.warning("Google Sheets answered %s; retry %d in %.1f s", reason, attempt + 1, wait)
                time.sleep(wait)
            raise AssertionError("unreachable")

    return RetryingHTTPClient


def _retry_after(response) -> float:
    """The seconds a 429/503 answer's Retry-After header asks for (0 when it names none, or a date)."""
    try:
        seconds = float(response.headers.get("Retry-After", 0))
    except (TypeError, ValueError, AttributeError):
        return 0.0
    return seconds if 0 < seconds < float("inf") else 0.0


def _token_outage(err: Exception) -> bool:
    """A token request that got no answer, or a retryable one (5xx, 429): google-auth raises
    TransportError for the first and RefreshError(retryable=True) for the second."""
    import google.auth.exceptions

    if isinstance(err, google.auth.exceptions.TransportError):
        return True
    return bool(getattr(err, "retryable", False))


def _outage_reason(err: Exception) -> str:
    cause = err.__cause__ or err.__context__
    if cause is not None and not isinstance(err, type(cause)):
        return type(cause).__name__
    text = str(err.args[0]) if err.args else type(err).__name__
    return text.splitlines()[0][:120] if text else type(err).__name__


class GoogleSheetSource:
    def __init__(
        self,
        key: str,
        credentials_file: str = "",
        value_render: str = "unformatted",
        retry_delays: list[float] | None = None,
        timeout: float = 60.0,
        reads_per_minute: int | None = None,
    ):
        self.key = key
        self.credentials_file = credentials_file
        self.value_render = value_render
        self.retry_delays = [1.0, 2.0, 4.0, 8.0, 16.0] if retry_delays is None else list(retry_delays)
        self.timeout = timeout
        self.reads_per_minute = reads_per_minute  # None: no read budget (writes, the template)
        self.description = f"Google Sheet {key}"

    # -- credentials ---------------------------------------------------------------------
    def _service_account_info(self) -> dict:
        if not self.credentials_file:
            raise SourceError(
                "No Google credentials configured. Create a service-account key (JSON) in Google "
                "Cloud, then set [source] credentials_file in coalition.toml to its path, or set "
                "GOOGLE_APPLICATION_CREDENTIALS. See the README, 'Connect a Google Sheet'."
            )
        path = Path(self.credentials_file).expanduser()
        if path.is_dir():
            raise SourceError(
                f"The credentials file {path} is a folder, not a key file. Point [source] credentials_file "
                f"(or GOOGLE_APPLICATION_CREDENTIALS) at the service account's JSON key inside it."
            )
        if not path.is_file():
            raise SourceError(
                f"The credentials file {path} does not exist. Download the service account's JSON "
                f"key to that path, or point [source] credentials_file (or "
                f"GOOGLE_APPLICATION_CREDENTIALS) at where it is."
            )
        try:
            info = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            raise SourceError(
                f"The credentials file {path} is not a JSON key file. Download the service account's "
                f"key again (Keys > Add key > JSON) and save it unchanged."
            ) from None
        except OSError as exc:
            raise SourceError(
                f"The credentials file {path} could not be read: {exc.strerror or exc}. Make it readable "
                f"by this account (chmod 600, owned by you) and run again."
            ) from None
        if not isinstance(info, dict):
            raise SourceError(
                f"The credentials file {path} holds JSON, but not a key: a service-account key is one "
                f"JSON object ({{\"type\": \"service_account\", ...}}), and this file holds a "
                f"{_json_kind(info)}. Download the service account's key again (Keys > Add key > JSON) "
                f"and save it unchanged."
            )
        if info.get("type") != "service_account" or "client_email" not in info or "private_key" not in info:
            raise SourceError(
                f"The credentials file {path} is not a service-account key (it needs type "
                f"'service_account', client_email and private_key). Create a key for a service "
                f"account, not an OAuth client."
            )
        return info

    def client(self, scopes=READONLY_SCOPES):
        import gspread
        from google.oauth2.service_account import Credentials

        info = self._service_account_info()
        try:
            creds = Credentials.from_service_account_info(info, scopes=scopes)
        except ValueError:
            raise SourceError(
                f"The private key in {self.credentials_file} could not be read. Download a new "
                f"JSON key for {info['client_email']}."
            ) from None
        before_read = None
        if self.reads_per_minute is not None:
            from ..ratelimit import SheetsReadLimiter

            before_read = SheetsReadLimiter(info["client_email"], self.reads_per_minute).before_read
        http_client = _retrying_client_class(self.retry_delays, self.timeout, before_read)
        return gspread.Client(auth=creds, http_client=http_client), info["client_email"]

    # -- extraction ----------------------------------------------------------------------
    def read_tabs(self, tab_titles: dict[str, str]) -> dict[str, RawTab]:
        import google.auth.exceptions
        import requests
        from gspread.exceptions import APIError

        gc, email = self.client()
        http = gc.http_client
        try:
            meta = http.fetch_sheet_metadata(self.key)  # one GET of the spreadsheet's tab list
            titles = [sheet["properties"]["title"] for sheet in meta.get("sheets", [])]
            if not all(isinstance(t, str) for t in titles):
                raise TypeError("a tab title that is not text")
            by_fold = {t.strip().casefold(): t for t in titles}
            wanted = {name: by_fold.get(title.strip().casefold()) for name, title in tab_titles.items()}
            ranges = [a1_tab(t) for t in wanted.values() if t is not None]
            params = {"majorDimension": "ROWS"}
            if self.value_render == "unformatted":
                params.update(valueRenderOption="UNFORMATTED_VALUE", dateTimeRenderOption="SERIAL_NUMBER")
            else:
                params.update(valueRenderOption="FORMATTED_VALUE")
            # One values:batchGet for every tab, whatever their number.
            answer = http.values_batch_get(self.key, ranges, params=params) if ranges else {}
        except APIError as err:
            code = err.response.status_code
            said = str(err.error.get("message", "")) if isinstance(err.error, dict) else ""
            if code == 403 and (not said or "does not have permission" in said.lower()):
                raise SourceError(
                    f"The spreadsheet {self.key} is not shared with the service account. Open the "
                    f"sheet in Google Sheets, click Share, and add {email} as a Viewer (Editor if "
                    f"funder metrics are written back), then run again."
                ) from None
            if code == 403:  # another refusal: Google's own words say which (e.g. the API is disabled)
                fix = ("Enable the Google Sheets API in the service account's Google Cloud project (Google's "
                       "message has the link), wait a few minutes, then run again."
                       if "has not been used" in said or "disabled" in said.lower() else
                       "Check the sheet's sharing and the service account's Google Cloud project, then run again.")
                raise SourceError(
                    f"Google refused to read spreadsheet {self.key} with the service account {email} "
                    f"(HTTP 403: {said.rstrip('.')}). {fix}"
                ) from None
            if code == 404:
                raise SourceError(
                    f"No spreadsheet with key {self.key} exists. Check the URL in [source] location "
                    f"(copy it from the browser's address bar) and share the sheet with {email}."
                ) from None
            error = TransientSourceError if code in RETRY_STATUS else SourceError
            raise error(
                f"Google Sheets answered HTTP {code} for spreadsheet {self.key} after "
                f"{len(self.retry_delays) + 1} attempts: {err.error.get('message', '')}. Nothing was "
                f"published; try again later."
            ) from None
        except google.auth.exceptions.GoogleAuthError as err:
            raise SourceError(
                f"Google did not accept the service account {email} ({type(err).__name__}). The key "
                f"may have been deleted or disabled; create a new JSON key and try again."
            ) from None
        except (requests.RequestException, ValueError, TypeError, KeyError, AttributeError) as err:
            # an answer that is not the Sheets API's (not JSON, cut off, or another shape): a proxy
            # or an outage, never to be read as the sheet's contents
            raise self._unreadable(f"{type(err).__name__}: {err}") from None

        value_ranges = answer.get("valueRanges", []) if isinstance(answer, dict) else None
        if not isinstance(value_ranges, list) or len(value_ranges) != len(ranges) or not all(
                isinstance(v, dict) and isinstance(v.get("values", []), list)
                and all(isinstance(row, list) for row in v.get("values", [])) for v in value_ranges):
            got = len(value_ranges) if isinstance(value_ranges, list) else "no"
            raise self._unreadable(f"{got} value ranges for the {len(ranges)} tabs asked for")
        answered = iter(value_ranges)
        tabs = {}
        for name, title in tab_titles.items():
            actual = wanted[name]
            if actual is None:
                tabs[name] = RawTab(name, title, present=False)
                continue
            values = next(answered).get("values", [])
            header, rows = split_rows(values)
            tabs[name] = RawTab(name, actual, header, rows)
        return tabs

    def _unreadable(self, what: str) -> TransientSourceError:
        return TransientSourceError(
            f"Google Sheets' answer for spreadsheet {self.key} could not be read ({what[:200]}): it is not "
            f"the Sheets API's answer, so nothing was read from it and nothing was published. A proxy or "
            f"an outage between this machine and Google is the likely cause; try again later."
        )


def _json_kind(value) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "true/false value",
            type(None): "null"}.get(type(value), type(value).__name__)
