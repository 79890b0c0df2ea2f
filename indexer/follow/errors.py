"""Errors of the block follower. All derive from :class:`indexer.errors.IndexerError`; bad
configuration is :class:`indexer.errors.ConfigError` (re-exported here)."""

from __future__ import annotations

from indexer.errors import ConfigError, IndexerError

__all__ = [
    "BlockUnknownError",
    "ConfigError",
    "CorruptBlockError",
    "DeepReorgError",
    "FollowError",
    "ManifestError",
    "NodeUnavailableError",
    "ShardRootBusyError",
    "StoppedError",
    "StorageError",
]


class FollowError(IndexerError):
    """Root of the follower's errors."""


class ManifestError(FollowError):
    """A manifest that cannot be read or does not describe a valid committed state."""


class ShardRootBusyError(FollowError):
    """Another follower holds the shard root's lock."""


class StoppedError(FollowError):
    """The follower was asked to stop while waiting (for the node, or between blocks)."""


class DeepReorgError(FollowError):
    """The node's best chain forks from the indexed chain at or below the final height: the
    follower will not undo blocks it declared final. ``fork_height`` is the highest height
    where both chains agree, when it could be determined."""

    def __init__(self, message: str, *, fork_height: int | None, final_height: int) -> None:
        super().__init__(message)
        self.fork_height = fork_height
        self.final_height = final_height


class CorruptBlockError(FollowError):
    """Every source the follower could ask served bytes for a block that fail verification
    (header hash, merkle root, witness commitment, or decoding): the node's own copy is bad.
    Nothing was committed for it."""

    def __init__(self, message: str, *, height: int, block_hash: str) -> None:
        super().__init__(message)
        self.height = height
        self.block_hash = block_hash


class BlockUnknownError(FollowError):
    """The node no longer knows a block it listed on its active chain moments before: its chain
    changed under the follower (a node killed before flushing comes back without its newest
    blocks; a reorg can drop a stale branch). Not an error of the run: the follower commits
    what it has, stops the batch and re-checks the node's chain."""

    def __init__(self, block_hash: str) -> None:
        super().__init__(f"the node does not know block {block_hash} any more")
        self.block_hash = block_hash


class NodeUnavailableError(FollowError):
    """The node stayed unavailable (down, warming up, overloaded, credentials missing) for
    longer than ``max_wait``. Nothing was committed half-way; run again once the node is up."""

    def __init__(self, message: str, *, reason: str, waited_s: float, url: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.waited_s = waited_s
        self.url = url


class StorageError(FollowError):
    """The shard root cannot be written or read (disk full, permissions, a read-only file
    system, an unreadable committed file). Nothing was committed half-way: the manifest still
    names the last complete state."""
