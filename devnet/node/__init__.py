"""The dev node: Core-shaped JSON-RPC (:mod:`.server`, :mod:`.methods`), REST (:mod:`.rest`) and
ZMQ (:mod:`.zmqpub`) over a devnet chain, with Core's JSON renderings (:mod:`.render`)."""
