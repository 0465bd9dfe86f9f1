"""NATS JetStream bus: for deployments that already run NATS or outgrow LISTEN/NOTIFY.

Every channel is the subject "zhijiao.<channel>" in one stream, ZHIJIAO, that keeps
messages for an hour. We do not replay that history to new subscribers (each
subscribe makes an ephemeral *ordered* consumer with deliver policy "new"), but it
is what lets an ordered consumer that loses its connection resume from the
last sequence it saw instead of silently skipping what was sent meanwhile.
Publishing waits for JetStream's ack, so a returned publish is stored.
"""
from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy, DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from .base import Bus, Subscription, decode_message

STREAM = "ZHIJIAO"
SUBJECT_PREFIX = "zhijiao."

# Bounded retention: an hour, and at most 1 GiB / 1M messages, oldest dropped first.
# It is a resume buffer, not an archive (the database is the record).
_STREAM_CONFIG = StreamConfig(
    name=STREAM,
    subjects=[SUBJECT_PREFIX + ">"],
    storage=StorageType.FILE,
    discard=DiscardPolicy.OLD,
    max_age=3600,
    max_bytes=1 << 30,
    max_msgs=1_000_000,
)


class NatsBus(Bus):
    """Bus over one JetStream stream; one ephemeral ordered consumer per subscription."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._servers = url.split(",")
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: dict[Subscription, JetStreamContext.PushSubscription] = {}

    async def _connect(self) -> None:
        # Fail fast at startup (no endless first-connect retries), but once up,
        # reconnect forever: a NATS restart must not take the server down with it.
        self._nc = await nats.connect(
            servers=self._servers, name="zhijiao", connect_timeout=2,
            allow_reconnect=True, max_reconnect_attempts=-1,
        )
        self._js = self._nc.jetstream()
        try:
            await self._js.add_stream(_STREAM_CONFIG)
        except BadRequestError:
            # Exists with another config (e.g. an older retention): converge to ours.
            await self._js.update_stream(_STREAM_CONFIG)

    async def _close(self) -> None:
        for sub in list(self._subs):
            sub.end()
            # Explicitly: nc.close() alone leaves each ordered consumer's heartbeat
            # task running forever.
            await self._detach(sub)
        if self._nc is not None:
            await self._nc.close()  # ephemeral consumers then expire server-side

    async def _publish(self, channel: str, data: bytes) -> None:
        assert self._js is not None
        await self._js.publish(SUBJECT_PREFIX + channel, data, stream=STREAM)

    async def _attach(self, sub: Subscription) -> None:
        assert self._js is not None and self._nc is not None

        async def on_message(msg: Msg) -> None:
            try:
                sub.deliver(decode_message(msg.data))
            except ValueError as exc:  # not from us: fail loudly rather than skip it
                sub.end(exc)

        # "new" fixes the consumer's start sequence when it is created, i.e. before
        # js.subscribe returns; flush() then makes sure the server has our SUB for
        # the delivery inbox. After both, every later publish reaches this subscriber.
        psub = await self._js.subscribe(
            SUBJECT_PREFIX + sub.channel, stream=STREAM, cb=on_message,
            ordered_consumer=True, deliver_policy=DeliverPolicy.NEW,
        )
        self._subs[sub] = psub
        try:
            await self._nc.flush()
        except BaseException:  # cancelled or disconnected: don't leak the consumer's tasks
            await self._detach(sub)
            raise

    async def _detach(self, sub: Subscription) -> None:
        psub = self._subs.pop(sub, None)
        if psub is not None and self._nc is not None and not self._nc.is_closed:
            await psub.unsubscribe()
