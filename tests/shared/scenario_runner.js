// Plays the shared sync scenarios on the JavaScript engine (clients/js/src/sync_engine.js);
// the same outcome shape as tests/shared/scenarios.py. One expression, evaluated as
// `(runner)(SyncEngine, scenarios)` by clients/js/test (Node), tests/shared/js_scenarios.mjs
// and tests/browser/test_web_sync_engine.py (Chromium).
// Items without `collection` (the notes scenarios) are keyed by id alone; `notes` maps a
// document's id to its text (`text`, or `data.text`), `docs` "collection/id" to its data.
(SyncEngine, scenarios) =>
  scenarios.map((scenario) => {
    let time = 1000;
    const key = (item) => `${item.collection ?? ""}/${item.id}`;
    const docs = (scenario.notes || []).map((doc) => [key(doc), doc]);
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
        const target = typeof args[0] === "string" ? { id: args[0] } : args[0];
        effects = engine.forgetLocal(target.collection, target.id);
      } else if (name === "stop") effects = engine.stop();
      else throw new Error(`unknown step ${name}`);
      for (const effect of effects) if (effect.type === "send") sent.push(effect.message);
    }
    const held = [...engine.state.docs.values()];
    return {
      sent,
      cursor: engine.state.cursor,
      notes: Object.fromEntries(held.map((doc) => [doc.id, doc.text ?? doc.data?.text ?? null])),
      docs: Object.fromEntries(held.map((doc) => [key(doc), doc.data ?? { text: doc.text }])),
      state: engine.status.state,
      running: engine.running,
    };
  })
