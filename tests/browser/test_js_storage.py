"""@userdb/client's IndexedDB storage in Chromium: the shape the client takes, values kept
across "app" restarts (two clients on one database), and concurrent writes of one key ending
with the last value."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_indexeddb_storage_keeps_values_for_the_next_client(browser, static_web):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{static_web}/favicon.svg")
    found = page.evaluate(
        """async () => {
            const { indexedDBStorage, createClient } = await import("/client/index.js");
            const storage = indexedDBStorage({ name: "test-storage" });
            // The storage shape: strings in, strings (or null) out, removal
            await storage.setItem("a", "1");
            const first = await storage.getItem("a");
            await storage.removeItem("a");
            const removed = await storage.getItem("a");
            // A client keeps its id there; a second client on the same database finds it
            const one = createClient({ url: "/api", storage });
            await one.ready;
            await one.close();
            const again = indexedDBStorage({ name: "test-storage" });
            const two = createClient({ url: "/api", storage: again });
            await two.ready;
            // Writes of one key made at once end with the last one
            const writes = [];
            for (let n = 0; n < 20; n += 1) writes.push(storage.setItem("k", String(n)));
            await Promise.all(writes);
            const last = await storage.getItem("k");
            return { first, removed, sameId: one.clientId === two.clientId, last };
        }"""
    )
    page.close()
    assert found == {"first": "1", "removed": None, "sameId": True, "last": "19"}
    assert errors == []
