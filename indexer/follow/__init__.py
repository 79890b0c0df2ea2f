"""The block follower: from a start height to the node's tip and on, writing the shard tables.

See ``docs/follower.md`` for the design, the on-disk layout, the manifest and the recovery
procedures. Readers (the pipelines) need only :func:`committed_files` / :func:`scan_committed`.
"""

from indexer.follow.config import FollowConfig, load_config
from indexer.follow.errors import (
    DeepReorgError,
    FollowError,
    ManifestError,
    ShardRootBusyError,
    StoppedError,
)
from indexer.follow.follower import Follower, FollowStats
from indexer.follow.manifest import MANIFEST_NAME, Manifest, Segment, read_manifest
from indexer.follow.reader import committed_files, read_committed, scan_committed

__all__ = [
    "MANIFEST_NAME",
    "DeepReorgError",
    "FollowConfig",
    "FollowError",
    "FollowStats",
    "Follower",
    "Manifest",
    "ManifestError",
    "Segment",
    "ShardRootBusyError",
    "StoppedError",
    "committed_files",
    "load_config",
    "read_committed",
    "read_manifest",
    "scan_committed",
]
