"""Order Service: self-hosted order management for Indian markets through Zerodha Kite Connect."""

__version__ = "0.1.0"
