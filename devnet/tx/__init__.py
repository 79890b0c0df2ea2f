"""Regtest transaction building: keys and BIP340 signing, taproot (BIP341/342),
coinbases and fees, and a wallet that tracks its own coins."""
