import { z } from 'zod';
import { fleetFileSchema } from './schema.js';

/** The JSON Schema of fleet files, as committed in fleet.schema.json for editors and other tools. */
export function fleetJsonSchemaText(): string {
  const schema = z.toJSONSchema(fleetFileSchema, { target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Runner fleet definition' }, null, 2)}\n`;
}
