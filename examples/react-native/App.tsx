// Todos on @userdb/client: sign in, then a live list. Every write shows at once and is
// kept in the outbox (AsyncStorage) until the server confirms it, so the app works
// offline and after a restart; a refused write rolls back and is reported.
import { useState } from "react";
import { Alert, Button, FlatList, SafeAreaView, StyleSheet, Switch, Text, TextInput, View } from "react-native";

import { client, todos, useSession, useTodos } from "./userdb";

function report(write: Promise<unknown>) {
  write.catch((error: { message: string; code?: string }) => Alert.alert("Not saved", `${error.message} (${error.code ?? "error"})`));
}

function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = () => {
    setError(null);
    client.auth.logIn({ email, password }).catch((failure: Error) => setError(failure.message));
  };
  return (
    <View style={styles.form}>
      <TextInput placeholder="Email" autoCapitalize="none" keyboardType="email-address" value={email} onChangeText={setEmail} style={styles.input} />
      <TextInput placeholder="Password" secureTextEntry value={password} onChangeText={setPassword} style={styles.input} />
      <Button title="Sign in" onPress={submit} />
      {error ? <Text style={styles.error}>{error}</Text> : null}
    </View>
  );
}

function Todos() {
  const [onlyOpen, setOnlyOpen] = useState(true);
  const [title, setTitle] = useState("");
  const docs = useTodos(onlyOpen);
  const add = () => {
    if (!title.trim()) return;
    report(todos.create({ title: title.trim(), done: false }));
    setTitle("");
  };
  return (
    <View style={styles.list}>
      <View style={styles.row}>
        <TextInput placeholder="What needs doing?" value={title} onChangeText={setTitle} onSubmitEditing={add} style={styles.input} />
        <Button title="Add" onPress={add} />
      </View>
      <View style={styles.row}>
        <Text>Open only</Text>
        <Switch value={onlyOpen} onValueChange={setOnlyOpen} />
      </View>
      <FlatList
        data={docs}
        keyExtractor={(doc) => doc.id}
        renderItem={({ item }) => (
          <View style={styles.row}>
            <Switch value={item.data.done} onValueChange={(done) => report(todos.patch(item.id, { done }))} />
            <Text style={item.pending ? styles.pending : undefined}>{item.data.title}</Text>
            <Button title="Delete" onPress={() => report(todos.delete(item.id))} />
          </View>
        )}
      />
      <Button title="Sign out" onPress={() => void client.auth.logOut()} />
    </View>
  );
}

export default function App() {
  const { state, user, pending } = useSession();
  return (
    <SafeAreaView style={styles.screen}>
      <Text style={styles.state}>
        {state.state}
        {state.reason ? ` · ${state.reason}` : ""}
        {pending ? ` · ${pending} waiting` : ""}
      </Text>
      {user ? <Todos /> : <SignIn />}
    </SafeAreaView>
  );
}

const styles = StyleSheet.create({
  screen: { flex: 1, padding: 16 },
  state: { alignSelf: "flex-end", opacity: 0.7 },
  form: { gap: 8, marginTop: 32 },
  list: { flex: 1, gap: 8 },
  row: { flexDirection: "row", alignItems: "center", gap: 8 },
  input: { flex: 1, borderWidth: 1, borderRadius: 6, padding: 8 },
  error: { color: "#d92d20" },
  pending: { opacity: 0.6 },
});
