"""A Kite Connect v3 compatible paper broker that the unmodified `kiteconnect` SDK can talk to."""

from .app import create_app
from .config import PaperBrokerConfig
from .server import PaperBrokerServer, serve

__all__ = ["PaperBrokerConfig", "PaperBrokerServer", "create_app", "serve"]
