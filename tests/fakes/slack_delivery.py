"""How the fake Slack hands events and clicks to the app, and how it retries, like Slack.

Each :class:`Delivery` is one event callback (``events_api``) or one
interactivity payload (``interactive``). With Socket Mode on (the default) it
goes out as an envelope on one open connection; with a Request URL set
(:meth:`Deliveries.set_request_url`) it is POSTed there, signed
(:mod:`tests.fakes.slack_http`). Either way the app has ``ack_timeout``
seconds (Slack's 3) to acknowledge: the envelope's ``envelope_id`` sent
back, or a 2xx answer. An unacknowledged event is sent again after each of
``retry_delays`` (Slack: at once, after 1 minute, after 5 minutes), with
``retry_attempt``/``retry_reason`` in the envelope or ``X-Slack-Retry-Num``/
``X-Slack-Retry-Reason`` headers, and the same ``event_id``. Interactivity
is never retried: the person sees an error instead.

Every attempt is recorded (:class:`Attempt`), so a test reads whether and
how fast the app acknowledged (:attr:`Delivery.latency`).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tests.fakes.slack_http import Signing, command_body, event_body, interactive_body, post_signed

__all__ = ["Attempt", "Deliveries", "Delivery"]

Kind = Literal["events_api", "interactive", "slash_commands"]
SLACK_RETRY_DELAYS = (0.0, 60.0, 300.0)


@dataclass
class Attempt:
    retry_attempt: int
    sent_at: float
    """``time.perf_counter()`` when it went out."""
    envelope_id: str | None = None
    connection: int | None = None
    status: int | None = None
    """HTTP mode: the app's answer (0: none)."""
    answered_at: float | None = None
    error: str | None = None
    """Why it failed: ``timeout``, ``http_timeout``, ``http_error``, ``connection_failed``."""


@dataclass
class Delivery:
    """One payload for the app and what became of it (read it; the server writes it)."""

    id: str
    type: Kind
    payload: dict[str, Any]
    mode: Literal["socket", "http"] = "socket"
    attempts: list[Attempt] = field(default_factory=list)
    ack: dict[str, Any] | None = None
    """The acknowledgement: the envelope sent back, or ``{"status", "body"}`` over HTTP."""
    acked_at: float | None = None
    done: bool = False
    """No more attempts will be made."""

    @property
    def acked(self) -> bool:
        return self.acked_at is not None

    @property
    def latency(self) -> float | None:
        """Seconds from the acknowledged attempt going out to its acknowledgement."""
        if self.acked_at is None or not self.attempts:
            return None
        return self.acked_at - self.attempts[-1].sent_at

    @property
    def event_id(self) -> str | None:
        value = self.payload.get("event_id")
        return value if isinstance(value, str) else None


