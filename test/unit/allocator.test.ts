import { execFileSync } from 'node:child_process';
import { findJemalloc, JEMALLOC_PATHS, withJemalloc } from '../../dev/infra/allocator';
import { appProcessEnv } from '../../dev/infra/app-process';

describe('jemalloc as the C allocator of the service’s processes', () => {
  it('is found at the first place it is installed', () => {
    const installed = new Set<string>([JEMALLOC_PATHS[2], JEMALLOC_PATHS[3]]);
    expect(findJemalloc((file) => installed.has(file))).toBe(JEMALLOC_PATHS[2]);
    expect(findJemalloc(() => false)).toBeUndefined();
  });

  it('is preloaded when installed, and the environment is left alone when it is not', () => {
    expect(withJemalloc({ PATH: '/bin' }, '/lib/libjemalloc.so.2')).toEqual({
      PATH: '/bin',
      LD_PRELOAD: '/lib/libjemalloc.so.2',
    });
    expect(withJemalloc({ PATH: '/bin' }, undefined)).toEqual({ PATH: '/bin' });
  });

  it('gives way to an LD_PRELOAD of the operator’s, even an empty one', () => {
    expect(withJemalloc({ LD_PRELOAD: '/opt/libtcmalloc.so' }, '/lib/libjemalloc.so.2').LD_PRELOAD).toBe(
      '/opt/libtcmalloc.so',
    );
    expect(withJemalloc({ LD_PRELOAD: '' }, '/lib/libjemalloc.so.2').LD_PRELOAD).toBe('');
  });

  it('is the allocator a process started as npm start starts them actually runs with', () => {
    const jemalloc = findJemalloc();
    if (jemalloc === undefined) {
      throw new Error(`jemalloc is not installed (none of ${JEMALLOC_PATHS.join(', ')}): apt-get install libjemalloc2`);
    }
    const maps = execFileSync(
      process.execPath,
      ['-e', 'process.stdout.write(require("node:fs").readFileSync("/proc/self/maps", "utf8"))'],
      { env: appProcessEnv({ PATH: process.env.PATH }) },
    ).toString();
    expect(maps).toContain(jemalloc);
  });
});
