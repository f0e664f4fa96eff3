"""Named accounts per venue: the venue's own credentials are the account ``default``; more come from
``<VENUE>_ACCOUNTS``, each with credentials of its own (``<VENUE>_<NAME>_API_KEY`` and so on).

CoinW and Bitget meter and sign by API key, so each of their accounts carries its own credentials.
CrossTrade accounts are NinjaTrader account names under the one CrossTrade token; ``CROSSTRADE_ACCOUNTS``,
when set, is the list of names alerts may use. Account names are case-insensitive.

Every problem raises ``ValueError`` with one line naming the variable (the settings loader turns it into a
``SettingsError``); a secret value is never printed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Protocol

from config.secrets import Secret

#: The account an alert means when it names none: the venue's own credential variables.
DEFAULT_ACCOUNT = "default"

#: An account name in ``<VENUE>_ACCOUNTS`` of CoinW and Bitget: it becomes part of variable names.
API_ACCOUNT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")

#: Longest NinjaTrader account name accepted in ``CROSSTRADE_ACCOUNTS``.
MAX_NINJATRADER_NAME = 100


class UnknownAccount(LookupError):
    """An alert names an account this server does not know (or names none where a name is needed)."""


class AccountBook(Protocol):
    """What every venue's settings say about its accounts."""

    @property
    def configured(self) -> bool: ...

    def account_names(self) -> tuple[str, ...]: ...

    def resolve_account(self, name: str | None) -> str | None: ...

    def has_credentials(self, account: str | None) -> bool: ...

    def credential_variables(self, account: str | None) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class ApiAccount:
    """One account's API credentials: the key identifies it (as today's ``<VENUE>_API_KEY``), the rest are secret."""

    api_key: str
    secret_key: Secret
    passphrase: Secret | None = None


def account_variables(venue: str, name: str, suffixes: tuple[str, ...]) -> tuple[str, ...]:
    """The variables that hold account ``name``'s credentials, e.g. ``COINW_MAIN_API_KEY``."""
    return tuple(f"{venue.upper()}_{name.upper()}_{suffix}" for suffix in suffixes)


def load_api_accounts(venue: str, env: Mapping[str, str], suffixes: tuple[str, ...]) -> dict[str, ApiAccount]:
    """The accounts ``<VENUE>_ACCOUNTS`` lists, by lower-case name, each with every credential variable set."""
    listing = f"{venue.upper()}_ACCOUNTS"
    names = _listed(listing, env)
    for name in names:
        if not API_ACCOUNT_NAME.match(name):
            raise ValueError(f"{listing}: {name!r} is not an account name (a letter, then letters, digits or "
                             f"_; at most 32)")
        if name.lower() == DEFAULT_ACCOUNT:
            raise ValueError(f"{listing}: {_default_is(venue)}; list only the others")
    _refuse_unlisted(venue, names, env, suffixes)
    accounts = {}
    for name in names:
        values = [_value(env, variable) for variable in account_variables(venue, name, suffixes)]
        _require_all(account_variables(venue, name, suffixes), values, listing, name)
        api_key, secret_key, *rest = values
        passphrase = Secret(rest[0]) if rest and rest[0] else None
        accounts[name.lower()] = ApiAccount(api_key or "", Secret(secret_key or ""), passphrase)
    return accounts


