import { TEMPORAL_CLI_NAME } from '../../src/tools/temporal-cli';
import { goPackage, versionOf } from '../versions';
import { ensureGoBinary, type GoBinary } from './go-install';

export type BinaryName =
  | 'temporal'
  | 'stripe-mock'
  | 'nats-server'
  | 'temporal-server'
  | 'temporal-sql-tool'
  | 'temporal-ui-server'
  | 'kustomize'
  | 'kubeconform';

/**
 * What `go install` builds when a binary at the pinned version is nowhere to be found. Every version
 * comes from versions.json, so two machines (or CI a month apart) build the same binaries, the same
 * versions as docker-compose.yml's images; raise them there, deliberately (docs/upgrades.md).
 */
export const BINARIES: Record<BinaryName, GoBinary> = {
  // `npm run tctl` runs it too, finding it where this builds it (src/tools/temporal-cli.ts).
  temporal: {
    name: TEMPORAL_CLI_NAME,
    // Later tags carry a `replace` directive, which `go install pkg@version` refuses.
    goPackage: goPackage('github.com/temporalio/cli/cmd/temporal', 'temporal-cli'),
    slowBuild: true,
  },
  'stripe-mock': { name: 'stripe-mock', goPackage: goPackage('github.com/stripe/stripe-mock', 'stripe-mock') },
  // Debian's package (/usr/sbin) is used only when it is the pinned version, or Go is missing.
  'nats-server': {
    name: 'nats-server',
    goPackage: goPackage('github.com/nats-io/nats-server/v2', 'nats-server'),
    extraDirs: ['/usr/sbin', '/usr/local/sbin'],
  },
  // The cluster profile (TEMPORAL_LOCAL_SERVER=cluster): the real server, its schema tool and the Web
  // UI. Their modules ask for a newer Go than Debian's machines have: the table's toolchain builds them.
  'temporal-server': {
    name: 'temporal-server',
    goPackage: goPackage('go.temporal.io/server/cmd/server', 'temporal-server'),
    builtAs: 'server',
    slowBuild: true,
    goToolchain: versionOf('go-toolchain'),
  },
  'temporal-sql-tool': {
    name: 'temporal-sql-tool',
    goPackage: goPackage('go.temporal.io/server/cmd/tools/sql', 'temporal-server'),
    builtAs: 'sql',
    goToolchain: versionOf('go-toolchain'),
  },
  'temporal-ui-server': {
    name: 'temporal-ui-server',
    goPackage: goPackage('github.com/temporalio/ui-server/v2/cmd/server', 'temporal-ui'),
    builtAs: 'server',
    slowBuild: true,
    goToolchain: versionOf('go-toolchain'),
  },
  // test/k8s-manifests.test.ts renders deploy/k8s and validates the output. kustomize 5.8.1 (its api
  // module v0.21.1) builds with Go 1.24; 5.8.2 asks for Go 1.26 and 5.8.3 for Go 1.27.
  kustomize: { name: 'kustomize', goPackage: goPackage('sigs.k8s.io/kustomize/kustomize/v5', 'kustomize') },
  kubeconform: {
    name: 'kubeconform',
    goPackage: goPackage('github.com/yannh/kubeconform/cmd/kubeconform', 'kubeconform'),
  },
};

/** An absolute path to the binary: on the PATH, in the cache folder, or built there once. */
export function ensureBinary(name: BinaryName, log: (line: string) => void): Promise<string> {
  return ensureGoBinary(BINARIES[name], log);
}
