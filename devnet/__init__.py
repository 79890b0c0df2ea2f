"""The devnet: a regtest chain built in Python, validated by Bitcoin Core's kernel and served
like bitcoind (JSON-RPC, REST, ZMQ). See docs/devnet.md.

Main entry points: :class:`devnet.chain.Chain` (build, mine, fork, read),
:class:`devnet.tx.wallet.Wallet` (deterministic P2TR wallet, commit/reveal inscriptions),
:class:`btc.ord.Envelope` (ord envelopes, shared with the indexer), :class:`devnet.node.server.DevNode`
(the dev node) and ``python -m devnet`` (:mod:`devnet.cli`).
"""
