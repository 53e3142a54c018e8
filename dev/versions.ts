import table from '../versions.json';

/**
 * The one place for every infrastructure version: versions.json at the repository's root, each
 * component once. `npm start`, the cluster profile, the tests and .ci/run build their Go binaries
 * at these versions (dev/infra/binaries.ts); docker-compose.yml names its images with exact tags,
 * and test/docker-compose.test.ts fails when one of them differs from this table.
 */
export type Component = Exclude<keyof typeof table, '$comment'>;

/**
 * A component's version as the table writes it: `1.32.2` (PostgreSQL's `16.15`), without the `v`
 * Go module tags carry.
 */
export function versionOf(component: Component): string {
  const version = table[component];
  if (!/^(go)?\d+\.\d+(\.\d+)?$/.test(version)) {
    throw new Error(`versions.json: ${component} is "${version}", not a version like 1.2.3`);
  }
  return version;
}

/** `module/cmd@vX.Y.Z` for `go install`, the version taken from the table. */
export function goPackage(packagePath: string, component: Component): string {
  return `${packagePath}@v${versionOf(component)}`;
}
