"""Google's production Compute clients, pointed at the simulator and keeping the raw answers they parse."""

from __future__ import annotations

import functools
import urllib.parse
from typing import Any

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials

from checks.report import need


class RawRecorder:
    """Keeps the raw HTTP answers one client's session received (a `requests` response hook), to check their JSON."""

    def __init__(self) -> None:
        self.responses: list[Any] = []

    def __call__(self, response, *args, **kwargs):
        self.responses.append(response)
        return response

    def take(self) -> list[Any]:
        taken, self.responses = self.responses, []
        return taken

    def last_json(self) -> Any:
        taken = self.take()
        need(len(taken) > 0, "no HTTP answer was recorded")
        response = taken[-1]
        content_type = response.headers.get("content-type", "")
        need("application/json" in content_type, f"answer's content-type is {content_type!r}, not JSON")
        return response.json()


def compute_client(client_class, url: str) -> tuple[Any, RawRecorder]:
    """A production Compute client pointed at the simulator: its endpoint, plain HTTP, anonymous credentials."""
    endpoint = urllib.parse.urlsplit(url).netloc
    rest_transport = client_class.get_transport_class("rest")
    client = client_class(
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=endpoint),
        transport=functools.partial(rest_transport, url_scheme="http"),
    )
    recorder = RawRecorder()
    # The REST transport's HTTP session is a google.auth AuthorizedSession, a requests.Session: its response hooks
    # see every raw answer before the client turns it into a protobuf message that drops unknown fields.
    client.transport._session.hooks["response"].append(recorder)
    return client, recorder
