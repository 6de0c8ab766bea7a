"""Console accounts: roles, hashing as box secrets are, sessions ended by changes, login limits.

Runs on SQLite and PostgreSQL (``test_domain_*``): the counts must be shared by all workers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, text

from ocpp_soap.central.accounts import MAX_FAILURES, Accounts, LoginLocked
from ocpp_soap.central.errors import Conflict, NotFound
from ocpp_soap.central.passwords import verify_secret
from ocpp_soap.central.storage import MIGRATIONS, make_engine, migrate
from ocpp_soap.central.storage.models import ConsoleUser
from ocpp_soap.central.testing import central_on_file
from ocpp_soap.central.timeutil import utc_now


class Clock:
    def __init__(self):
        self.now = utc_now()

    def __call__(self):
        return self.now


@pytest.fixture
def central(tmp_path):
    return central_on_file(tmp_path)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def accounts(central, clock):
    return Accounts(central.store, clock)


def test_add_list_remove_and_roles(accounts):
    made = accounts.add("alice", "admin", "correct horse")
    assert made["name"] == "alice" and made["role"] == "admin" and "password_hash" not in made
    accounts.add("bob", "viewer", "battery staple")
    assert [(u["name"], u["role"]) for u in accounts.list()] == [("alice", "admin"),
                                                                 ("bob", "viewer")]
    with pytest.raises(Conflict):
        accounts.add("ALICE", "viewer", "whatever123")  # one person, whatever the case
    assert accounts.get("alice").may("operator") and accounts.get("alice").may("viewer")
    bob = accounts.get("bob")
    assert bob.may("viewer") and not bob.may("operator")
    assert accounts.set_role("bob", "operator")["role"] == "operator"
    assert accounts.get("bob").may("operator") and not accounts.get("bob").may("admin")
    assert accounts.admins() == 1
    accounts.remove("bob")
    assert accounts.get("bob") is None
    with pytest.raises(NotFound):
        accounts.remove("bob")


@pytest.mark.parametrize("name", ["", " alice", "al ice", "a\x00b", "x" * 65, "é", "-lead",
                                  "a/b", "<script>"])
def test_hostile_names_refused(accounts, name):
    with pytest.raises(ValueError, match="user name"):
        accounts.add(name, "viewer", "long enough")


@pytest.mark.parametrize("password,message", [("short", "at least"), ("x" * 1025, "at most"),
                                              ("tab\there-ok?", "control")])
def test_weak_or_hostile_passwords_refused(accounts, password, message):
    with pytest.raises(ValueError, match=message):
        accounts.add("carol", "viewer", password)


def test_unknown_role_refused(accounts):
    with pytest.raises(ValueError, match="role"):
        accounts.add("dave", "root", "long enough")


def test_password_is_hashed_as_box_secrets_are(central, accounts):
    accounts.add("alice", "admin", "correct horse")
    stored = central.store.read(lambda s: s.get(ConsoleUser, "alice").password_hash)
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_secret("correct horse", stored) and not verify_secret("wrong", stored)


def test_login_and_session_epoch(accounts):
    accounts.add("alice", "admin", "correct horse")
    account = accounts.login("alice", "correct horse", "192.0.2.1")
    assert account is not None and account.name == "alice" and account.session_epoch == 0
    assert accounts.login("Alice", "correct horse", "192.0.2.1").name == "alice"
    assert accounts.login("alice", "wrong password", "192.0.2.1") is None
    assert accounts.login("nobody", "correct horse", "192.0.2.1") is None
    assert accounts.login("bad name!", "x", None) is None
    accounts.set_password("alice", "new password")
    assert accounts.get("alice").session_epoch == 1
    assert accounts.login("alice", "correct horse", "192.0.2.1") is None
    assert accounts.login("alice", "new password", "192.0.2.1") is not None
    accounts.set_role("alice", "viewer")
    assert accounts.get("alice").session_epoch == 2
    assert next(u for u in accounts.list() if u["name"] == "alice")["last_login_at"]


def test_failed_logins_lock_the_account_then_expire(accounts, clock):
    accounts.add("alice", "admin", "correct horse")
    for i in range(MAX_FAILURES):
        assert accounts.login("alice", f"guess {i}", f"198.51.100.{i}") is None
    # Locked: even the right password is refused now, with the time to wait.
    with pytest.raises(LoginLocked) as locked:
        accounts.login("alice", "correct horse", "203.0.113.9")
    assert 0 < locked.value.retry_after <= 61
    clock.now += timedelta(seconds=61)
    assert accounts.login("alice", "correct horse", "203.0.113.9") is not None
    # The success cleared the account's count: one more failure does not lock it.
    assert accounts.login("alice", "guess", "203.0.113.9") is None
    assert accounts.login("alice", "correct horse", "203.0.113.9") is not None


def test_failed_logins_lock_the_address_across_names(accounts, clock):
    accounts.add("alice", "admin", "correct horse")
    for i in range(MAX_FAILURES):
        assert accounts.login(f"user{i}", "guess", "198.51.100.7") is None
    with pytest.raises(LoginLocked):
        accounts.login("alice", "correct horse", "198.51.100.7")
    assert accounts.login("alice", "correct horse", "198.51.100.8") is not None  # others may
    # Failing on while locked doubles the wait.
    clock.now += timedelta(seconds=61)
    assert accounts.login("nobody", "guess", "198.51.100.7") is None
    with pytest.raises(LoginLocked) as locked:
        accounts.login("alice", "correct horse", "198.51.100.7")
    assert 61 < locked.value.retry_after <= 121


def test_signing_key_is_made_once_and_shared(central):
    first = Accounts(central.store).signing_key()
    assert len(first) == 32
    assert Accounts(central.store).signing_key() == first


def test_database_of_the_previous_version_gets_the_console_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    migrate(engine, [m for m in MIGRATIONS if m.version < 4])  # before the console step (4)
    with engine.begin() as conn:
        for table in ("console_users", "console_login_failures", "console_secrets"):
            conn.execute(text(f"DROP TABLE {table}"))
    assert "console_users" not in inspect(engine).get_table_names()
    assert migrate(engine) == MIGRATIONS[-1].version
    assert {"console_users", "console_login_failures", "console_secrets"} <= set(
        inspect(engine).get_table_names())
