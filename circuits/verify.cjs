// snarkjs's own Groth16 verifier over many proofs in one process: reads the verification key
// (snarkjs's verification_key.json) from the file given, then one JSON line per proof
// {public, proof} (public.json, proof.json) on stdin, and answers "true" or "false" per line,
// in order. What the warehouse's proofs table exports, re-checked by a tool people trust:
//   node circuits/verify.cjs verification_key.json < proofs.jsonl
"use strict";
const fs = require("node:fs");
const readline = require("node:readline");
const snarkjs = require("snarkjs");

const vk = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const lines = readline.createInterface({ input: process.stdin, terminal: false });
let queue = Promise.resolve();
lines.on("line", (line) => {
  queue = queue.then(async () => {
    let ok = false;
    try {
      const { public: pub, proof } = JSON.parse(line);
      ok = await snarkjs.groth16.verify(vk, pub, proof, { info() {}, debug() {}, error() {} });
    } catch (err) {
      ok = false;
    }
    process.stdout.write(String(ok === true) + "\n");
  });
});
lines.on("close", () => queue.then(() => process.exit(0)));
