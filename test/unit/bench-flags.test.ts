import { alternationOrder } from '../../bench/stats';
import { parseFlags } from '../../bench/flags';

describe('npm run bench’s flags', () => {
  it('default to the system as npm start runs it', () => {
    const flags = parseFlags([]);
    expect(flags).toMatchObject({ temporal: 'file', appRuntime: 'compiled', emptyActivities: 'remote', orders: 1000 });
    expect(flags).toMatchObject({ keyless: false });
    // Both empty-workflow floors, the plain one and the one with the service's search attributes.
    expect(flags.only).toEqual(['service', 'seed', 'empty', 'empty-sa', 'memory']);
  });

  it("run floor 2 with the service's search attributes as a system of its own, and creates without keys, on request", () => {
    expect(parseFlags(['--only', 'service,empty,empty-sa', '--keyless'])).toMatchObject({
      only: ['service', 'empty', 'empty-sa'],
      keyless: true,
    });
    expect(() => parseFlags(['--empty-search-attributes'])).toThrow('Unknown option --empty-search-attributes');
    expect(() => parseFlags(['--only', 'service,floor'])).toThrow(
      '--only takes service, seed, empty, empty-sa, memory; not floor',
    );
  });

  it('take a choice as the next argument or after an equals sign', () => {
    const flags = parseFlags(['--temporal', 'memory', '--runtime=tsx', '--empty-activities', 'local']);
    expect(flags).toMatchObject({ temporal: 'memory', appRuntime: 'tsx', emptyActivities: 'local' });
  });

  it('refuse a choice they do not know, naming the ones they do', () => {
    expect(() => parseFlags(['--runtime', 'bun'])).toThrow('--runtime must be one of compiled, tsx, not bun');
    expect(() => parseFlags(['--temporal=disk'])).toThrow('--temporal must be one of file, memory, cluster, not disk');
  });

  it('let explicit numbers win over --quick', () => {
    expect(parseFlags(['--quick', '--orders', '300'])).toMatchObject({
      orders: 300,
      serialOrders: 50,
      memoryOrders: 0,
    });
  });
});

describe('the order of the systems in each alternation', () => {
  it('changes, so that no system always runs right after the same one', () => {
    const systems = ['service', 'empty', 'empty-sa'];
    expect([1, 2, 3, 4, 5, 6].map((alternation) => alternationOrder(systems, alternation))).toEqual([
      ['service', 'empty', 'empty-sa'],
      ['empty-sa', 'empty', 'service'],
      ['empty', 'empty-sa', 'service'],
      ['service', 'empty-sa', 'empty'],
      ['empty-sa', 'service', 'empty'],
      ['empty', 'service', 'empty-sa'],
    ]);
    expect(alternationOrder([], 3)).toEqual([]);
  });
});
