"""Call-centre agents' accounts and sign-in sessions, kept in the tickets' SQL database.

Passwords are stored only as argon2id hashes and session tokens only as SHA-256 digests, so
a copy of the database signs nobody in. The console and the HTTP API are separate processes
and share the accounts through the database.

    accounts = SqlAccountStore(settings.resolved_database_url)
    token = accounts.open_session("alice", timedelta(hours=8))  # after authenticate() passed
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.desk.database import Database, record_from_row, utc_now
from assistant.desk.migrations import upgrade_to_head
from assistant.desk.tables import DISPLAY_NAME_MAX_CHARS, AccountRow, AgentSessionRow
from knowledge.errors import ConfigurationError, InputError, StageError

USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,64}$")
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 1024
"""Far above any real password; stops a megabyte 'password' from being hashed per request."""


@dataclass(frozen=True)
class AgentAccount:
    """A call-centre agent as the console and the API see them; the password hash never leaves
    the store."""

    username: str
    display_name: str | None
    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None

    @property
    def name(self) -> str:
        """What to show people (and put on a ticket as its assignee)."""
        return self.display_name or self.username


# --- The store ---------------------------------------------------------------------------------


class SqlAccountStore:
    """Agent accounts and their sign-in sessions on SQLAlchemy. The schema is migrated on first
    use.

    Session expiry is fixed at `open_session` (no sliding): checking a token is a read, so
    every API request does not take SQLite's write lock. `hasher` is for tests and for
    raising the argon2id cost; hashes made with other parameters are upgraded at sign-in.
    """

    def __init__(
        self,
        database_url: str,
        *,
        now: Callable[[], datetime] | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._db = Database(database_url, stage="accounts", create_tables=upgrade_to_head)
        self._clock = now or utc_now
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    def close(self) -> None:
        """Release the connections; the store can still be used (it reconnects)."""
        self._db.close()

    # Accounts

    def add_agent(
        self, username: str, password: str, display_name: str | None = None
    ) -> AgentAccount:
        username = _checked_username(username)
        _check_password(password)
        display_name = _checked_display_name(display_name)
        # Hash before taking the write lock: argon2 is slow on purpose.
        password_hash = self._hasher.hash(password)
        row = AccountRow(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            active=True,
            created_at=self._now(),
            last_sign_in_at=None,
        )
        try:
            with self._db.transaction(write=True) as db:
                taken = db.scalar(select(AccountRow.id).where(AccountRow.username == username))
                if taken is not None:
                    raise _duplicate(username)
                db.add(row)
                db.flush()
                return _account(row)
        except IntegrityError as error:  # another process added the same name in between
            raise _duplicate(username) from error

    def list_agents(self) -> list[AgentAccount]:
        """Every account, disabled ones included, by username."""
        with self._db.transaction(write=False) as db:
            rows = db.scalars(select(AccountRow).order_by(AccountRow.username))
            return [_account(row) for row in rows]

    def disable_agent(self, username: str) -> AgentAccount:
        """The agent can no longer sign in, and every session they have ends now."""
        now = self._now()
        with self._db.transaction(write=True) as db:
            row = self._account_row(db, username)
            row.active = False
            db.execute(
                update(AgentSessionRow)
                .where(
                    AgentSessionRow.account_id == row.id,
                    AgentSessionRow.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            return _account(row)

    def enable_agent(self, username: str) -> AgentAccount:
        """The agent can sign in again; sessions ended by `disable_agent` stay ended."""
        with self._db.transaction(write=True) as db:
            row = self._account_row(db, username)
            row.active = True
            return _account(row)

    def set_password(self, username: str, password: str) -> AgentAccount:
        """Replace the password; the old one stops working. Open sessions are left alone
        (disable the agent to end them)."""
        _check_password(password)
        password_hash = self._hasher.hash(password)
        with self._db.transaction(write=True) as db:
            row = self._account_row(db, username)
            row.password_hash = password_hash
            return _account(row)

    def authenticate(self, username: str, password: str) -> AgentAccount | None:
        """The account if the password is right and the account is active, else None.

        Unknown and malformed usernames still cost one argon2 verification, so the time taken
        does not tell a caller which usernames exist.
        """
        normalized = normalized_username(username) if isinstance(username, str) else ""
        if not isinstance(password, str) or len(password) > PASSWORD_MAX_CHARS:
            self._verify(self._dummy(), "", username=None)  # same cost, no megabyte hashed
            return None
        with self._db.transaction(write=False) as db:
            found = db.execute(
                select(AccountRow.id, AccountRow.password_hash, AccountRow.active).where(
                    AccountRow.username == normalized
                )
            ).first()
        if found is None:
            self._verify(self._dummy(), password, username=None)
            return None
        account_id, password_hash, active = found
        if not self._verify(password_hash, password, username=normalized) or not active:
            return None
        new_hash = (
            self._hasher.hash(password) if self._hasher.check_needs_rehash(password_hash) else None
        )
        with self._db.transaction(write=True) as db:
            row = db.get(AccountRow, account_id)
            # Disabled, or given a new password, while we were verifying: the old one is void.
            if row is None or not row.active or row.password_hash != password_hash:
                return None
            row.last_sign_in_at = self._now()
            if new_hash is not None:
                row.password_hash = new_hash
            return _account(row)

    # Sessions

    def open_session(self, username: str, ttl: timedelta) -> str:
        """A new sign-in session for an active agent; returns the token to give the browser.

        Call it after `authenticate` succeeded. Only the token's SHA-256 is stored.
        """
        if ttl <= timedelta(0):
            raise InputError(source="ttl", problem=f"must be positive, not {ttl}")
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._db.transaction(write=True) as db:
            row = self._account_row(db, username)
            if not row.active:
                raise InputError(
                    source="username",
                    problem=(
                        f"agent {row.username!r} is disabled; "
                        "enable it with `glovebox agents enable`"
                    ),
                )
            db.add(
                AgentSessionRow(
                    token_sha256=token_digest(token),
                    account_id=row.id,
                    created_at=now,
                    expires_at=now + ttl,
                    revoked_at=None,
                )
            )
        return token

    def session_agent(self, token: str) -> AgentAccount | None:
        """The signed-in agent, or None for an unknown, expired, closed or revoked token, or an
        agent who has been disabled."""
        if not isinstance(token, str) or not token:
            return None
        query = (
            select(AccountRow)
            .join(AgentSessionRow, AgentSessionRow.account_id == AccountRow.id)
            .where(
                AgentSessionRow.token_sha256 == token_digest(token),
                AgentSessionRow.revoked_at.is_(None),
                AgentSessionRow.expires_at > self._now(),
                AccountRow.active.is_(True),
            )
        )
        with self._db.transaction(write=False) as db:
            row = db.scalars(query).first()
            return None if row is None else _account(row)

    def close_session(self, token: str) -> None:
        """Sign out. Closing an unknown or already closed token does nothing."""
        if not isinstance(token, str) or not token:
            return
        with self._db.transaction(write=True) as db:
            db.execute(
                update(AgentSessionRow)
                .where(
                    AgentSessionRow.token_sha256 == token_digest(token),
                    AgentSessionRow.revoked_at.is_(None),
                )
                .values(revoked_at=self._now())
            )

    def purge_expired(self) -> int:
        """Delete sessions that have expired or been closed; returns how many went."""
        with self._db.transaction(write=True) as db:
            result = db.execute(
                delete(AgentSessionRow).where(
                    or_(
                        AgentSessionRow.expires_at <= self._now(),
                        AgentSessionRow.revoked_at.is_not(None),
                    )
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # Plumbing

    def _verify(self, password_hash: str, password: str, *, username: str | None) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except VerificationError:
            return False
        except InvalidHashError as error:
            if username is None:  # the dummy hash is ours: it cannot be malformed
                raise
            raise StageError(
                "accounts",
                f"the stored password hash of agent {username!r} is unreadable; "
                "set a new one with `glovebox agents set-password`",
            ) from error

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigurationError("the accounts clock returned a naive datetime; return UTC")
        return now.astimezone(UTC)

    @staticmethod
    def _account_row(db: Session, username: str) -> AccountRow:
        normalized = normalized_username(username)
        row = db.scalars(
            select(AccountRow).where(AccountRow.username == normalized).with_for_update()
        ).first()
        if row is None:
            raise InputError(
                source="username",
                problem=f"no agent {normalized!r}; add the agent first, or check the spelling",
            )
        return row


def normalized_username(username: str) -> str:
    """A username as accounts are stored and compared: trimmed, lower case."""
    return username.strip().lower()


def token_digest(token: str) -> str:
    """What is stored of a random token (a session's, a trusted device's): its hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _checked_username(username: str) -> str:
    normalized = normalized_username(username)
    if not USERNAME_PATTERN.match(normalized):
        raise InputError(
            source="username",
            problem=(
                f"{username!r} is not a valid username; use 3-64 lowercase letters, digits, "
                "dots, hyphens or underscores, like 'alice.smith'"
            ),
        )
    return normalized


def _check_password(password: str) -> None:
    # The message never repeats the password: errors end up in logs.
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_CHARS:
        raise InputError(
            source="password",
            problem=f"is too short; use at least {PASSWORD_MIN_CHARS} characters",
        )
    if len(password) > PASSWORD_MAX_CHARS:
        raise InputError(
            source="password",
            problem=f"is too long; use at most {PASSWORD_MAX_CHARS} characters",
        )


def _checked_display_name(display_name: str | None) -> str | None:
    if display_name is None or not display_name.strip():
        return None
    display_name = display_name.strip()
    if len(display_name) > DISPLAY_NAME_MAX_CHARS:
        raise InputError(
            source="display_name",
            problem=f"is {len(display_name)} characters; use at most {DISPLAY_NAME_MAX_CHARS}",
        )
    return display_name


def _duplicate(username: str) -> InputError:
    return InputError(
        source="username",
        problem=(
            f"agent {username!r} already exists; choose another username, "
            "or give that agent a new password with `glovebox agents set-password`"
        ),
    )


def _account(row: AccountRow) -> AgentAccount:
    return record_from_row(AgentAccount, row)
