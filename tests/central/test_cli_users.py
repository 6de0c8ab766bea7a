"""``ocpp-soap central user …``: console accounts from the shell, passwords never on the command
line."""

from __future__ import annotations

import io
import json

import pytest

from ocpp_soap.central.cli import main
from ocpp_soap.central.domain import CentralSystem
from ocpp_soap.central.settings import CentralSettings


@pytest.fixture
def db(tmp_path):
    return ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def pwfile(tmp_path, text, name="pw"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def accounts(db):
    return CentralSystem.open(CentralSettings(db_url=db[1])).accounts


def test_add_list_passwd_remove(capsys, db, tmp_path):
    code, out, err = run(capsys, "user", "add", "alice", "--role", "admin", "--password-file",
                         pwfile(tmp_path, "correct horse\n"), *db)
    assert (code, out) == (0, "added user alice (admin)\n"), err
    assert run(capsys, "user", "add", "bob", "--role", "viewer", "--password-file",
               pwfile(tmp_path, "battery staple"), *db)[0] == 0
    code, out, _ = run(capsys, "user", "list", *db)
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["USER", "ROLE"]
    assert [line.split()[:2] for line in lines[1:]] == [["alice", "admin"], ["bob", "viewer"]]
    code, out, _ = run(capsys, "user", "list", "--json", *db)
    assert [u["name"] for u in json.loads(out)] == ["alice", "bob"]
    # The trailing newline of the file is not part of the password.
    assert accounts(db).login("alice", "correct horse", None) is not None

    assert run(capsys, "user", "passwd", "alice", "--password-file",
               pwfile(tmp_path, "another horse\n", "pw2"), *db)[0] == 0
    assert accounts(db).login("alice", "correct horse", None) is None
    assert accounts(db).login("alice", "another horse", None) is not None

    assert run(capsys, "user", "remove", "bob", *db) == (0, "removed user bob\n", "")
    code, _, err = run(capsys, "user", "remove", "bob", *db)
    assert code == 2 and "unknown user 'bob'" in err


def test_password_from_stdin(capsys, db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin 123\n"))
    assert run(capsys, "user", "add", "carol", "--role", "operator", "--password-file", "-",
               *db)[0] == 0
    assert accounts(db).login("carol", "from stdin 123", None).role == "operator"


@pytest.mark.parametrize("argv,message", [
    (["user", "add", "x y", "--role", "viewer"], "user name"),
    (["user", "add", "dave", "--role", "viewer"], "at least 8"),
])
def test_bad_input_exits_2_with_a_message(capsys, db, tmp_path, argv, message):
    code, _, err = run(capsys, *argv, "--password-file", pwfile(tmp_path, "short"), *db)
    assert code == 2 and message in err and "Traceback" not in err


def test_unknown_role_and_missing_file(capsys, db, tmp_path):
    code, _, err = run(capsys, "user", "add", "dave", "--role", "root", *db)
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys, "user", "add", "dave", "--role", "viewer", "--password-file",
                       str(tmp_path / "absent"), *db)
    assert code == 2 and "cannot read the password file" in err
    code, _, err = run(capsys, "user", "add", "dave", "--role", "viewer", "--password-file",
                       pwfile(tmp_path, "\n"), *db)
    assert code == 2 and "empty" in err


def test_no_terminal_and_no_file_is_refused(capsys, db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "user", "add", "erin", "--role", "viewer", *db)
    assert code == 2 and "--password-file" in err


def test_prompt_asks_twice(capsys, db, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Tty())
    answers = iter(["typed password", "typed password", "one", "other"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run(capsys, "user", "add", "fred", "--role", "viewer", *db)[0] == 0
    assert accounts(db).login("fred", "typed password", None) is not None
    code, _, err = run(capsys, "user", "passwd", "fred", *db)
    assert code == 2 and "differ" in err


def test_passwd_unknown_user(capsys, db, tmp_path):
    code, _, err = run(capsys, "user", "passwd", "ghost", "--password-file",
                       pwfile(tmp_path, "long enough"), *db)
    assert code == 2 and "unknown user" in err
