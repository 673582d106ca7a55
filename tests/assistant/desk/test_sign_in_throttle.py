"""The sign-in throttle's trusted devices: bound to one username, expiring, and capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assistant.desk.database import Database
from assistant.desk.migrations import upgrade_to_head
from assistant.desk.sign_in_throttle import DEVICE_TRUST, DEVICES_PER_AGENT, SignInThrottle


class Now:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def throttle(now: Now) -> SignInThrottle:
    database = Database("sqlite://", stage="tickets", create_tables=upgrade_to_head)
    return SignInThrottle(database, now=now)


def test_a_device_is_trusted_for_its_username_until_it_expires() -> None:
    now = Now()
    signed_in = throttle(now)
    device = signed_in.succeeded(signed_in.admit("10.0.0.1", " Ana ", None))
    assert signed_in.trusts(device, "ana") and not signed_in.trusts(device, "bob")
    assert not signed_in.trusts("made-up-token", "ana")
    now.now += DEVICE_TRUST - timedelta(days=1)
    again = signed_in.admit("10.0.0.9", "ana", device)
    assert again.trusted and signed_in.succeeded(again) == device  # and its trust renewed
    now.now += DEVICE_TRUST - timedelta(seconds=1)
    assert signed_in.trusts(device, "ana")
    now.now += timedelta(seconds=2)
    assert not signed_in.trusts(device, "ana")
    assert not signed_in.admit("10.0.0.9", "ana", device).trusted


def test_only_the_most_recent_devices_stay_trusted() -> None:
    now = Now()
    signed_in = throttle(now)
    devices = []
    for _ in range(DEVICES_PER_AGENT + 2):
        now.now += timedelta(minutes=1)
        devices.append(signed_in.succeeded(signed_in.admit("10.0.0.1", "ana", None)))
    trusted = [signed_in.trusts(device, "ana") for device in devices]
    assert trusted == [False, False] + [True] * DEVICES_PER_AGENT
