"""Errors raised by the devnet (regtest chain builder, wallet, dev node).

Every error derives from :class:`DevnetError`. Messages say what was wrong and where, so a
simulator or the CLI can report them without a traceback.
"""

from __future__ import annotations


class DevnetError(Exception):
    """Root of every error raised by the devnet."""


class BadArgumentError(DevnetError):
    """An argument (API keyword, CLI flag, RPC parameter) that cannot be used."""


class DataDirError(DevnetError):
    """A data directory that is missing, malformed, or not a regtest devnet."""


class DataDirBusyError(DataDirError):
    """Another process (or another chain object in this process) holds the data directory.

    Core's ``.lock`` convention is followed, so a running ``bitcoind -regtest`` on the same
    directory is detected too.
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            f"cannot obtain a lock on data directory {path}: another devnet or bitcoind is "
            "probably already using it"
        )
        self.path = path


class KernelError(DevnetError):
    """libbitcoinkernel failed for a reason other than an invalid block (I/O, database)."""


class BlockRejectedError(DevnetError):
    """A block the kernel refused.

    ``reason`` is Core's reject reason (``BlockValidationState::GetRejectReason()``, e.g.
    ``bad-txnmrklroot``), ``debug`` its debug message (may be empty), ``result`` the
    ``BlockValidationResult`` name (``MUTATED``, ``CONSENSUS``, ...), ``block_hash`` the
    display hex of the block.
    """

    def __init__(self, block_hash: str, *, reason: str, debug: str = "", result: str = "") -> None:
        detail = f"{reason}, {debug}" if debug else reason
        kind = f" [{result}]" if result else ""
        super().__init__(f"block {block_hash} rejected by the kernel: {detail}{kind}")
        self.block_hash = block_hash
        self.reason = reason
        self.debug = debug
        self.result = result


class WalletError(DevnetError):
    """The wallet cannot do what was asked."""


class InsufficientFundsError(WalletError):
    """Not enough mature, unreserved coins to fund a transaction."""


class TxBuildError(DevnetError):
    """A transaction that cannot be built as requested (bad envelope, fee above inputs...)."""


class NodeServeError(DevnetError):
    """The dev node cannot start serving (port in use, bad ZMQ address...)."""
