// A warm Groth16 prover (devnet/proofs.py drives it): proves one JSON input per stdin line
// with snarkjs, answers one JSON line {proof, public} or {error} per input, in order.
//   node circuits/prover.cjs <circuit.wasm> <final.zkey>
"use strict";
const readline = require("node:readline");
const snarkjs = require("snarkjs");

const [wasm, zkey] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin, terminal: false });
let queue = Promise.resolve();
lines.on("line", (line) => {
  queue = queue.then(async () => {
    let answer;
    try {
      const { proof, publicSignals } = await snarkjs.groth16.fullProve(JSON.parse(line), wasm, zkey);
      answer = { proof, public: publicSignals };
    } catch (err) {
      answer = { error: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  });
});
lines.on("close", () => queue.then(() => process.exit(0)));