def load_listed_names(variable: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """Free-form account names (NinjaTrader's), as written, from a comma-separated variable."""
    names = _listed(variable, env)
    for name in names:
        if len(name) > MAX_NINJATRADER_NAME:
            raise ValueError(f"{variable}: {name[:20]!r}... is longer than {MAX_NINJATRADER_NAME} characters")
    return names


def api_account(name: str | None, *, has_default: bool, accounts: Mapping[str, ApiAccount]) -> str | None:
    """The canonical name of the account an alert names (None for the default one).

    ``UnknownAccount`` carries the name as given, or None when the alert names none and there is no default.
    """
    if name is None or name.strip().lower() == DEFAULT_ACCOUNT:
        if has_default:
            return None
        raise UnknownAccount(name)
    key = name.strip().lower()
    if key not in accounts:
        raise UnknownAccount(name.strip())
    return key


def ninjatrader_account(name: str | None, *, default: str | None, listed: tuple[str, ...]) -> str | None:
    """The NinjaTrader account an alert names, spelt as configured; None leaves the choice to
    ``CROSSTRADE_ACCOUNT``. ``default`` means that account; with ``CROSSTRADE_ACCOUNTS`` set, any other name
    must be in it. ``UnknownAccount`` otherwise."""
    if name is None:
        return None
    given = name.strip()
    if given.lower() == DEFAULT_ACCOUNT:
        if default:
            return default
        raise UnknownAccount(given)
    if not listed:
        return given
    for known in (default, *listed):
        if known and known.casefold() == given.casefold():
            return known
    raise UnknownAccount(given)


def _listed(variable: str, env: Mapping[str, str]) -> tuple[str, ...]:
    names = tuple(part.strip() for part in env.get(variable, "").split(",") if part.strip())
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise ValueError(f"{variable}: {name!r} is listed twice (names are case-insensitive)")
        seen.add(name.casefold())
    return names


def _refuse_unlisted(venue: str, names: tuple[str, ...], env: Mapping[str, str], suffixes: tuple[str, ...]) -> None:
    """Credentials set for a name the listing forgot would never be used: say so at start, not at the first alert."""
    pattern = re.compile(rf"^{venue.upper()}_(.+)_({'|'.join(suffixes)})$")
    listed = {name.upper() for name in names}
    for variable in sorted(env):
        found = pattern.match(variable)
        if not found or not _value(env, variable) or found.group(1) in listed:
            continue
        if found.group(1) == DEFAULT_ACCOUNT.upper():
            raise ValueError(f"{variable} is set, but {_default_is(venue)}")
        raise ValueError(f"{variable} is set but {found.group(1)} is not listed in {venue.upper()}_ACCOUNTS")


def _require_all(variables: tuple[str, ...], values: list[str | None], listing: str, name: str) -> None:
    missing = [variable for variable, value in zip(variables, values) if not value]
    if missing:
        raise ValueError(f"{', '.join(missing)} not set: account {name}, listed in {listing}, needs all of "
                         f"{', '.join(variables)}")


def _default_is(venue: str) -> str:
    return f"the account named default is {venue.upper()}_API_KEY and its companions"


def _value(env: Mapping[str, str], variable: str) -> str | None:
    return env.get(variable, "").strip() or None


class ApiAccountBook:
    """The accounts of a venue that signs with API keys: the default one from the venue's own variables
    (``api_key``, ``secret_key`` and, where the venue has one, ``passphrase``), and the named ``accounts``."""

    #: The venue's name in variable names, and the suffixes of one account's credential variables.
    VARIABLE_PREFIX = ""
    CREDENTIAL_SUFFIXES: tuple[str, ...] = ("API_KEY", "SECRET_KEY")

    api_key: str | None
    secret_key: Secret | None
    accounts: Mapping[str, ApiAccount]

    @property
    def default_configured(self) -> bool:
        passphrase_needed = "PASSPHRASE" in self.CREDENTIAL_SUFFIXES
        return bool(self.api_key and self.secret_key and (self._passphrase or not passphrase_needed))

    @property
    def configured(self) -> bool:
        """Some account can trade: the default one or a named one."""
        return self.default_configured or bool(self.accounts)

    def account_names(self) -> tuple[str, ...]:
        return ((DEFAULT_ACCOUNT,) if self.default_configured else ()) + tuple(self.accounts)

    def resolve_account(self, name: str | None) -> str | None:
        """The canonical name of the account an alert names, None for the default one; else ``UnknownAccount``."""
        return api_account(name, has_default=self.default_configured, accounts=self.accounts)

    def credentials(self, account: str | None) -> ApiAccount | None:
        """The account's credentials; None when this process has none for it."""
        if account is not None:
            return self.accounts.get(account)
        if not self.default_configured or self.api_key is None or self.secret_key is None:
            return None
        return ApiAccount(self.api_key, self.secret_key, self._passphrase)

    def has_credentials(self, account: str | None) -> bool:
        return self.credentials(account) is not None

    def credential_variables(self, account: str | None) -> tuple[str, ...]:
        """The variables an operator sets for the account (named in messages, never with their values)."""
        if account is None:
            return tuple(f"{self.VARIABLE_PREFIX}_{suffix}" for suffix in self.CREDENTIAL_SUFFIXES)
        return account_variables(self.VARIABLE_PREFIX, account, self.CREDENTIAL_SUFFIXES)

    @property
    def _passphrase(self) -> Secret | None:
        return getattr(self, "passphrase", None)
