"""Which accounts an alert acts on: the names it gives, checked against this server's accounts of its venue.

An alert names no account (the venue's default one), one, or several (a comma-separated list or a JSON
array): each becomes a job of its own. Names are case-insensitive; unknown ones are refused by name, so a
typo is an answer at intake, not a failed job later.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from config.accounts import DEFAULT_ACCOUNT, AccountBook, UnknownAccount

if TYPE_CHECKING:
    from config.settings import Settings
    from executor.venues.spec import VenueSpec

#: An account as a job carries it: its canonical name, or None for the venue's default account.
Account = str | None


def alert_accounts(spec: VenueSpec, names: tuple[str, ...], settings: Settings) -> tuple[list[Account], list[str]]:
    """The accounts the alert names, canonical, in the alert's order; or the problems, in words."""
    book: AccountBook = settings.venue(spec.name)
    if not names:
        try:
            return [book.resolve_account(None)], []
        except UnknownAccount:
            return [], [f"{spec.label} has no default account on this server: name one ({_known(book)})."]
    resolved: list[Account] = []
    unknown: list[str] = []
    for name in names:
        try:
            resolved.append(book.resolve_account(name))
        except UnknownAccount:
            unknown.append(name)
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        return [], [f"Unknown {spec.label} account{plural}: {', '.join(unknown)} ({_known(book)})."]
    twice = sorted({display(account) for account in resolved if resolved.count(account) > 1})
    if twice:
        return [], [f"Names account {', '.join(twice)} twice."]
    return resolved, []


def display(account: Account) -> str:
    """An account as answers and logs name it: the default one is ``default``."""
    return account if account is not None else DEFAULT_ACCOUNT


def _known(book: AccountBook) -> str:
    names = book.account_names()
    return f"known here: {', '.join(names)}" if names else "none is configured here"
