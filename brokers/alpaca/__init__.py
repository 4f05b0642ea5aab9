"""A paper account at Alpaca behind the same ten tools, built on the official SDK (alpaca-py).

- config: the keys (environment or keyring) and the paper-only endpoint check.
- client: alpaca-py's TradingClient and StockHistoricalDataClient with timeouts, bounded retries and Alpaca's
  errors turned into tool errors with Alpaca's reason.
- engine: the broker engine interface the server factory serves, over Alpaca's account, orders and quotes.
- quotes: Alpaca's latest quotes as the price source of the simulated brokers (TRADING_QUOTES=alpaca).
"""
