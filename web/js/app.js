// The notes app: wires the views to one @userdb/client and nothing more. The client
// keeps the session, the notes and the writes not yet sent in IndexedDB, so the page
// shows the last copy at once, offline too (the service worker, sw.js, serves the page).

import { createClient, indexedDBStorage } from "../client/index.js";
import { AccountView } from "./account_view.js";
import { AuthView } from "./auth_view.js";
import { claimClientId } from "./client_id.js";
import { loadConfig } from "./config.js";
import { ListView } from "./list_view.js";
import { showBanner, toast, wireBanner } from "./ui.js";

async function start() {
  registerServiceWorker();
  wireBanner();
  const [config, clientId] = await Promise.all([loadConfig(), claimClientId()]);
  const client = createClient({ url: config.apiUrl, wsUrl: config.wsUrl, storage: indexedDBStorage(), clientId });
  globalThis.userdbClient = client; // for the console and the browser tests
  const providerNames = new Map(); // OAuth provider id -> name, for messages
  const auth = new AuthView({ client, config, providerNames });
  const list = new ListView({ client });
  const account = new AccountView({ client, providerNames });
  auth.wire();
  list.wire();
  account.wire();

  let shownUser = undefined;
  const showFor = (user, message = null) => {
    if (user && shownUser?.id === user.id) {
      account.show(user);
      return;
    }
    shownUser = user;
    if (user) {
      auth.hide();
      account.show(user);
      list.show();
      document.getElementById("new-note").focus();
    } else {
      list.hide();
      account.hide();
      auth.reset();
      auth.show(message);
    }
  };

  // Other tabs of this browser share the storage: signing in or out there applies here.
  const tabs = "BroadcastChannel" in globalThis ? new BroadcastChannel("userdb.auth") : null;
  let announcing = false; // not the session read at load: only signing in or out here
  client.on("auth", (user) => {
    showFor(user);
    if (announcing) tabs?.postMessage({ userId: user?.id ?? null });
  });
  tabs?.addEventListener("message", (event) => {
    // Another tab signed in or out: start again from the storage it wrote.
    if ((event.data?.userId ?? null) !== (client.auth.user?.id ?? null)) location.reload();
  });
  client.on("unauthorized", () => {
    client.auth.logOut().finally(() => showFor(null, "Your session has ended. Please sign in again."));
  });
  client.on("storageError", () => showBanner("This browser's storage is full or disabled: your notes may not be kept for offline use."));
  client.on("serverError", ({ code, message }) => {
    if (code !== "unauthorized") toast(`The server reported: ${message || code}`, { kind: "error" });
  });

  await client.ready;
  announcing = true;
  const returned = await auth.takeFragment();
  if (returned?.notice) toast(returned.notice);
  if (returned?.error) {
    if (!client.auth.user) {
      showFor(null, returned.error);
      return;
    }
    showBanner(returned.error);
  }
  showFor(client.auth.user);
  if (client.auth.user) {
    // Refresh the name and learn whether the session still holds (offline: the cached copy stays).
    client.auth.session().then(({ user }) => account.show(user), () => {});
  }
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("sw.js").catch((error) => console.warn("no offline page:", error));
}

start();
