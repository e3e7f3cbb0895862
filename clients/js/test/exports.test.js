// Every name the declarations promise is exported by the module, and the reverse.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as client from "../src/index.js";

test("index.d.ts and index.js export the same values", () => {
  const declarations = readFileSync(new URL("../src/index.d.ts", import.meta.url), "utf8");
  const declared = new Set([...declarations.matchAll(/^export (?:declare )?(?:function|class|const) (\w+)/gm)].map((m) => m[1]));
  const exported = new Set(Object.keys(client).filter((name) => name !== "Client"));
  assert.deepEqual([...declared].sort(), [...exported].sort());
});

test("package.json's exports point at the entry and its declarations", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  assert.equal(pkg.name, "@userdb/client");
  assert.deepEqual(pkg.exports["."], { types: "./src/index.d.ts", default: "./src/index.js" });
  assert.deepEqual(pkg.dependencies ?? {}, {}, "no runtime dependencies");
});
