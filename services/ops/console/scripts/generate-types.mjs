// Generates TypeScript types (openapi-typescript) from the services' OpenAPI descriptions,
// services/<service>/adapters/http/openapi.json, into src/api/generated/<service>.ts (not
// committed: `npm run build` makes them before type-checking).
import { mkdirSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const services = resolve(here, "../../..");
const out = resolve(here, "../src/api/generated");
mkdirSync(out, { recursive: true });

for (const name of ["ops", "order", "inventory", "payment", "notification"]) {
  const spec = join(services, name, "adapters/http/openapi.json");
  if (!existsSync(spec)) continue;
  const ast = await openapiTS(pathToFileURL(spec));
  const text = `// Generated from services/${name}/adapters/http/openapi.json by scripts/generate-types.mjs.\n` + astToString(ast);
  writeFileSync(join(out, `${name}.ts`), text);
  console.log(`types: ${name}`);
}
