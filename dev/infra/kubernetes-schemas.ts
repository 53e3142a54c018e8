import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { binaryCacheDir, findOnPath } from '../../src/tools/go-binary';
import { versionOf } from '../versions';

/**
 * JSON schemas of Kubernetes' built-in kinds for kubeconform, made without its default download
 * (GitHub, which CI and this machine cannot reach). Kubernetes publishes its OpenAPI document in its
 * Go module (k8s.io/kubernetes, api/openapi-spec/swagger.json): `go mod download` fetches that module
 * at versions.json's `kubernetes` through the Go module proxy, like every Go tool here, and each kind
 * is written as one self-contained schema in the layout kubeconform's `-schema-location` reads:
 * `<root>/v<version>-standalone-strict/<kind>-<group>-<version>.json`. Done once per version, in the
 * tools' cache folder.
 */

const MODULE = 'k8s.io/kubernetes';
const SPEC = 'api/openapi-spec/swagger.json';
const DEFINITION = '#/definitions/';

/** What kubeconform needs to validate offline against these schemas. */
export interface KubernetesSchemas {
  /** For `-schema-location`. */
  root: string;
  /** For `-kubernetes-version`. */
  kubernetesVersion: string;
}

/** The schemas of versions.json's Kubernetes, made first if the cache has none. */
export async function ensureKubernetesSchemas(log: (line: string) => void): Promise<KubernetesSchemas> {
  const kubernetesVersion = versionOf('kubernetes');
  const root = path.join(path.dirname(binaryCacheDir()), 'kubernetes-json-schema');
  const folder = path.join(root, `v${kubernetesVersion}-standalone-strict`);
  if (existsSync(folder)) return { root, kubernetesVersion };

  const go = await findOnPath('go', ['/usr/local/go/bin']);
  if (!go) throw new Error(`Go is needed once to fetch Kubernetes ${kubernetesVersion}'s OpenAPI document (${MODULE})`);
  log(`making Kubernetes ${kubernetesVersion}'s JSON schemas in ${folder} (go mod download ${MODULE})`);
  const moduleDir = await downloadModule(go, `${MODULE}@v${kubernetesVersion}`);
  const spec = JSON.parse(await readFile(path.join(moduleDir, SPEC), 'utf8')) as { definitions: Definitions };
  const schemas = kindSchemas(spec.definitions);

  // Written aside and renamed into place: a folder that exists is complete.
  await mkdir(root, { recursive: true });
  const staging = await mkdtemp(path.join(root, '.staging-'));
  try {
    for (const [file, schema] of schemas) await writeFile(path.join(staging, file), JSON.stringify(schema));
    await rename(staging, folder).catch((error: NodeJS.ErrnoException) => {
      // Another run made it meanwhile.
      if (!existsSync(folder)) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  log(`made ${schemas.size} schemas`);
  return { root, kubernetesVersion };
}

async function downloadModule(go: string, module: string): Promise<string> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      go,
      ['mod', 'download', '-json', module],
      // Outside any module, so no go.mod of the working directory is consulted.
      { cwd: os.tmpdir(), timeout: 10 * 60_000, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        // `-json` reports a module's error in its output, with a non-zero exit.
        if (error && !stdout) reject(new Error(`go mod download ${module} failed: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
  });
  const answer = JSON.parse(output) as { Dir?: string; Error?: string };
  if (answer.Error !== undefined || answer.Dir === undefined) {
    throw new Error(`go mod download ${module} failed: ${answer.Error ?? 'no folder given'}`);
  }
  return answer.Dir;
}

/** The parts of a Swagger 2.0 schema Kubernetes' document uses. */
interface OpenApiSchema {
  type?: string;
  format?: string;
  $ref?: string;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  items?: OpenApiSchema;
  required?: string[];
  'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
}
type Definitions = Record<string, OpenApiSchema>;
type JsonSchema = Record<string, unknown>;

/** Serialised as strings or numbers (`cpu: 1`, `memory: 512Mi`), though the document says string. */
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/** File name (as kubeconform asks for it) to schema, for every kind of the document. */
export function kindSchemas(definitions: Definitions): Map<string, JsonSchema> {
  const schemas = new Map<string, JsonSchema>();
  for (const [name, definition] of Object.entries(definitions)) {
    for (const { group, version, kind } of definition['x-kubernetes-group-version-kind'] ?? []) {
      const apiVersion = group === '' ? version : `${group}/${version}`;
      // kubeconform's naming: the group's first label only (apps, networking, policy), none for core.
      const suffix = group === '' ? version : `${group.split('.')[0]}-${version}`;
      const file = `${kind.toLowerCase()}-${suffix}.json`;
      if (schemas.has(file)) continue;
      const schema = convert(definitions, { $ref: `${DEFINITION}${name}` }, []);
      const properties = schema.properties as Record<string, JsonSchema> | undefined;
      // A document names its own kind: apiVersion and kind take that one value only.
      if (properties?.apiVersion) properties.apiVersion = { type: 'string', enum: [apiVersion] };
      if (properties?.kind) properties.kind = { type: 'string', enum: [kind] };
      schemas.set(file, schema);
    }
  }
  return schemas;
}

/**
 * One JSON schema with every reference inlined. Strict: an object that lists its fields accepts
 * no other; a field may be null (the API server takes it for unset). A type that contains itself
 * (only CustomResourceDefinition's schemas) accepts anything below its first level.
 */
function convert(definitions: Definitions, node: OpenApiSchema, seen: string[]): JsonSchema {
  if (node.$ref !== undefined) {
    const name = node.$ref.slice(DEFINITION.length);
    const target = definitions[name];
    if (target === undefined) throw new Error(`the OpenAPI document has no definition ${name}`);
    if (seen.includes(name)) return {};
    if (name === QUANTITY) return { type: ['string', 'number'] };
    return convert(definitions, target, [...seen, name]);
  }
  if (node.format === 'int-or-string') return { type: ['string', 'integer'] };
  const schema: JsonSchema = {};
  if (node.type !== undefined) schema.type = node.type;
  if (node.properties !== undefined) {
    schema.properties = Object.fromEntries(
      Object.entries(node.properties).map(([key, value]) => [key, nullable(convert(definitions, value, seen))]),
    );
    schema.additionalProperties = false;
  }
  if (typeof node.additionalProperties === 'object') {
    schema.additionalProperties = convert(definitions, node.additionalProperties, seen);
  }
  if (node.items !== undefined) schema.items = convert(definitions, node.items, seen);
  if (node.required !== undefined && node.required.length > 0) schema.required = node.required;
  return schema;
}

function nullable(schema: JsonSchema): JsonSchema {
  const type = schema.type as string | string[] | undefined;
  if (type === undefined) return schema;
  return { ...schema, type: [...(Array.isArray(type) ? type : [type]), 'null'] };
}
