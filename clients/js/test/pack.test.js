// `npm pack` makes a tarball that installs and imports in an app of its own, with no
// dependencies and its declarations.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

test("the packed tarball installs in another project and works there", () => {
  const work = mkdtempSync(join(tmpdir(), "userdb-pack-"));
  try {
    // Given the tarball npm pack makes
    const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], { cwd: PACKAGE_DIR, encoding: "utf8" }).trim().split("\n").at(-1);
    const app = join(work, "app");
    execFileSync("mkdir", [app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    // When an app installs it (offline: it has no dependencies to fetch)
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent", join(work, name)], { cwd: app });
    // Then it imports by name, with its declarations, and makes a client
    assert.ok(existsSync(join(app, "node_modules", "@userdb", "client", "src", "index.d.ts")));
    const script = `
      import { createClient, memoryStorage } from "@userdb/client";
      const client = createClient({ url: "http://127.0.0.1:9/api", storage: memoryStorage() });
      await client.ready;
      console.log(JSON.stringify({ state: client.state.state, user: client.auth.user }));
      await client.close();`;
    const out = execFileSync("node", ["--input-type=module", "-e", script], { cwd: app, encoding: "utf8" });
    assert.deepEqual(JSON.parse(out), { state: "offline", user: null });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
