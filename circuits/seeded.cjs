// Seeded randomness for the devnet's ceremony and proofs (zk/setup.py, zk/prover.py), so the
// same seed gives the same zkey or proof (like a deterministic signature nonce).
// - reseed(hex): Node's crypto.randomFillSync, where snarkjs draws a contribution's entropy,
//   returns a SHA-256 counter stream of the 32-byte seed;
// - seededCurve(): BN254's scalar field draws Fr.random() (a proof's r and s) from that stream
//   (ffjavascript keeps one curve per process, the one snarkjs uses).
// Hash-to-curve (its own ChaCha) is left alone: a verifier recomputes it.
"use strict";
const crypto = require("node:crypto");

let seed = null;
let counter = 0;
let pool = Buffer.alloc(0);

function reseed(hex) {
  seed = Buffer.from(hex, "hex");
  if (seed.length !== 32) throw new Error("a seed is 32 bytes of hex");
  counter = 0;
  pool = Buffer.alloc(0);
}

function draw(n) {
  if (seed === null) throw new Error("seeded.cjs: reseed() before drawing randomness");
  while (pool.length < n) {
    const block = Buffer.alloc(4);
    block.writeUInt32BE(counter++);
    pool = Buffer.concat([pool, crypto.createHash("sha256").update(seed).update(block).digest()]);
  }
  const out = pool.subarray(0, n);
  pool = pool.subarray(n);
  return out;
}

crypto.randomFillSync = function randomFillSync(array) {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  bytes.set(draw(bytes.length));
  return array;
};

async function seededCurve() {
  const { buildBn128 } = require("ffjavascript");
  const curve = await buildBn128();
  const Fr = curve.Fr;
  // 64 bytes reduced mod r: negligible bias.
  Fr.random = () => Fr.e(BigInt("0x" + draw(64).toString("hex")));
  return curve;
}

module.exports = { reseed, seededCurve };
