import { ensureBinary, type BinaryName } from '../infra/binaries';

/**
 * `npx tsx dev/scripts/tools.ts [name...]`: makes sure the Go tools exist (building them once into
 * the cache folder when missing) and prints their paths on stdout, one a line; progress goes to stderr.
 */
const DEFAULT: BinaryName[] = ['temporal', 'stripe-mock', 'nats-server'];
/** The cluster profile's tools, built only when named. */
const CLUSTER: BinaryName[] = ['temporal-server', 'temporal-sql-tool', 'temporal-ui-server'];
/** What test/k8s-manifests.test.ts renders and validates deploy/k8s with, built only when named. */
const KUBERNETES: BinaryName[] = ['kustomize', 'kubeconform'];
const ALL = [...DEFAULT, ...CLUSTER, ...KUBERNETES];

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !ALL.includes(name as BinaryName));
  if (unknown.length > 0) throw new Error(`unknown tool(s): ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
  const names = requested.length > 0 ? (requested as BinaryName[]) : DEFAULT;
  for (const name of names) {
    const found = await ensureBinary(name, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(`${found}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
