import { parseFlags } from '../../bench/flags';

describe('npm run bench’s flags', () => {
  it('default to the system as npm start runs it', () => {
    const flags = parseFlags([]);
    expect(flags).toMatchObject({ temporal: 'file', appRuntime: 'compiled', emptyActivities: 'remote', orders: 1000 });
    expect(flags).toMatchObject({ emptySearchAttributes: false, keyless: false });
  });

  it("give floor 2 the service's search attributes, and send creates without keys, on request", () => {
    expect(parseFlags(['--empty-search-attributes', '--keyless'])).toMatchObject({
      emptySearchAttributes: true,
      keyless: true,
    });
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
