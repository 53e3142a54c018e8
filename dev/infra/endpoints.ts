/** Host and port of the services named in the configuration, to probe them and start what is missing. */
export interface Endpoint {
  host: string;
  port: number;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0']);

/** True when the project may start the service itself (it cannot start one on another machine). */
export function isLocal(endpoint: Endpoint): boolean {
  return LOCAL_HOSTS.has(endpoint.host);
}

/** `host:port`, as in TEMPORAL_ADDRESS. */
export function hostPortEndpoint(address: string, defaultPort: number): Endpoint {
  const { hostname, port } = new URL(`tcp://${address}`);
  return { host: unbracket(hostname), port: port ? Number(port) : defaultPort };
}

/** A URL such as nats://h:4222, postgres://u@h:5432/db or http://h:12111; the first of a list. */
export function urlEndpoint(url: string, defaultPort: number): Endpoint {
  const first = url.split(',')[0]?.trim() ?? url;
  const parsed = new URL(first.includes('://') ? first : `tcp://${first}`);
  return { host: unbracket(parsed.hostname), port: parsed.port ? Number(parsed.port) : defaultPort };
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
