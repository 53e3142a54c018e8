import type { GoBinary } from './go-binary';

/**
 * The Temporal CLI, which `npm run tctl` runs (and the development tooling in dev/ starts servers
 * with). Pinned, so two machines (or CI a month apart) build the same binary; raise it deliberately.
 */
export const TEMPORAL_CLI: GoBinary = {
  name: 'temporal',
  // Later tags carry a `replace` directive, which `go install pkg@version` refuses.
  goPackage: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
  slowBuild: true,
};
