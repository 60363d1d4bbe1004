"""The fault layer outside the lock: DynamoDB throttling, an SNS outage, SES over
its sending rate, answered as each service answers them."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable

from local.emulator import wsgi
from local.emulator.state import State
from local.emulator.wsgi import Environ, StartResponse, WSGIApp


class FaultInjector:
    """Refuses requests as a service under load would: DynamoDB throttling, an SNS
    outage, SES over its sending rate. What it refuses never reaches moto."""

    def __init__(self, app: WSGIApp, state: State) -> None:
        self._app = app
        self._state = state

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        faults, stats = self._state.faults, self._state.stats
        if wsgi.operation(environ):
            if faults.throttle_rate and random.random() < faults.throttle_rate:
                with self._state.lock:
                    stats.faults_injected["throttled"] += 1
                    if app := wsgi.app_id(environ):
                        stats.throttled_by_app[app] += 1
                return throttled(start_response)
        elif environ.get("REQUEST_METHOD") == "POST" and (
            faults.sns_outage or faults.ses_throttle_rate
        ):
            body = wsgi.body(environ)
            if faults.sns_outage and b"Action=Publish" in body:
                with self._state.lock:
                    stats.faults_injected["snsOutage"] += 1
                return sns_outage(start_response)
            if b"Action=SendEmail" in body and random.random() < faults.ses_throttle_rate:
                with self._state.lock:
                    stats.faults_injected["sesThrottled"] += 1
                return ses_throttled(start_response)
        return self._app(environ, start_response)


def throttled(start_response: StartResponse) -> list[bytes]:
    """DynamoDB over its request rate (botocore retries this itself first)."""
    payload = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput.",
        }
    ).encode()
    return wsgi.reply(start_response, "400 Bad Request", wsgi.AWS_JSON, payload)


def sns_outage(start_response: StartResponse) -> list[bytes]:
    """SNS failing on its side (query protocol, XML error)."""
    payload = (
        b'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
        b"<Type>Receiver</Type><Code>InternalError</Code><Message>injected outage</Message>"
        b"</Error><RequestId>outage</RequestId></ErrorResponse>"
    )
    return wsgi.reply(start_response, "500 Internal Server Error", "text/xml", payload)


def ses_throttled(start_response: StartResponse) -> list[bytes]:
    """SES over the account's sending rate (query protocol, XML error)."""
    payload = (
        b'<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error>'
        b"<Type>Sender</Type><Code>Throttling</Code>"
        b"<Message>Maximum sending rate exceeded.</Message>"
        b"</Error><RequestId>throttled</RequestId></ErrorResponse>"
    )
    return wsgi.reply(start_response, "400 Bad Request", "text/xml", payload)
