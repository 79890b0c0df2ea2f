"""Errors raised by the node clients (JSON-RPC, REST, ZMQ).

:class:`RPCError` subclasses map Bitcoin Core's RPC error codes (``src/rpc/protocol.h``) so a
follower can react to a class instead of a number: ``RPCWarmupError`` (-28, retry later),
``RPCInvalidAddressOrKeyError`` (-5, e.g. unknown block), ``RPCInvalidParameterError`` (-8,
e.g. height out of range), ``RPCMethodNotFoundError`` (-32601). Transport problems are separate
classes: the node being unreachable, refusing credentials, or shedding load (HTTP 503).
"""

from __future__ import annotations

from btc.rpc_codes import (
    RPC_DESERIALIZATION_ERROR,
    RPC_IN_WARMUP,
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    RPC_INVALID_REQUEST,
    RPC_METHOD_NOT_FOUND,
    RPC_MISC_ERROR,
    RPC_PARSE_ERROR,
    RPC_TYPE_ERROR,
    RPC_VERIFY_ERROR,
)
from indexer.errors import IndexerError


class NodeError(IndexerError):
    """Root of the node clients' errors."""


class NodeConnectionError(NodeError):
    """The node could not be reached (refused, reset, timed out)."""


class NodeAuthError(NodeError):
    """HTTP 401: credentials refused (after re-reading the cookie file once)."""


class NodeForbiddenError(NodeError):
    """HTTP 403: the RPC user may not call this method (``-rpcwhitelist``)."""


class WorkQueueFullError(NodeError):
    """HTTP 503 from the RPC server: Core's "Work queue depth exceeded"; retry with backoff."""


class NodeProtocolError(NodeError):
    """A reply that is not what the protocol promises (non-JSON body, unexpected status,
    missing fields, mismatched batch ids)."""


class RPCError(NodeError):
    """A JSON-RPC error object returned by the node."""

    code: int = 0

    def __init__(self, code: int, message: str, *, method: str = "") -> None:
        where = f" in {method}" if method else ""
        super().__init__(f"RPC error {code}{where}: {message}")
        self.code = code
        self.message = message
        self.method = method


class RPCWarmupError(RPCError):
    """-28: the node is still starting (loading the block index, verifying blocks...)."""


class RPCInvalidAddressOrKeyError(RPCError):
    """-5: unknown block/transaction (``Block not found``, ``No such mempool or blockchain
    transaction``)."""


class RPCInvalidParameterError(RPCError):
    """-8: a parameter out of range or malformed (``Block height out of range``)."""


class RPCMethodNotFoundError(RPCError):
    """-32601: the method does not exist on this node."""


class RPCParseError(RPCError):
    """-32700: the node could not parse the request."""


class RPCInvalidRequestError(RPCError):
    """-32600: the request object is malformed."""


class RPCTypeError(RPCError):
    """-3: a parameter has the wrong JSON type."""


class RPCDeserializationError(RPCError):
    """-22: hex that does not decode (``Block decode failed``)."""


class RPCVerifyError(RPCError):
    """-25: verification failed in a way that is not a plain rejection."""


class RPCMiscError(RPCError):
    """-1: a generic error (wrong number of parameters, internal failure)."""


_BY_CODE: dict[int, type[RPCError]] = {
    RPC_IN_WARMUP: RPCWarmupError,
    RPC_INVALID_ADDRESS_OR_KEY: RPCInvalidAddressOrKeyError,
    RPC_INVALID_PARAMETER: RPCInvalidParameterError,
    RPC_METHOD_NOT_FOUND: RPCMethodNotFoundError,
    RPC_PARSE_ERROR: RPCParseError,
    RPC_INVALID_REQUEST: RPCInvalidRequestError,
    RPC_TYPE_ERROR: RPCTypeError,
    RPC_DESERIALIZATION_ERROR: RPCDeserializationError,
    RPC_VERIFY_ERROR: RPCVerifyError,
    RPC_MISC_ERROR: RPCMiscError,
}


def rpc_error(code: int, message: str, *, method: str = "") -> RPCError:
    """The most precise :class:`RPCError` subclass for ``code``."""
    return _BY_CODE.get(code, RPCError)(code, message, method=method)


class RESTError(NodeError):
    """A REST request answered with an error status; ``body`` is Core's plain-text reason."""

    def __init__(self, status: int, body: str, *, path: str) -> None:
        super().__init__(f"REST {path}: HTTP {status}: {body.strip()}")
        self.status = status
        self.body = body
        self.path = path


class RESTNotFoundError(RESTError):
    """404: unknown block/hash, height out of range, or REST disabled / unknown endpoint."""


class RESTBadRequestError(RESTError):
    """400: malformed hash, height or count."""


class RESTUnavailableError(RESTError):
    """503: the node is warming up ("Service temporarily unavailable: ...")."""


class ZMQDecodeError(NodeError):
    """A ZMQ message that does not follow Core's framing ``[topic][body][uint32 LE seq]`` or a
    ``sequence`` body that is not ``hash ‖ label [‖ u64]``."""
