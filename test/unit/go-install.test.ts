import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureGoBinary, type GoBinary } from '../../dev/infra/go-install';

/**
 * ensureGoBinary against a stand-in `go` on the PATH: `go version -m FILE` prints the build info kept
 * in FILE.info, and `go install PKG@VERSION` writes a tool with that build info into GOBIN, noting
 * the install and its GOTOOLCHAIN. What is checked is which binary is used and when one is built.
 */
const FAKE_GO = `#!/bin/sh
set -eu
if [ "$1" = version ]; then
  [ -f "$3.info" ] && cat "$3.info"
  exit 0
fi
if [ "$1" = install ]; then
  pkg="\${2%@*}"; version="\${2##*@}"
  echo "install $2 GOTOOLCHAIN=\${GOTOOLCHAIN:-unset}" >> "$FAKE_GO_LOG"
  printf '#!/bin/sh\\necho built\\n' > "$GOBIN/tool"
  chmod +x "$GOBIN/tool"
  printf '%s: go1.26.8\\n\\tpath\\t%s\\n\\tmod\\t%s\\t%s\\th1:x=\\n' "$GOBIN/tool" "$pkg" "$pkg" "$version" > "$GOBIN/tool.info"
  exit 0
fi
exit 2
`;

describe('ensureGoBinary', () => {
  let dir: string;
  let pathDir: string;
  let log: string;
  const saved = { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  const binary: GoBinary = { name: 'tool', goPackage: 'example.com/tool/v2@v2.1.0', goToolchain: 'go1.27.3' };
  const installs = (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean);

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'orders-go-install-'));
    pathDir = path.join(dir, 'path');
    mkdirSync(pathDir);
    log = path.join(dir, 'installs.log');
    writeFileSync(log, '');
    writeFileSync(path.join(pathDir, 'go'), FAKE_GO);
    chmodSync(path.join(pathDir, 'go'), 0o755);
    // The stand-in first; the shell's own tools after it.
    process.env.PATH = `${pathDir}:/usr/bin:/bin`;
    process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
    process.env.FAKE_GO_LOG = log;
  });

  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.XDG_CACHE_HOME === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
    delete process.env.FAKE_GO_LOG;
    rmSync(dir, { recursive: true, force: true });
  });

  function onPath(version: string | undefined): string {
    const file = path.join(pathDir, 'tool');
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, 0o755);
    const mod = version ? `\tmod\texample.com/tool/v2\t${version}\n` : '';
    writeFileSync(`${file}.info`, `${file}: go1.19\n\tpath\texample.com/tool/v2\n${mod}`);
    return file;
  }

  it('uses a binary on the PATH that is the pinned version', async () => {
    const file = onPath('v2.1.0');
    await expect(ensureGoBinary(binary, () => undefined)).resolves.toBe(file);
    expect(installs()).toEqual([]);
  });

  it('passes over one of another version, builds the pinned one once with its toolchain, then reuses it', async () => {
    const stale = onPath('v2.0.9');
    const lines: string[] = [];
    const built = await ensureGoBinary(binary, (line) => lines.push(line));
    expect(built).toBe(path.join(dir, 'cache', 'orders-service', 'bin', 'tool'));
    expect(lines[0]).toBe(`tool at ${stale} is example.com/tool/v2@v2.0.9, not example.com/tool/v2@v2.1.0`);
    expect(installs()).toEqual(['install example.com/tool/v2@v2.1.0 GOTOOLCHAIN=go1.27.3']);
    await expect(ensureGoBinary(binary, () => undefined)).resolves.toBe(built);
    expect(installs()).toHaveLength(1);
  });

  it('rebuilds a cached binary when the table raises its version', async () => {
    const first = await ensureGoBinary(binary, () => undefined);
    const raised = { ...binary, goPackage: 'example.com/tool/v2@v2.2.0' };
    await expect(ensureGoBinary(raised, () => undefined)).resolves.toBe(first);
    expect(installs()).toEqual([
      'install example.com/tool/v2@v2.1.0 GOTOOLCHAIN=go1.27.3',
      'install example.com/tool/v2@v2.2.0 GOTOOLCHAIN=go1.27.3',
    ]);
  });
});
