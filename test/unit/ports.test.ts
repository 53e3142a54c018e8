import net from 'node:net';
import { freePorts, listeningPortRange } from '../../dev/infra/ports';
import { devServerArgs } from '../../dev/infra/temporal-dev-server';

// Services started by the tests listen on ports below the kernel's ephemeral range: a port from
// that range can be taken by an outgoing connection between the pick and the bind, which once
// failed a Temporal restart with "address already in use".

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });

describe('free ports', () => {
  it('reads the range below the ephemeral ports from the kernel setting', () => {
    expect(listeningPortRange('32768\t60999\n')).toEqual({ from: 10_000, to: 32_767 });
    expect(listeningPortRange('40000 65000')).toEqual({ from: 10_000, to: 39_999 });
    expect(listeningPortRange(undefined)).toEqual({ from: 10_000, to: 32_767 });
    expect(listeningPortRange('1024 65535')).toEqual({ from: 10_000, to: 32_767 });
  });

  it('hands out distinct ports below the ephemeral range that can be bound', async () => {
    const { to } = listeningPortRange();
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThanOrEqual(to);
      expect(await bindable(port)).toBe(true);
    }
  });

  it('skips a port that is taken', async () => {
    const [taken] = (await freePorts(1)) as [number];
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen({ port: taken, host: '127.0.0.1' }, resolve));
    try {
      const ports = await freePorts(200);
      expect(ports).not.toContain(taken);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('the Temporal dev server command line', () => {
  it('names the HTTP API and metrics ports instead of letting the CLI pick them', () => {
    const args = devServerArgs('127.0.0.1', 17233, { httpPort: 17243, metricsPort: 17253 });
    expect(args.slice(0, 6)).toEqual(['server', 'start-dev', '--ip', '127.0.0.1', '--port', '17233']);
    expect(args[args.indexOf('--http-port') + 1]).toBe('17243');
    expect(args[args.indexOf('--metrics-port') + 1]).toBe('17253');
  });
});
