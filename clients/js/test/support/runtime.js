// The real local runtime (`python -m infra.local up`, this project's app on DynamoDB
// Local) as a child process on free ports, for the package's integration tests: the
// Node twin of tests/support/local_runtime.py. It declares the collections of
// collections.json beside this file (notes and todos).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_DIR = fileURLToPath(new URL("../../../../", import.meta.url));
export const COLLECTIONS_FILE = fileURLToPath(new URL("collections.json", import.meta.url));
const PYTHON = process.env.USERDB_PYTHON ?? join(PROJECT_DIR, ".venv", "bin", "python");
const START_TIMEOUT_MS = 120_000;

/** Why the runtime cannot start here, or null. */
export function runtimeMissing() {
  if (!existsSync(PYTHON)) return `no Python virtualenv at ${PYTHON} (run make venv)`;
  if (!existsSync(join(PROJECT_DIR, ".cache", "dynamodb-local"))) return "DynamoDB Local is not installed (make dynamodb-local)";
  return null;
}

/** A port nothing listens on, below the ephemeral range (as infra/local/ports.py does). */
async function freePort() {
  let highest = 32767;
  try {
    highest = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0]) - 1;
  } catch {
    // not Linux: the default start of the range
  }
  for (let tries = 0; tries < 50; tries += 1) {
    const port = 20_000 + Math.floor(Math.random() * (highest - 20_000));
    if (await bindable(port)) return port;
  }
  throw new Error("no free port");
}

function bindable(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export class Runtime {
  constructor({ backend = process.env.USERDB_TEST_BACKEND ?? "dynamodb-local", args = [] } = {}) {
    this.backend = backend;
    this.args = args;
    this.dataDir = mkdtempSync(join(tmpdir(), "userdb-js-runtime-"));
    this.process = null;
    this.output = [];
    this.ports = null;
  }

  get apiUrl() {
    return `http://127.0.0.1:${this.ports.port}/api`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.ports.wsPort}/local`;
  }

  async start() {
    this.ports ??= { port: await freePort(), wsPort: await freePort(), ddbPort: await freePort() };
    const { port, wsPort, ddbPort } = this.ports;
    const settings = ["--env", `USERDB_COLLECTIONS=${COLLECTIONS_FILE}`, ...this.args];
    const command = [
      "-m", "infra.local", "up",
      ...this.userdbArgs(settings),
      "--backend", this.backend,
      "--port", String(port),
      "--ws-port", String(wsPort),
      "--ddb-port", String(ddbPort),
      "--data-dir", this.dataDir,
      "--app-dir", PROJECT_DIR,
      ...settings,
    ];
    const child = spawn(PYTHON, command, {
      cwd: PROJECT_DIR,
      env: { ...process.env, PYTHONUNBUFFERED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.process = child;
    const keep = (chunk) => this.output.push(chunk.toString());
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    this.exited = exited;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the runtime exited (${child.exitCode}):\n${this.output.join("")}`);
      try {
        const response = await fetch(`${this.apiUrl}/health`);
        if (response.status === 200) return this;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.end();
        throw new Error(`the runtime did not start in ${START_TIMEOUT_MS / 1000} s:\n${this.output.join("")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** What `make run` adds for this project: the template of its stage (with these
   * settings' `--env`), from `python -m infra.template --local-runtime`, and the OIDC callback. */
  userdbArgs(settings) {
    const template = join(this.dataDir, "template.json");
    const made = spawnSync(PYTHON, ["-m", "infra.template", "--local-runtime", "-o", template, ...settings], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
    });
    if (made.status !== 0) throw new Error(`python -m infra.template failed:\n${made.stderr}`);
    return ["--template", template, "--oidc-callback", "/auth/oauth/oidc/callback"];
  }

  /** Stop gracefully and start again on the same ports and data: a user restarting `make run`. */
  async restart() {
    await this.end();
    return this.start();
  }

  async end(signal = "SIGTERM") {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    child.kill(signal);
    const timeout = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await this.exited;
    clearTimeout(timeout);
  }

  async stop() {
    await this.end();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** One JSON call to the REST API: {status, body}. */
  async call(method, path, body, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(this.apiUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  }

  /** A new account: {email, password, token, user}. */
  async signup(name = "Test") {
    const email = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 12)}@example.com`;
    const password = "correct horse battery";
    const { status, body } = await this.call("POST", "/auth/signup", { email, password, name });
    if (status !== 201) throw new Error(`sign-up answered ${status}: ${JSON.stringify(body)}`);
    return { email, password, ...body };
  }

  /** True once the collections API is served (401 without a session; 404 before it exists). */
  async servesCollections() {
    const { status } = await this.call("GET", "/collections");
    return status === 401;
  }
}
