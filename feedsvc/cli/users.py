"""`feedsvc create-user | list-users | deactivate-user | set-password`: the desk's users
(docs/operations.md#users-of-the-desk).

Passwords are prompted for twice without echo, or read as one line from standard input
with `--password-stdin` (for scripts: never as an option, which `ps` and the shell's
history would show). Each command is one transaction; a bad value changes nothing and
is one line on stderr with exit status 2.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from feedsvc import db
from feedsvc.models import User
from feedsvc.store import accounts
from feedsvc.store.accounts import Invalid, Problem
from feedsvc.store.audit import Acting, command_actor

MESSAGES = {
    Problem.EMAIL_MISSING: "--email is empty",
    Problem.EMAIL_INVALID: "--email is not an address sign-in links can be sent to (ASCII: name@stadt.de)",
    Problem.EMAIL_TAKEN: "a user with this --email exists already",
    Problem.NAME_TOO_LONG: f"--name may be at most {accounts.NAME_LENGTH} characters long",
    Problem.ROLE_UNKNOWN: f"--role must be one of {', '.join(accounts.ROLES)}",
    Problem.CITIES_MISSING: "an editor needs at least one --city",
    Problem.CITIES_FOR_ADMIN: "--city goes with --role editor only (an admin writes every city)",
    Problem.CITY_UNKNOWN: "unknown cities: {detail}",
    Problem.PASSWORD_TOO_SHORT: f"the password must have at least {accounts.MIN_PASSWORD_LENGTH} characters",
    Problem.PASSWORD_TOO_LONG: f"the password may be at most {accounts.MAX_PASSWORD_LENGTH} characters long",
}


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(2)


def _message(invalid: Invalid) -> str:
    return MESSAGES[invalid.problem].format(detail=invalid.detail)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.buffer.readline().rstrip(b"\r\n")
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            _fail("the password on standard input is not UTF-8")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _user(email: str) -> User:
    user = accounts.user_by_email(db.session(), email)
    if user is None:
        _fail(f"no user with the e-mail address {accounts.normalise_email(email)!r}")
    return user


password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password as one line from standard input."
)


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True, help="The address the user signs in with.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(accounts.ROLES),
    help="editor: writes for the press offices of its cities; admin: everything.",
)
@click.option("--city", "cities", multiple=True, help="Slug of a city an editor writes for (repeatable).")
@click.option("--name", default="", help="The user's name, as the desk shows it.")
@password_stdin
def create_user_command(
    email: str, role: str, cities: tuple[str, ...], name: str, password_stdin: bool
) -> None:
    """Create a user of the desk (/publish); asks for the password."""
    session = db.session()
    # Everything but the password first: a typo in --city should not cost typing it twice.
    checked = accounts.check_new_user(
        session, email=email, name=name, role=role, city_slugs=cities, password=None
    )
    if isinstance(checked, list):
        _fail("; ".join(_message(found) for found in checked))
    password = _read_password(password_stdin)
    if (problem := accounts.check_password(password)) is not None:
        _fail(_message(Invalid("password", problem)))
    user = accounts.create_user(
        session,
        replace(checked, password=password),
        current_app.config["CLOCK"](),
        by=Acting(command_actor("create-user")),
    )
    try:
        session.commit()
    except IntegrityError:  # the same address, created meanwhile
        session.rollback()
        _fail(_message(Invalid("email", Problem.EMAIL_TAKEN)))
    scope = "every city" if user.role == "admin" else ", ".join(city.slug for city in user.cities)
    click.echo(f"user {user.id} {user.email} ({user.role}: {scope}) created")


@click.command("list-users")
@with_appcontext
def list_users_command() -> None:
    """List the desk's users (never their password hashes)."""
    for user in accounts.users(db.session()):
        scope = "*" if user.role == "admin" else ",".join(city.slug for city in user.cities)
        state = "active" if user.is_active else "deactivated"
        password = "password" if user.password_hash else "link only"
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{state}\t{scope}\t{password}\t{user.name}")


@click.command("deactivate-user")
@with_appcontext
@click.argument("email")
def deactivate_user_command(email: str) -> None:
    """Deactivate the user with EMAIL: signed out everywhere at once, and no more sign-ins."""
    session = db.session()
    user = _user(email)
    if not user.is_active:
        click.echo(f"user {user.email} was already deactivated")
        return
    accounts.deactivate_user(
        session, user, current_app.config["CLOCK"](), by=Acting(command_actor("deactivate-user"))
    )
    session.commit()
    click.echo(f"user {user.email} deactivated and signed out")


@click.command("set-password")
@with_appcontext
@click.argument("email")
@password_stdin
def set_password_command(email: str, password_stdin: bool) -> None:
    """Set the password of the user with EMAIL; ends every session of the user."""
    session = db.session()
    user = _user(email)
    password = _read_password(password_stdin)
    if (problem := accounts.check_password(password)) is not None:
        _fail(_message(Invalid("password", problem)))
    accounts.set_password(
        session, user, password, current_app.config["CLOCK"](), by=Acting(command_actor("set-password"))
    )
    session.commit()
    click.echo(f"password of {user.email} set; every session of the user has ended")
