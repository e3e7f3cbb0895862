// A program written against the declarations: `tsc --noEmit` fails if they stop
// describing the API as the README shows it. (Type-checked, never run.)
import {
  ApiError,
  createClient,
  memoryStorage,
  VersionMismatchError,
  type ConnectionState,
  type Doc,
  type Storage,
} from "@userdb/client";

type Todo = { title: string; done: boolean };

// Any object of the localStorage / AsyncStorage shape, sync or async, is a storage.
const asyncStorage: Storage = {
  getItem: async (key: string) => (key ? null : "x"),
  setItem: async (_key: string, _value: string) => {},
  removeItem: async (_key: string) => {},
};
const syncStorage: Storage = { getItem: () => null, setItem: () => {}, removeItem: () => {} };
void syncStorage;

export async function example(WebSocketClass: unknown): Promise<void> {
  const client = createClient({
    url: "http://127.0.0.1:8000/api",
    wsUrl: "ws://127.0.0.1:8001/",
    storage: asyncStorage,
    WebSocket: WebSocketClass,
    collections: ["todos"],
  });
  const other = createClient({ url: "/api", storage: memoryStorage() });
  await other.close();

  const user = await client.auth.signUp({ email: "ann@example.com", password: "correct horse battery", name: "Ann" });
  const name: string = user.name;
  void name;
  await client.auth.logIn({ email: "ann@example.com", password: "correct horse battery" });
  const { session } = await client.auth.session();
  const sessions = await client.auth.sessions();
  await client.auth.revoke(sessions.find((s) => s.id !== session.id)?.id ?? session.id);

  const todos = client.collection<Todo>("todos");
  const created: Doc<Todo> = await todos.create({ title: "milk", done: false });
  await todos.create({ title: "bread", done: false }, { id: "bread" });
  const open: Doc<Todo>[] = await todos.list({ where: { done: false } });
  const one: Doc<Todo> | null = await todos.get(created.id);
  void open;
  void one;
  await todos.put(created.id, { title: "oat milk", done: false }, { ifMatch: created.version });
  await todos.patch(created.id, { done: true });
  await todos.delete(created.id);
  const unsubscribe: () => void = todos.subscribe(
    (docs) => {
      for (const doc of docs) {
        const title: string = doc.data.title;
        const pending: boolean | undefined = doc.pending;
        void title;
        void pending;
      }
    },
    { where: { done: false } },
  );
  unsubscribe();

  const results = await client.batch([
    { op: "create", collection: "todos", data: { title: "a", done: false } },
    { op: "patch", collection: "todos", id: "bread", data: { done: true }, ifMatch: 3 },
    { op: "delete", collection: "todos", id: "old" },
  ]);
  void results.length;

  const stop = client.on("state", (state: ConnectionState) => {
    if (state.state === "offline") console.log(state.reason);
  });
  stop();
  client.on("rejected", ({ error }) => console.log(error.code, error.status));

  try {
    await todos.put("bread", { title: "x", done: false }, { ifMatch: 1 });
  } catch (error) {
    if (error instanceof VersionMismatchError) console.log(error.code);
    else if (error instanceof ApiError) console.log(error.details);
  }
  await client.auth.logOut();
  await client.close();
}
