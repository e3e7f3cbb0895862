// Bench (bench/client_latency.py runs it): with two @userdb/client clients of one user,
// the time from just before a write on one to the other's `subscribe` callback holding
// it. Writes one at a time, `quietMs` apart (each meets a quiet stream, as the raw
// protocol's row does). Prints {"latencies_ms": [...]} as one JSON line.
//     node bench/write_to_subscriber.mjs '{"apiUrl", "wsUrl", "email", "password", "writes", "quietMs"}'
import WebSocket from "ws";

import { createClient, memoryStorage, newDocId } from "../src/index.js";

const { apiUrl, wsUrl, email, password, writes, quietMs } = JSON.parse(process.argv[2]);
const WAIT_MS = 30_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function signedIn() {
  const client = createClient({ url: apiUrl, wsUrl, WebSocket, storage: memoryStorage(), collections: ["notes"] });
  await client.auth.logIn({ email, password });
  const deadline = Date.now() + WAIT_MS;
  while (client.state.state !== "live") {
    if (Date.now() > deadline) throw new Error(`not live: ${JSON.stringify(client.state)}`);
    await sleep(10);
  }
  return client;
}

const writer = await signedIn();
const reader = await signedIn();
let arrived = null; // {id, resolve}
reader.collection("notes").subscribe((docs) => {
  if (arrived && docs.some((doc) => doc.id === arrived.id)) arrived.resolve(performance.now());
});

async function once(text) {
  const id = newDocId();
  const seen = new Promise((resolve, reject) => {
    arrived = { id, resolve };
    setTimeout(() => reject(new Error(`${id} never arrived`)), WAIT_MS);
  });
  const started = performance.now();
  const written = writer.collection("notes").create({ text }, { id });
  const at = await seen;
  await written;
  return at - started;
}

await once("warm-up"); // the first write pays for connections and caches
const latencies = [];
for (let n = 0; n < writes; n += 1) {
  await sleep(quietMs);
  latencies.push(await once(`latency ${n}`));
}
await Promise.all([writer.close(), reader.close()]);
process.stdout.write(`${JSON.stringify({ latencies_ms: latencies })}\n`);
