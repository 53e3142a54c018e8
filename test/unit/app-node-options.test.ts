import { execFileSync } from 'node:child_process';
import { APP_NODE_OPTIONS, withAppNodeOptions } from '../../dev/infra/app-process';

describe('the V8 options the service’s processes run with', () => {
  it('are given to a process with no NODE_OPTIONS of its own', () => {
    expect(withAppNodeOptions({ PATH: '/bin' })).toEqual({ PATH: '/bin', NODE_OPTIONS: APP_NODE_OPTIONS });
  });

  it('come before options already set, which therefore still win', () => {
    const env = withAppNodeOptions({ NODE_OPTIONS: ' --max-semi-space-size=16 --enable-source-maps ' });
    expect(env.NODE_OPTIONS).toBe(`${APP_NODE_OPTIONS} --max-semi-space-size=16 --enable-source-maps`);
  });

  it('are accepted by node in NODE_OPTIONS (not every V8 flag is)', () => {
    const output = execFileSync(process.execPath, ['-e', 'process.stdout.write("started")'], {
      env: withAppNodeOptions({ PATH: process.env.PATH }),
    });
    expect(output.toString()).toBe('started');
  });
});
