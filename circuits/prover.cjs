// A warm Groth16 prover (zk/prover.py drives it): proves one JSON request {seed, input} per
// stdin line with snarkjs, answers one JSON line {proof, public} or {error} per request, in
// order. The Groth16 randomisers come from the request's seed (circuits/seeded.cjs).
//   node circuits/prover.cjs <circuit.wasm> <final.zkey>
"use strict";
const readline = require("node:readline");
const { reseed, seededCurve } = require("./seeded.cjs");
const snarkjs = require("snarkjs");

const [wasm, zkey] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin, terminal: false });
let queue = seededCurve();
lines.on("line", (line) => {
  queue = queue.then(async () => {
    let answer;
    try {
      const request = JSON.parse(line);
      reseed(request.seed);
      const { proof, publicSignals } = await snarkjs.groth16.fullProve(request.input, wasm, zkey);
      answer = { proof, public: publicSignals };
    } catch (err) {
      answer = { error: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  });
});
lines.on("close", () => queue.then(() => process.exit(0)));
