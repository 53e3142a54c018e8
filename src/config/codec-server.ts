import { z } from 'zod';
import { list, optional, port, section, text, variable } from './env';

/** The HTTP codec endpoint the Temporal Web UI and CLI decode encrypted payloads with (security/codec-server.ts). */
export const codecServer = section(
  {
    host: variable('TEMPORAL_CODEC_SERVER_HOST', text('127.0.0.1')),
    port: variable('TEMPORAL_CODEC_SERVER_PORT', port.default(8888)),
    /** Origins (e.g. the Web UI's) allowed to call it from a browser. */
    allowedOrigins: variable('TEMPORAL_CODEC_SERVER_ORIGINS', list.default(['http://localhost:8233'])),
    /** The bearer token every encode and decode request must carry; required in production (production-posture.ts). */
    token: variable(
      'TEMPORAL_CODEC_SERVER_TOKEN',
      optional.pipe(z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)').optional()),
    ),
  },
  {
    // Whatever the environment: a codec server others can reach decrypts every payload for them.
    check: ({ host, token }) =>
      token === undefined && !isLoopback(host)
        ? [`TEMPORAL_CODEC_SERVER_TOKEN: required when TEMPORAL_CODEC_SERVER_HOST (${host}) is not a loopback address`]
        : [],
  },
);

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
