"""Clients for a Bitcoin Core node (or the devnet's dev node): JSON-RPC, REST and ZMQ.

The follower uses exactly these, against bitcoind and the devnet alike.
"""

from indexer.node.errors import (
    NodeAuthError,
    NodeConnectionError,
    NodeError,
    NodeProtocolError,
    RESTBadRequestError,
    RESTError,
    RESTNotFoundError,
    RESTUnavailableError,
    RPCError,
    RPCInvalidAddressOrKeyError,
    RPCInvalidParameterError,
    RPCMethodNotFoundError,
    RPCWarmupError,
    WorkQueueFullError,
    ZMQDecodeError,
)
from indexer.node.rest import RESTClient
from indexer.node.rpc import RPCClient, RPCReply, cookie_path
from indexer.node.zmq import (
    SequenceEvent,
    SequenceTracker,
    ZMQMessage,
    ZMQSubscriber,
    decode_frames,
    decode_sequence,
)

__all__ = [
    "NodeAuthError",
    "NodeConnectionError",
    "NodeError",
    "NodeProtocolError",
    "RESTBadRequestError",
    "RESTClient",
    "RESTError",
    "RESTNotFoundError",
    "RESTUnavailableError",
    "RPCClient",
    "RPCError",
    "RPCInvalidAddressOrKeyError",
    "RPCInvalidParameterError",
    "RPCMethodNotFoundError",
    "RPCReply",
    "RPCWarmupError",
    "SequenceEvent",
    "SequenceTracker",
    "WorkQueueFullError",
    "ZMQDecodeError",
    "ZMQMessage",
    "ZMQSubscriber",
    "cookie_path",
    "decode_frames",
    "decode_sequence",
]
