/**
 * The SMTP sink as a process of its own (docker compose service `smtp`):
 * SMTP on SMTP_SINK_PORT (2525), JSON API on SMTP_SINK_API_PORT (2526), bound to SMTP_SINK_HOST
 * (0.0.0.0 in a container, 127.0.0.1 by default); messages also go to SMTP_SINK_MAIL_DIR when set.
 */
import { startSmtpSink } from "./smtp-sink";

async function main() {
  const sink = await startSmtpSink({
    host: process.env.SMTP_SINK_HOST || "127.0.0.1",
    smtpPort: Number(process.env.SMTP_SINK_PORT || 2525),
    apiPort: Number(process.env.SMTP_SINK_API_PORT || 2526),
    mailDir: process.env.SMTP_SINK_MAIL_DIR || undefined,
    log: (m) => console.log(`[smtp-sink] ${m}`),
  });
  const stop = async () => {
    await sink.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
