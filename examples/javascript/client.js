// The client: calls the Counter actor through an actor proxy and the sidecar's HTTP API
// on DAPR_HTTP_PORT. That sidecar need not host the actor; it forwards the call to the
// one that does. It makes the call on its command line, or else one call per line of
// its input, and prints each result as a line of JSON:
//
//   node client.js ID greet NAME
//   node client.js ID increment
//   node client.js ID startTicking DUE_SECONDS PERIOD_SECONDS
//   node client.js ID stopTicking
//   node client.js ID fired
//   printf 'increment\nfired\n' | node client.js ID
const readline = require("node:readline");
const { ActorId, ActorProxyBuilder, DaprClient, LogLevel } = require("@dapr/dapr");
const { Counter } = require("./counter");

async function main() {
  const [id, ...call] = process.argv.slice(2);
  if (!id) {
    throw new Error("usage: node client.js ID [METHOD [ARG...]]");
  }

  const client = new DaprClient({
    daprHost: "127.0.0.1",
    daprPort: process.env.DAPR_HTTP_PORT ?? "3500",
    logger: { level: LogLevel.Error },
  });
  const counter = new ActorProxyBuilder(Counter, client).build(new ActorId(id));

  if (call.length > 0) {
    console.log(JSON.stringify(await invoke(counter, call)));
  } else {
    for await (const line of readline.createInterface({ input: process.stdin })) {
      console.log(JSON.stringify(await invoke(counter, line.trim().split(/\s+/)).catch(
        (err) => ({ error: err.message ?? String(err) }))));
    }
  }
  await client.stop();
}

// invoke calls the actor method named first in call with the rest as its arguments;
// arguments made of digits are passed as numbers.
async function invoke(counter, [method, ...args]) {
  return counter[method](...args.map((a) => (/^\d+$/.test(a) ? Number(a) : a)));
}

main().catch((err) => {
  console.error(err.message ?? err);
  process.exit(1);
});
