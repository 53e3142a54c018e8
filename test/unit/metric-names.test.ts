import { registry } from '../../src/observability/metrics';
// Registers its own counter in the process registry.
import '../../src/gateway/payment-window-sweeper';

/** What the service itself measures, beside Node's default process and runtime metrics. */
const defaultMetric = (name: string): boolean => name.startsWith('process_') || name.startsWith('nodejs_');

describe('metric names', () => {
  it('puts every metric of the service under the orders_ prefix, leaving Node’s defaults as they are', async () => {
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    const own = names.filter((name) => !defaultMetric(name));
    expect(own.length).toBeGreaterThanOrEqual(9);
    expect(own.filter((name) => !name.startsWith('orders_'))).toEqual([]);
    expect(names.filter(defaultMetric).length).toBeGreaterThan(0);
  });
});
