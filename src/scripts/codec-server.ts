import { loadConfigOrExit } from '../config';
import { createLogger } from '../logger';
import { runMain, stopOnSignals } from '../process-lifecycle';
import { startCodecServer } from '../security/codec-server';
import { EncryptionCodec } from '../security/payload-codec';

/**
 * `npm run codec-server`: decrypts payloads for the Temporal Web UI and CLI when the workflows'
 * payloads are encrypted (TEMPORAL_ENCRYPTION_KEY). Keep it on a private address: whoever reaches
 * it can read the payloads.
 */
function main(): void {
  const config = loadConfigOrExit('codec-server');
  const logger = createLogger('codec-server', config.logLevel);
  runMain(logger, async () => {
    if (config.temporal.encryption === undefined) {
      throw new Error('TEMPORAL_ENCRYPTION_KEY is not set: payloads are not encrypted, there is nothing to decode');
    }
    const server = await startCodecServer({
      codec: new EncryptionCodec(config.temporal.encryption),
      host: config.codecServer.host,
      port: config.codecServer.port,
      allowedOrigins: config.codecServer.allowedOrigins,
      token: config.codecServer.token,
      logger,
    });
    stopOnSignals(logger, config.shutdownTimeoutMs, () => server.close());
    logger.info(
      {
        url: server.url,
        allowedOrigins: config.codecServer.allowedOrigins,
        keyId: config.temporal.encryption.keyId,
        authentication: config.codecServer.token === undefined ? 'none' : 'bearer token',
      },
      'ready',
    );
  });
}

main();
