// Plays the shared sync scenarios on web/js/sync.js; the same outcome shape as
// tests/shared/scenarios.py. Evaluated by tests/browser/test_web_engine.py in
// Chromium as `(runner)(SyncEngine, scenarios)`.
(SyncEngine, scenarios) =>
  scenarios.map((scenario) => {
    let time = 1000;
    const notes = new Map((scenario.notes || []).map((note) => [note.id, note]));
    const jitter = scenario.jitter ?? 0.5;
    const engine = new SyncEngine(
      { clientId: "client", cursor: scenario.cursor ?? null, notes },
      { clock: () => time, random: () => jitter },
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
      else if (name === "forgetLocal") effects = engine.forgetLocal(args[0]);
      else if (name === "stop") effects = engine.stop();
      else throw new Error(`unknown step ${name}`);
      for (const effect of effects) if (effect.type === "send") sent.push(effect.message);
    }
    return {
      sent,
      cursor: engine.state.cursor,
      notes: Object.fromEntries([...engine.state.notes.values()].map((n) => [n.id, n.text])),
      state: engine.status.state,
      running: engine.running,
    };
  })
