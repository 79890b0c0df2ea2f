"""What the indexer derives from an inscription beyond ord's fields (which :mod:`btc.ord`
decodes): bodies decompressed under per-body and per-block budgets (``content``, ``budget``),
metadata CBOR as JSON, and recursive references found in text bodies (``recursion``)."""
