"""What a group of servers says without storing it: typing and away, over pub/sub.

Neither has a seq or a place in history (PROTOCOL.md section 9), so neither goes
through the log: each server publishes its members' ``typing`` and ``presence``
frames on one channel (``CHANNEL``) and one thread per server, with its own pub/sub
connection (redis-py's pub/sub objects are not shared between threads), hands the
others' to ``heard(event)``. Best effort, as typing is on one server: a frame sent
while Redis is unreachable is dropped (logged once), and across servers a typing
frame is not ordered with the lines around it.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Callable

import redis

log = logging.getLogger("chat.redis")

CHANNEL = "lanchat:presence"


class Relay:
    """Publish this server's ephemeral frames; hear the group's others.

    Args:
        client: the journal's Redis client; origin: this server's id;
        heard: called with each event another server published (on this thread).
    """

    def __init__(self, client: redis.Redis, origin: str, heard: Callable[[dict], None]):
        self.redis = client
        self.origin = origin
        self.heard = heard
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="redis-relay", daemon=True)
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(3)

    def publish(self, event: dict) -> None:
        """Tell the group's other servers (best effort: never raises)."""
        try:
            self.redis.publish(CHANNEL, json.dumps({"o": self.origin, "e": event}))
            self._worked()
        except redis.RedisError as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if not self._failing:
            self._failing = True
            log.error("typing and away: Redis cannot be reached (%s); retrying", exc)

    def _worked(self) -> None:
        if self._failing:
            self._failing = False
            log.warning("typing and away: Redis is reachable again")

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(CHANNEL)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.2)
                    if message is None:
                        continue
                    said = json.loads(message["data"])
                    if said.get("o") != self.origin and isinstance(said.get("e"), dict):
                        self.heard(said["e"])
            except redis.RedisError as exc:
                self._failed(exc)
                self._stop.wait(0.5)
            except Exception:
                log.exception("a relayed frame could not be delivered")
            finally:
                try:
                    pubsub.close()
                except redis.RedisError:
                    pass
