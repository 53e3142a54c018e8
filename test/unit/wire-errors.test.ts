import { databaseOutageAs503 } from '../../src/gateway/service';
import { toCallerError } from '../../src/gateway/wire-errors';
import { RpcError } from '../../src/rpc-error';

const messages = { whenSlow: 'too slow', whenClosed: new RpcError(404, 'closed') };

describe('a 503 made for the caller', () => {
  // What Temporal's client might throw when its server's own database went away.
  const temporalDown = new Error('14 UNAVAILABLE: Connection terminated unexpectedly');

  it("keeps what went wrong as its cause, for the log, and never in the caller's answer", () => {
    const answer = toCallerError(temporalDown, messages);
    expect(answer).toMatchObject({ status: 503, message: 'The order service is temporarily unavailable' });
    expect(answer.cause).toBe(temporalDown);
    expect(answer.toBody()).toEqual({ status: 503, message: 'The order service is temporarily unavailable' });
    expect(JSON.stringify(answer)).not.toContain('Connection terminated');
  });

  it("is not taken for the orders database's outage because of its cause", async () => {
    const answer = toCallerError(temporalDown, messages);
    await expect(databaseOutageAs503(() => Promise.reject(answer))({})).rejects.toBe(answer);
  });

  it("is the orders database's 503 when the database itself went away, with its error as the cause", async () => {
    const down = new Error('Connection terminated unexpectedly');
    const refused = databaseOutageAs503(() => Promise.reject(down))({});
    await expect(refused).rejects.toMatchObject({
      status: 503,
      message: 'The orders database is unavailable right now; retry shortly (with the same idempotencyKey)',
      cause: down,
    });
  });
});