class Deliveries:
    """Delivery and retry; the socket side is :class:`tests.fakes.slack_socket.SocketMode`."""

    signing_secret: str
    _lock: threading.Lock
    _loop: asyncio.AbstractEventLoop | None

    def __init__(
        self, *, ack_timeout: float = 3.0, retry_delays: tuple[float, ...] = SLACK_RETRY_DELAYS
    ) -> None:
        self.ack_timeout = ack_timeout
        self.retry_delays = retry_delays
        self.request_url: str | None = None
        self.interactivity_url: str | None = None
        self.signing: Signing = "valid"
        self._deliveries: list[Delivery] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    # --- what tests use ----------------------------------------------------

    def set_request_url(
        self, url: str | None, interactivity_url: str | None = None, *, signing: Signing = "valid"
    ) -> None:
        """Deliver over HTTP to ``url`` (Socket Mode off); ``None``: Socket Mode again.

        ``signing`` other than ``valid`` makes every request a forgery (see
        :mod:`tests.fakes.slack_http`): an impostor posting to the app.
        """
        with self._lock:
            self.request_url = url
            self.interactivity_url = interactivity_url or url
            self.signing = signing

    def set_redelivery(
        self, ack_timeout: float = 3.0, retry_delays: tuple[float, ...] = SLACK_RETRY_DELAYS
    ) -> None:
        """How long an ack may take and when unacknowledged events come again."""
        with self._lock:
            self.ack_timeout = ack_timeout
            self.retry_delays = retry_delays

    def redeliver(self, delivery: Delivery) -> None:
        """Send ``delivery`` again now, as Slack's next retry of it (same payload and
        ``event_id``; ``retry_attempt`` or ``X-Slack-Retry-Num`` one more)."""
        assert self._loop is not None
        with self._lock:
            retry = len(delivery.attempts)
        send = self._over_socket if delivery.mode == "socket" else self._over_http
        asyncio.run_coroutine_threadsafe(send(delivery, retry), self._loop)

    def deliveries(self, kind: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if kind is None or d.type == kind]

    # --- the server side -----------------------------------------------------

    def _dispatch(self, kind: Kind, payload: dict[str, Any]) -> Delivery:
        """Queue ``payload`` for the app (from any thread)."""
        with self._lock:
            mode: Literal["socket", "http"] = "http" if self.request_url else "socket"
            delivery = Delivery(str(uuid.uuid4()), kind, payload, mode)
            self._deliveries.append(delivery)
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._deliver(delivery), self._loop)
        return delivery

    async def _deliver(self, delivery: Delivery) -> None:
        retry = 0
        while True:
            if delivery.mode == "socket":
                acked = await self._over_socket(delivery, retry)
            else:
                acked = await self._over_http(delivery, retry)
            with self._lock:
                delays = self.retry_delays
            if acked or delivery.type != "events_api" or retry >= len(delays):
                break
            await asyncio.sleep(delays[retry])
            retry += 1
        with self._lock:
            delivery.done = True

    async def _over_socket(self, delivery: Delivery, retry: int) -> bool:
        envelope_id = delivery.id if retry == 0 else str(uuid.uuid4())
        frame: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": delivery.payload,
            "type": delivery.type,
            "accepts_response_payload": delivery.type != "events_api",
        }
        if delivery.type == "events_api":
            frame["retry_attempt"] = retry
            frame["retry_reason"] = "timeout" if retry else ""
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        connection = await self._send_envelope(frame)
        attempt = Attempt(retry, time.perf_counter(), envelope_id, connection)
        with self._lock:
            delivery.attempts.append(attempt)
            timeout = self.ack_timeout
        try:
            ack = await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            with self._lock:
                attempt.error = "timeout"
            return False
        finally:
            self._acks.pop(envelope_id, None)
        with self._lock:
            delivery.ack = ack
            delivery.acked_at = attempt.answered_at = time.perf_counter()
        return True

    if TYPE_CHECKING:  # the socket side's

        async def _send_envelope(self, frame: dict[str, Any]) -> int: ...

    def _acknowledged(self, frame: dict[str, Any]) -> bool:
        """An envelope came back from the app (on the server's loop)."""
        waiter = self._acks.get(str(frame.get("envelope_id")))
        if waiter is None or waiter.done():
            return False
        waiter.set_result(frame)
        return True

    async def _over_http(self, delivery: Delivery, retry: int) -> bool:
        with self._lock:
            url = self.request_url if delivery.type == "events_api" else self.interactivity_url
            timeout, signing = self.ack_timeout, self.signing
            previous = delivery.attempts[-1].error if delivery.attempts else None
        assert url is not None
        encode = {"events_api": event_body, "interactive": interactive_body}
        body, content_type = encode.get(delivery.type, command_body)(delivery.payload)
        attempt = Attempt(retry, time.perf_counter())
        with self._lock:
            delivery.attempts.append(attempt)
        reply = await post_signed(
            url,
            body,
            content_type,
            self.signing_secret,
            signing=signing,
            retry_num=retry or None,
            retry_reason=previous or ("http_timeout" if retry else None),
            timeout=timeout,
        )
        ok = 200 <= reply.status < 300
        with self._lock:
            attempt.status = reply.status
            attempt.answered_at = attempt.sent_at + reply.latency
            attempt.error = reply.error or (None if ok else "http_error")
            if ok:
                delivery.ack = {"status": reply.status, "body": reply.body}
                delivery.acked_at = attempt.answered_at
        return ok
