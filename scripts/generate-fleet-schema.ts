// Regenerates the files derived from runner-config: the fleet file JSON Schema and, from the default fleet,
// the pre-job hook's allow-list. A test fails while either is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultFleet } from '../runner-config/default-fleet.js';
import { fleetJsonSchemaText } from '../runner-config/json-schema.js';
import { HOOK_ALLOW_LIST_PATH, hookAllowList } from '../runner-config/vm-files.js';

const generated: [string, string][] = [
  ['fleet.schema.json', fleetJsonSchemaText()],
  [HOOK_ALLOW_LIST_PATH, hookAllowList(defaultFleet())],
];
for (const [path, text] of generated) {
  const target = fileURLToPath(new URL(`../runner-config/${path}`, import.meta.url));
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
