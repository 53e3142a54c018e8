import { TEMPORAL_CLI_NAME } from '../../src/tools/temporal-cli';
import { ensureGoBinary, type GoBinary } from './go-install';

export type BinaryName =
  'temporal' | 'stripe-mock' | 'nats-server' | 'temporal-server' | 'temporal-sql-tool' | 'temporal-ui-server';

/**
 * What `go install` builds when a binary is nowhere to be found. Every version is pinned, so two
 * machines (or CI a month apart) build the same binaries; raise them deliberately.
 */
export const BINARIES: Record<BinaryName, GoBinary> = {
  // `npm run tctl` runs it too, finding it where this builds it (src/tools/temporal-cli.ts).
  temporal: {
    name: TEMPORAL_CLI_NAME,
    // Later tags carry a `replace` directive, which `go install pkg@version` refuses.
    goPackage: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
    slowBuild: true,
  },
  // Same version as the stripe/stripe-mock image in docker-compose.yml.
  'stripe-mock': { name: 'stripe-mock', goPackage: 'github.com/stripe/stripe-mock@v0.203.0' },
  'nats-server': {
    name: 'nats-server',
    goPackage: 'github.com/nats-io/nats-server/v2@v2.15.2',
    extraDirs: ['/usr/sbin', '/usr/local/sbin'],
  },
  // The cluster profile (TEMPORAL_LOCAL_SERVER=cluster): the real server, its schema tool and the Web UI.
  // Same versions as the temporalio/server, admin-tools and ui images in docker-compose.yml.
  'temporal-server': {
    name: 'temporal-server',
    goPackage: 'go.temporal.io/server/cmd/server@v1.29.1',
    builtAs: 'server',
    slowBuild: true,
  },
  'temporal-sql-tool': {
    name: 'temporal-sql-tool',
    goPackage: 'go.temporal.io/server/cmd/tools/sql@v1.29.1',
    builtAs: 'sql',
  },
  'temporal-ui-server': {
    name: 'temporal-ui-server',
    goPackage: 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1',
    builtAs: 'server',
    slowBuild: true,
  },
};

/** An absolute path to the binary: on the PATH, in the cache folder, or built there once. */
export function ensureBinary(name: BinaryName, log: (line: string) => void): Promise<string> {
  return ensureGoBinary(BINARIES[name], log);
}
