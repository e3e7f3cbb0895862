// Plays the shared sync scenarios on the JavaScript engine (clients/js/src/sync_engine.js);
// the same outcome shape as tests/shared/scenarios.py. One expression, evaluated as
// `(runner)(SyncEngine, scenarios)` by clients/js/test (Node), tests/shared/js_scenarios.mjs
// and tests/browser/test_web_sync_engine.py (Chromium).
// Items without `collection` are notes (as servers before collections sent them): `notes`
// maps the id of each note held to its text, `docs` "collection/id" to each document's data.
(SyncEngine, scenarios) =>
  scenarios.map((scenario) => {
    let time = 1000;
    const asDoc = (item) =>
      item.collection === undefined ? { ...item, collection: "notes", data: { text: item.text } } : item;
    const key = (doc) => `${doc.collection}/${doc.id}`;
    const docs = (scenario.notes || []).map(asDoc).map((doc) => [key(doc), doc]);
    const jitter = scenario.jitter ?? 0.5;
    const engine = new SyncEngine(
      { clientId: "client", cursor: scenario.cursor ?? null, docs },
      { clock: () => time, random: () => jitter, collections: scenario.collections ?? null },
    );
    const sent = [];
    for (const [name, ...args] of scenario.steps) {
      let effects;
      if (name === "start") effects = engine.start();
      else if (name === "open") effects = engine.onOpen();
      else if (name === "message") effects = engine.onMessage(JSON.stringify(args[0]));
      else if (name === "tick") {
        time += args[0];
        effects = engine.tick();
      } else if (name === "close") effects = engine.onClose(args[0]);
      else if (name === "connectFailed") effects = engine.onConnectFailed(args[0], args[1] ?? null);
      else if (name === "applyLocal") effects = engine.applyLocal(args[0]);
      else if (name === "forgetLocal") {
        const target = typeof args[0] === "string" ? { collection: "notes", id: args[0] } : args[0];
        effects = engine.forgetLocal(target.collection, target.id);
      } else if (name === "stop") effects = engine.stop();
      else throw new Error(`unknown step ${name}`);
      for (const effect of effects) if (effect.type === "send") sent.push(effect.message);
    }
    const held = [...engine.state.docs.values()];
    return {
      sent,
      cursor: engine.state.cursor,
      notes: Object.fromEntries(held.filter((doc) => doc.collection === "notes").map((doc) => [doc.id, doc.data.text])),
      docs: Object.fromEntries(held.map((doc) => [key(doc), doc.data])),
      state: engine.status.state,
      running: engine.running,
    };
  })
