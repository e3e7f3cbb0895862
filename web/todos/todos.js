// Todos on @userdb/client: the whole app. It follows only the `todos` collection
// (createClient's `collections`), keeps its state in localStorage (a storage with
// synchronous getItem/setItem/removeItem works as is), shows each write at once and
// lets the package queue it while offline. The server must declare `todos` ({title,
// done, ...}): `make run RUN_ARGS='--env USERDB_COLLECTIONS=examples/python-todos/collections.json'`.

import { createClient } from "../client/index.js";

const $ = (id) => document.getElementById(id);

/** The API's and WebSocket's URLs: as the notes app learns them (web/js/config.js). */
async function endpoints() {
  let served = {};
  try {
    const response = await fetch("../config.json", { cache: "no-store" });
    if (response.ok) served = await response.json();
  } catch {
    // offline or no config route: the local runtime's defaults
  }
  const given = globalThis.USERDB_CONFIG ?? {};
  return {
    apiUrl: given.apiUrl ?? served.apiUrl ?? "/api",
    wsUrl: given.wsUrl ?? served.wsUrl ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.hostname}:8001/`,
  };
}

const { apiUrl, wsUrl } = await endpoints();
const client = createClient({ url: apiUrl, wsUrl, storage: localStorage, namespace: "todos", collections: ["todos"] });
const todos = client.collection("todos");
let unsubscribe = null;

function render(docs) {
  const list = $("list");
  list.replaceChildren();
  for (const doc of docs) {
    const item = $("item").content.firstElementChild.cloneNode(true);
    item.classList.toggle("pending", Boolean(doc.pending));
    item.querySelector(".text").textContent = doc.data.title;
    const done = item.querySelector(".done");
    done.checked = doc.data.done;
    done.addEventListener("change", () => report(todos.patch(doc.id, { done: done.checked })));
    item.querySelector(".remove").addEventListener("click", () => report(todos.delete(doc.id)));
    list.append(item);
  }
  $("empty").hidden = docs.length > 0;
}

/** A refused write has already been rolled back on screen: say why. */
function report(write) {
  write.catch((error) => alert(`Not saved: ${error.message} (${error.code ?? error.name})`));
}

function follow() {
  unsubscribe?.();
  const open = document.querySelector('input[name="show"]:checked').value === "open";
  unsubscribe = todos.subscribe(render, open ? { where: { done: false } } : {});
}

function show(user) {
  $("sign-in").hidden = Boolean(user);
  $("todos").hidden = !user;
  if (user) follow();
  else unsubscribe?.();
}

client.on("auth", show);
client.on("state", ({ state, reason }) => {
  $("state").dataset.state = state;
  $("state").textContent = state;
  $("state").title = reason ?? "";
});
client.on("outbox", ({ pending }) => {
  $("pending").textContent = pending ? `${pending} change(s) waiting to be sent` : "";
});
client.on("unauthorized", () => client.auth.logOut());

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("sign-in-error").hidden = true;
  try {
    await client.auth.logIn({ email: $("email").value, password: $("password").value });
  } catch (error) {
    $("sign-in-error").textContent = error.message;
    $("sign-in-error").hidden = false;
  }
});
$("add").addEventListener("submit", (event) => {
  event.preventDefault();
  const title = $("title").value.trim();
  if (!title) return;
  report(todos.create({ title, done: false }));
  $("title").value = "";
});
for (const radio of document.querySelectorAll('input[name="show"]')) radio.addEventListener("change", follow);
$("sign-out").addEventListener("click", () => client.auth.logOut());
