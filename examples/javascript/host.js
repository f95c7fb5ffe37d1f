// The actor host: serves the Counter actor to its sidecar on APP_PORT, and reaches the
// sidecar's HTTP API on DAPR_HTTP_PORT. IDLE_TIMEOUT sets the actors' actorIdleTimeout.
const { DaprServer, LogLevel } = require("@dapr/dapr");
const { Counter } = require("./counter");

async function main() {
  const server = new DaprServer({
    serverHost: "127.0.0.1",
    serverPort: process.env.APP_PORT ?? "8080",
    clientOptions: {
      daprHost: "127.0.0.1",
      daprPort: process.env.DAPR_HTTP_PORT ?? "3500",
      logger: { level: LogLevel.Warning },
      actor: { actorIdleTimeout: process.env.IDLE_TIMEOUT ?? "1h" },
    },
    logger: { level: LogLevel.Warning },
  });

  await server.actor.init();
  await server.actor.registerActor(Counter);
  await server.start();
  console.log(`serving actor type Counter on port ${server.serverOptions.serverPort}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
