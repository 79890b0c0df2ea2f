"""Regtest transaction building: keys and BIP340 signing, taproot (BIP341/342), ord envelopes,
coinbases and fees, and a wallet that tracks its own coins."""
