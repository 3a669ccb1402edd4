"""The paper broker's whole state: clock, market, users, sessions, exchange, faults, limits."""

from __future__ import annotations

from decimal import Decimal

from .catalogue import build_catalogue
from .clock import Clock
from .config import PaperBrokerConfig
from .engine import Exchange
from .faults import Faults
from .ids import IdFactory
from .postbacks import Postbacks
from .prices import Market
from .ratelimit import RateLimiter
from .replay import load_tapes
from .sessions import Sessions, User
from .updates import OrderFeed


class PaperBroker:
    """Everything one running paper broker knows; all in memory.

    The order feed (postback queue and ticker connections) belongs to the running server and
    is handed over when the admin API resets the broker, with the id counters (ids are never
    handed out twice).
    """

    def __init__(
        self,
        config: PaperBrokerConfig,
        feed: OrderFeed | None = None,
        ids: IdFactory | None = None,
    ) -> None:
        self.config = config
        self.clock = Clock(config.clock, start=config.clock_start)
        self.catalogue = build_catalogue(self.clock.now().date())
        tapes = (
            None if config.price_replay is None else load_tapes(config.price_replay, self.catalogue)
        )
        self.market = Market(config.seed, self.clock.second(), tapes)
        self.sessions = Sessions()
        self.feed = feed if feed is not None else OrderFeed(Postbacks(config.postback_delays))
        listener = self.feed.publisher(self.sessions.users)
        self.exchange = Exchange(self.catalogue, self.market, self.clock, listener, ids)
        self.gtts = self.exchange.gtts
        self.faults = Faults(config.seed)
        for spec in config.faults:
            self.faults.add(spec)
        self.limiter = RateLimiter(enabled=config.rate_limits)
        self.add_user(
            User(
                user_id=config.user_id,
                api_key=config.api_key,
                api_secret=config.api_secret,
                funds=config.funds,
                redirect_url=config.redirect_url,
                postback_url=config.postback_url,
            )
        )

    def add_user(self, user: User) -> None:
        """A user with empty books and `funds` of cash."""
        self.sessions.add_user(user)
        self.exchange.registry.open_account(user.user_id, user.funds)

    def price(self, key: str) -> Decimal | None:
        instrument = self.catalogue.by_key(key)
        if instrument is None:
            return None
        return self.market.price(instrument, self.clock.second())
