"""Errors raised by the indexer.

Every error the indexer raises derives from :class:`IndexerError`. Decoding errors come from
the primitives below it (:class:`btc.errors.DecodeError` and its subclasses), which the
indexer's callers catch beside these.
"""

from __future__ import annotations


class IndexerError(Exception):
    """Root of every error raised by the indexer."""


class ConfigError(IndexerError):
    """A command-line argument or configuration value that cannot be used."""
