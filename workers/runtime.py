"""What a worker process builds once: settings, Redis, the limiter, the transport, the adapters, the runner."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from redis import Redis

from config.accounts import DEFAULT_ACCOUNT
from config.settings import Settings, load_settings
from executor.errors import VenueNotConfigured
from executor.execution import JobRunner
from executor.intake import utc_now
from executor.alertqueue import make_queue
from executor.ratelimit import RateLimiter
from executor.redis_client import connect
from executor.sendguard import SendGuard
from executor.venues import VENUE_SPECS, get_venue
from executor.venues.spec import VenueAdapter
from executor.venues.transport import Transport


class Runtime:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now,
                 redis: Redis | None = None) -> None:
        self.settings = settings
        self.redis = redis or connect(settings.redis_url)
        self.queue = make_queue(self.redis, settings)
        self.limiter = RateLimiter(self.redis)
        self.guard = SendGuard(self.limiter, settings.funding, max_wait=settings.retry.rate_limit_max_wait,
                               clock=clock)
        self.transport = Transport(before_send=self.guard)
        self.runner = JobRunner(settings, self.queue, self.limiter, self.guard, self.adapter, clock)
        self._adapters: dict[tuple[str, str | None], VenueAdapter] = {}

    def adapter(self, venue: str, account: str | None = None) -> VenueAdapter:
        """The adapter of one account of the venue (None: the default one), built from that account's
        credentials; a clear failure when this process has none for it."""
        key = (venue, account)
        if key not in self._adapters:
            spec = get_venue(venue)
            book = self.settings.venue(venue)
            if not book.has_credentials(account):
                names = ", ".join(book.credential_variables(account))
                which = f"account {account} of {spec.label}" if account else spec.label
                raise VenueNotConfigured(f"{which} is not configured on this worker (set {names})")
            self._adapters[key] = spec.build_adapter(self.settings, self.transport, account)
        return self._adapters[key]

    def build_adapters(self) -> None:
        """Every configured account's adapter, built before any job, so a job starts with everything imported
        and a credential problem shows at start."""
        for venue in VENUE_SPECS:
            book = self.settings.venue(venue)
            accounts: list[str | None] = [None] if book.has_credentials(None) else []
            accounts += [book.resolve_account(name) for name in book.account_names() if name != DEFAULT_ACCOUNT]
            for account in accounts:
                self.adapter(venue, account)


_runtime: Runtime | None = None


def current_runtime() -> Runtime:
    """The process's runtime, built on first use (in the worker's parent, before any job)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(load_settings())
    return _runtime


def install_runtime(runtime: Runtime | None) -> None:
    """Use this runtime in this process (tests running a worker in-process); None forgets it."""
    global _runtime
    _runtime = runtime
