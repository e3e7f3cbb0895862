// One @userdb/client for the app, kept in AsyncStorage: it has the storage shape the
// package takes (async getItem / setItem / removeItem), so it is passed as it is.
import "react-native-get-random-values"; // crypto.getRandomValues, for ids and Idempotency-Keys

import AsyncStorage from "@react-native-async-storage/async-storage";
import { createClient, type Doc } from "@userdb/client";
import { useEffect, useState } from "react";

// Your API: locally `make run RUN_ARGS='--host 0.0.0.0'` and this machine's LAN address;
// on AWS the stage URLs that `chalice deploy` prints.
export const API_URL = "http://192.168.1.10:8000/api";
export const WS_URL = "ws://192.168.1.10:8001/";

export type Todo = { title: string; done: boolean };

export const client = createClient({
  url: API_URL,
  wsUrl: WS_URL,
  storage: AsyncStorage,
  collections: ["todos"], // follow only what this app shows
  // React Native has a global WebSocket: nothing to pass.
});

export const todos = client.collection<Todo>("todos");

/** The open (or all) todos of the local replica, live: instant at start, offline too. */
export function useTodos(onlyOpen: boolean): Doc<Todo>[] {
  const [docs, setDocs] = useState<Doc<Todo>[]>([]);
  useEffect(() => todos.subscribe(setDocs, onlyOpen ? { where: { done: false } } : {}), [onlyOpen]);
  return docs;
}

/** The connection's state ("connecting", "live", "reconnecting", "offline") and the signed-in user. */
export function useSession() {
  const [state, setState] = useState(client.state);
  const [user, setUser] = useState(client.auth.user);
  const [pending, setPending] = useState(client.pendingWrites);
  useEffect(() => {
    const stops = [
      client.on("state", setState),
      client.on("auth", setUser),
      client.on("outbox", ({ pending: waiting }) => setPending(waiting)),
      client.on("unauthorized", () => void client.auth.logOut()),
    ];
    return () => stops.forEach((stop) => stop());
  }, []);
  return { state, user, pending };
}
