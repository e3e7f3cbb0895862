"""The web client in Chromium against the local runtime.

The page keeps its session, notes and unsent writes through @userdb/client in
IndexedDB; tests seed and read that storage through the package itself. Tests
that need live sync or the collections API skip, saying why, while the runtime
on this branch does not serve them yet.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.clients_runtime import LocalStack, start_stack

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
PASSWORD = "correct horse battery"


# The todo examples' collections (notes and todos): the todos web example runs on them.
EXAMPLE_COLLECTIONS = "USERDB_COLLECTIONS=examples/python-todos/collections.json"


@pytest.fixture(scope="module")
def todos_stack() -> Iterator[LocalStack]:
    """A stack whose app declares the examples' collections (as docs/collections.md runs it)."""
    stack = start_stack("--env", EXAMPLE_COLLECTIONS)
    yield stack
    stack.runtime.stop()


@pytest.fixture
def contexts(browser: Any, local_stack: LocalStack) -> Iterator[Any]:
    """Makes browser contexts that reach this stack's WebSocket port; closes them after."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1100, "height": 760})
        context = browser.new_context(**options)
        config = json.dumps({"wsUrl": local_stack.ws_url})
        context.add_init_script(f"window.USERDB_CONFIG = {config};")
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def stored(page: Any, key: str) -> Any:
    """A value the page's client keeps (IndexedDB, read through the package), or None."""
    return page.evaluate(
        """async (key) => {
            const { indexedDBStorage } = await import('/client/index.js');
            const raw = await indexedDBStorage().getItem(key);
            return raw === null ? null : JSON.parse(raw);
        }""",
        key,
    )


def store(page: Any, key: str, value: Any) -> None:
    """Put a value where the page's client keeps it (read at its next load)."""
    page.evaluate(
        """async ([key, value]) => {
            const { indexedDBStorage } = await import('/client/index.js');
            await indexedDBStorage().setItem(key, JSON.stringify(value));
        }""",
        [key, value],
    )


def open_page(context: Any, stack: LocalStack, account: dict[str, Any] | None = None) -> Any:
    """A page of the app; with `account`, signed in as it (the session seeded in storage)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.page_errors = errors
    page.goto(stack.base_url + "/")
    if account is not None:
        # (a page of a context that already holds the session shows the notes at once)
        page.wait_for_selector("#auth-view:not([hidden]), #notes-view:not([hidden])")
        store(page, "userdb.session", {"token": account["token"], "user": account["user"]})
        page.reload()
        page.wait_for_selector("#notes-view:not([hidden])", timeout=WAIT_MS)
    return page


def cached_notes(user_id: str, texts: list[str], cursor: int = 2) -> dict[str, Any]:
    """The replica a client keeps, holding notes with these texts, as of `cursor`."""
    now = int(time.time() * 1000)
    docs = [
        {"collection": "notes", "id": f"cached{n:04d}", "data": {"text": text},
         "created": now - 9000 * (n + 1), "updated": now - 9000 * (n + 1), "version": n + 1}
        for n, text in enumerate(texts)
    ]  # fmt: skip
    return {"userId": user_id, "collections": None, "cursor": cursor, "docs": docs}


def hold_websocket(context: Any, stack: LocalStack) -> None:
    """The WebSocket opens and nothing answers: the page stays "connecting" and keeps its
    cached replica (a page that synced would save its own state over what a test wrote)."""
    context.route_web_socket(lambda url: url.startswith(stack.ws_url[:-1]), lambda ws: None)


def note_texts(page: Any) -> list[str]:
    return list(page.locator("#notes li.note:not([hidden]) .note-text").all_inner_texts())


def wait_for_texts(page: Any, expected: list[str]) -> None:
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        if sorted(note_texts(page)) == sorted(expected):
            return
        page.wait_for_timeout(100)
    assert sorted(note_texts(page)) == sorted(expected)


def wait_live(page: Any) -> None:
    page.wait_for_selector('#connection[data-state="live"]', timeout=WAIT_MS)


def add_note(page: Any, text: str) -> None:
    page.get_by_label("New note").fill(text)
    page.get_by_role("button", name="Add note").click()
    page.wait_for_function(
        "t => [...document.querySelectorAll('.note-text')].some(e => e.textContent === t)",
        arg=text,
        timeout=WAIT_MS,
    )


# ---------------------------------------------------------------- without live sync


def test_sign_up_sign_out_and_sign_in_with_errors_shown(contexts, local_stack):
    page = open_page(contexts(), local_stack)
    email = f"web-{time.time_ns()}@example.com"
    # Sign up with the keyboard-reachable, labelled form
    page.get_by_role("tab", name="Create account").click()
    page.get_by_label("Name").fill("Ann")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    assert "at least 8" in page.locator("#auth-error").inner_text()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_selector("#notes-view:not([hidden])", timeout=WAIT_MS)
    assert page.locator("#account-name").inner_text() == "Ann"
    assert page.evaluate("document.activeElement.id") == "new-note"
    # Sign out: back to the form, nothing kept
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#auth-view:not([hidden])")
    assert stored(page, "userdb.session") is None
    # A wrong password is shown, not swallowed
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#auth-error:not([hidden])")
    assert "Invalid email or password" in page.locator("#auth-error").inner_text()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#notes-view:not([hidden])", timeout=WAIT_MS)
    assert page.page_errors == []


def test_sign_in_with_the_oidc_provider_and_its_errors(contexts, local_stack):
    context = contexts()
    page = open_page(context, local_stack)
    # The sign-in card offers the provider the server lists
    button = page.get_by_role("link", name="Sign in with Local test provider")
    button.wait_for(timeout=WAIT_MS)
    assert button.get_attribute("href").endswith(
        "/auth/oauth/oidc/start?redirect=" + quote(f"{local_stack.base_url}/", safe="")
    )
    # Cancelled at the provider: back to the sign-in card, nothing alarming
    button.click()
    page.get_by_role("button", name="Deny").click()
    page.wait_for_selector("#auth-view:not([hidden])", timeout=WAIT_MS)
    assert page.locator("#auth-error").is_hidden()
    assert page.evaluate("location.hash") == ""
    # Signing in there lands signed in here, the token kept and out of the address bar
    subject = f"web-{time.time_ns()}"
    page.get_by_role("link", name="Sign in with Local test provider").click()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Name", exact=True).fill("Olivia")
    page.get_by_label("Email", exact=True).fill(f"{subject}@example.com")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#notes-view:not([hidden])", timeout=WAIT_MS)
    assert page.locator("#account-name").inner_text() == "Olivia"
    assert page.evaluate("location.hash") == ""
    assert "Welcome, Olivia" in page.locator("#toasts").inner_text()
    session = stored(page, "userdb.session")
    assert session["user"]["name"] == "Olivia" and session["token"]
    # The account dialog lists the identity; the last way to sign in cannot be removed
    page.get_by_role("button", name="Olivia").click()
    dialog = page.get_by_role("dialog", name="Your account")
    disconnect = dialog.get_by_role("button", name="Disconnect Local test provider")
    disconnect.click()
    dialog.locator("#account-error:not([hidden])").wait_for(timeout=WAIT_MS)
    assert "last_sign_in_method" in page.locator("#account-error").inner_text() or (
        "last way to sign in" in page.locator("#account-error").inner_text()
    )
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.page_errors == []


def test_an_oauth_error_in_the_fragment_is_shown_and_cleared(contexts, local_stack):
    page = open_page(contexts(), local_stack)
    # (the provider's redirect is a full page load, hence about:blank in between)
    page.goto("about:blank")
    page.goto(
        f"{local_stack.base_url}/#error=identity_in_use&provider=github"
        "&error_description=Already+connected"
    )
    page.wait_for_selector("#auth-error:not([hidden])")
    assert page.locator("#auth-error").inner_text() == (
        "This Github account is connected to another account. (identity_in_use)"
    )
    assert page.evaluate("location.hash") == ""
    page.goto("about:blank")
    page.goto(f"{local_stack.base_url}/#error=new_code&error_description=Text+for+people")
    page.wait_for_selector("#auth-error:not([hidden])")
    assert page.locator("#auth-error").inner_text() == "Text for people (new_code)"


def test_provider_buttons_follow_the_providers_route(contexts, local_stack):
    context = contexts()
    providers = {
        "providers": [
            {"id": "google", "name": "Google", "start_url": "/api/auth/oauth/google/start"},
            {"id": "github", "name": "GitHub", "start_url": "/api/auth/oauth/github/start"},
        ]
    }
    context.route("**/api/auth/providers", lambda route: route.fulfill(status=200, json=providers))
    page = open_page(context, local_stack)
    page.wait_for_selector("#oauth:not([hidden])")
    names = page.locator("#oauth-providers a").all_inner_texts()
    assert names == ["Sign in with Google", "Sign in with GitHub"]
    # A server without the route shows no button at all
    context.unroute("**/api/auth/providers")
    context.route("**/api/auth/providers", lambda route: route.fulfill(status=404, json={}))
    page.reload()
    page.wait_for_selector("#auth-view:not([hidden])")
    page.wait_for_timeout(300)
    assert page.locator("#oauth").is_hidden()


def test_reload_shows_the_cached_notes_before_the_socket_connects(contexts, local_stack, artifacts):
    account = local_stack.signup("Cached")
    context = contexts()
    hold_websocket(context, local_stack)
    page = open_page(context, local_stack, account)
    # Given notes cached by an earlier visit
    texts = ["Cached before", "Groceries\n- oat milk\n- coffee"]
    store(page, "userdb.replica", cached_notes(account["user"]["id"], texts))
    # When the page reloads, the WebSocket still held
    page.reload()
    page.wait_for_selector("#notes-view:not([hidden])")
    # Then the cached notes are there at once, and the state is not "live"
    wait_for_texts(page, texts)
    assert page.locator("#connection").get_attribute("data-state") != "live"
    assert page.locator(".connection-label").inner_text() in ("Connecting…", "Reconnecting…")
    page.screenshot(path=str(artifacts / "notes-cached.png"))


def test_the_page_opens_offline_from_the_service_worker_with_the_cached_notes(
    contexts, local_stack, artifacts
):
    account = local_stack.signup("Away")
    context = contexts()
    hold_websocket(context, local_stack)
    page = open_page(context, local_stack, account)
    store(page, "userdb.replica", cached_notes(account["user"]["id"], ["Read on the train"]))
    # Given the page's service worker installed (the page and its modules cached)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => Boolean(r.active))")
    # When the device is offline and the page is loaded again
    context.set_offline(True)
    page.reload()
    # Then it opens (not the browser's error page), with the notes and the offline state shown
    page.wait_for_selector("#notes-view:not([hidden])", timeout=WAIT_MS)
    wait_for_texts(page, ["Read on the train"])
    page.wait_for_selector('#connection[data-state="offline"]', timeout=WAIT_MS)
    banner = page.locator("#offline-banner")
    banner.wait_for(timeout=WAIT_MS)
    assert "You are offline" in banner.inner_text()
    page.screenshot(path=str(artifacts / "notes-offline.png"))
    assert page.page_errors == []


def test_on_a_narrow_screen_the_account_menu_stays_reachable(contexts, local_stack, artifacts):
    account = local_stack.signup("Narrow")
    context = contexts(viewport={"width": 360, "height": 740})
    page = open_page(context, local_stack, account)
    # The name gives way to its initial, still a button that opens the account dialog
    button = page.locator("#account-name")
    assert button.is_visible()
    assert button.bounding_box()["width"] >= 24
    page.screenshot(path=str(artifacts / "notes-narrow.png"))
    button.click()
    dialog = page.get_by_role("dialog", name="Your account")
    assert dialog.is_visible()
    assert account["email"] in dialog.inner_text()
    # And signing out is there too
    dialog.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#auth-view:not([hidden])", timeout=WAIT_MS)


def test_the_editor_tells_the_room_left_in_characters(contexts, local_stack):
    account = local_stack.signup("Room")
    context = contexts()
    hold_websocket(context, local_stack)
    page = open_page(context, local_stack, account)
    store(page, "userdb.replica", cached_notes(account["user"]["id"], ["short"]))
    page.reload()
    wait_for_texts(page, ["short"])
    item = page.locator("li.note", has_text="short")
    item.hover()
    item.get_by_role("button", name="Edit note").click()
    editor = page.get_by_label("Note text")
    room = item.locator(".room")
    # A note of 5 ASCII characters has room for 65,536 bytes less {"text":"short"}
    empty = len(json.dumps({"text": ""}, separators=(",", ":")))
    assert room.inner_text() == f"{65536 - empty - 5:,} characters left"
    # Characters, not bytes: 1,000 three-byte characters leave about a third as many
    editor.fill("語" * 1000)
    left = int(room.inner_text().split()[0].replace(",", ""))
    assert left == (65536 - empty - 3000) // 3
    # Over the limit: nothing is cut, the count of characters to remove shows, Save waits
    editor.fill("a" * 65_600)
    assert len(editor.input_value()) == 65_600
    assert room.inner_text() == f"{65_600 + empty - 65536:,} characters too many"
    assert item.get_by_role("button", name="Save").is_disabled()
    # The composer shows the count only when it matters
    assert page.locator("#composer-room").is_hidden()
    page.get_by_label("New note").fill("x" * 65_530)
    assert page.locator("#composer-room").inner_text() == "5 characters too many"
    assert page.get_by_role("button", name="Add note").is_disabled()


def test_every_file_of_the_page_is_in_the_service_workers_cache_list():
    # The offline page needs them all: a module missing from the list breaks it offline only.
    from tests.browser.conftest import CLIENT_DIR, WEB_DIR

    listed = set(re.findall(r'"((?:js|client)/[\w.]+)"', (WEB_DIR / "sw.js").read_text()))
    files = {f"js/{path.name}" for path in (WEB_DIR / "js").glob("*.js")}
    files |= {f"client/{path.name}" for path in CLIENT_DIR.glob("*.js")}
    assert listed == files


# ---------------------------------------------------------------- live sync


def test_two_pages_of_one_user_see_each_others_changes(contexts, local_stack, artifacts):
    local_stack.require_realtime()
    local_stack.require_collections()
    account = local_stack.signup("Two")
    context = contexts()
    first = open_page(context, local_stack, account)
    second = open_page(context, local_stack, account)
    wait_live(first)
    wait_live(second)
    # Added in one, it appears in the other
    add_note(first, "Appears everywhere")
    wait_for_texts(second, ["Appears everywhere"])
    # Edited in the other, it changes in the first
    item = second.locator("li.note", has_text="Appears everywhere")
    item.hover()
    item.get_by_role("button", name="Edit note").click()
    editor = second.get_by_label("Note text")
    editor.fill("Edited in the second window")
    editor.press("Control+Enter")
    wait_for_texts(first, ["Edited in the second window"])
    # Deleted in the first (two presses), it disappears from the second
    add_note(first, "Keep me")
    doomed = first.locator("li.note", has_text="Edited in the second window")
    doomed.hover()
    doomed.get_by_role("button", name="Delete note").click()
    doomed.get_by_role("button", name="Press again to delete this note").click()
    wait_for_texts(second, ["Keep me"])
    wait_for_texts(first, ["Keep me"])
    # A few more from the second window, for the screenshot people look at
    more = [
        "Ideas for the trip\n- Lisbon: LX Factory, Time Out market\n- Sintra by train, early",
        "Call the plumber about the kitchen sink",
        "Pick up the film from the lab before Saturday",
    ]
    for text in more:
        add_note(second, text)
    wait_for_texts(first, ["Keep me", *more])
    first.wait_for_timeout(1800)  # let the highlight of live changes fade
    first.screenshot(path=str(artifacts / "notes.png"))
    first.emulate_media(color_scheme="dark")
    first.screenshot(path=str(artifacts / "notes-dark.png"))
    assert first.page_errors == [] and second.page_errors == []


def test_offline_then_online_converges(contexts, local_stack):
    local_stack.require_realtime()
    local_stack.require_collections()
    account = local_stack.signup("Offline")
    laptop = open_page(contexts(), local_stack, account)
    phone_context = contexts(viewport={"width": 390, "height": 780})
    phone = open_page(phone_context, local_stack, account)
    wait_live(laptop)
    wait_live(phone)
    add_note(laptop, "Before going offline")
    wait_for_texts(phone, ["Before going offline"])
    # When the phone goes offline and the laptop keeps writing
    phone_context.set_offline(True)
    phone.wait_for_selector('#connection[data-state="offline"]', timeout=WAIT_MS)
    add_note(laptop, "Written while the phone was offline")
    item = laptop.locator("li.note", has_text="Before going offline")
    item.hover()
    item.get_by_role("button", name="Delete note").click()
    item.get_by_role("button", name="Press again to delete this note").click()
    # Then the phone still shows its last copy, says it is offline, and takes writes
    assert note_texts(phone) == ["Before going offline"]
    assert phone.locator("#offline-banner").is_visible()
    add_note(phone, "Written on the phone offline")
    queued = phone.locator("li.note", has_text="Written on the phone offline")
    assert queued.locator(".note-status").inner_text() == "Not sent yet"
    assert phone.locator("#pending-count").inner_text() == "1 change waiting to be sent."
    assert phone.locator("#toasts").inner_text() == "", "queued, not refused"
    # And once back online, both converge: the queued note sent, the laptop's changes in
    phone_context.set_offline(False)
    wait_live(phone)
    both = ["Written while the phone was offline", "Written on the phone offline"]
    wait_for_texts(phone, both)
    wait_for_texts(laptop, both)
    phone.wait_for_selector("li.note .note-status[hidden]", state="attached")
    assert queued.locator(".note-status").is_hidden()
    assert phone.page_errors == [] and laptop.page_errors == []


def test_another_users_page_shows_none_of_it(contexts, local_stack):
    local_stack.require_realtime()
    local_stack.require_collections()
    ann = local_stack.signup("Ann")
    bob = local_stack.signup("Bob")
    ann_page = open_page(contexts(), local_stack, ann)
    bob_page = open_page(contexts(), local_stack, bob)
    wait_live(ann_page)
    wait_live(bob_page)
    for text in ("Ann's first", "Ann's second"):
        add_note(ann_page, text)
    add_note(bob_page, "Bob's own")
    wait_for_texts(ann_page, ["Ann's first", "Ann's second"])
    bob_page.wait_for_timeout(1000)  # time for anything misrouted to arrive
    assert note_texts(bob_page) == ["Bob's own"]


def test_the_todos_example_follows_its_collection_live(browser, todos_stack, artifacts):
    local_stack = todos_stack
    local_stack.require_realtime()
    local_stack.require_collections()
    account = local_stack.signup("Todo")
    context = browser.new_context()
    context.add_init_script(f"window.USERDB_CONFIG = {json.dumps({'wsUrl': local_stack.ws_url})};")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(local_stack.base_url + "/todos/")
    # Signing in with the notes app's account
    page.get_by_label("Email").fill(account["email"])
    page.get_by_label("Password").fill(account["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector('#state[data-state="live"]', timeout=WAIT_MS)
    # A todo added here shows; one written elsewhere arrives live; a note does not matter
    page.get_by_label("New todo").fill("Buy milk")
    page.get_by_role("button", name="Add").click()
    status, _ = local_stack.call(
        "POST", "/collections/todos/docs", {"data": {"title": "Call Bob", "done": False}},
        token=account["token"],
    )  # fmt: skip
    assert status == 201
    local_stack.call(
        "POST", "/collections/notes/docs", {"data": {"text": "a note"}}, account["token"]
    )
    titles = page.locator("#list .text")
    page.wait_for_function("() => document.querySelectorAll('#list li').length === 2")
    assert sorted(titles.all_inner_texts()) == ["Buy milk", "Call Bob"]
    # Done: it leaves the "Open" list at once, and the server has it
    page.locator("#list li", has_text="Buy milk").get_by_role("checkbox").click()
    page.wait_for_function("() => document.querySelectorAll('#list li').length === 1")
    page.get_by_role("radio", name="All").check()
    page.wait_for_function("() => document.querySelectorAll('#list li').length === 2")
    page.screenshot(path=str(artifacts / "todos.png"))
    _, listed = local_stack.call("GET", "/collections/todos/docs", token=account["token"])
    assert sorted((d["data"]["title"], d["data"]["done"]) for d in listed["docs"]) == [
        ("Buy milk", True),
        ("Call Bob", False),
    ]
    assert errors == []
    context.close()


def test_the_page_works_under_a_strict_content_security_policy(browser, todos_stack):
    local_stack = todos_stack
    # The policy the API is to send with the page (issue 18): nothing inline, no eval, and
    # connections only to the API's origin and the WebSocket's.
    ws_origin = local_stack.ws_url.rstrip("/")
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {ws_origin}; worker-src 'self'; manifest-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )

    def with_policy(route: Any) -> None:
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": policy}
        route.fulfill(response=response, headers=headers)

    # A page fulfilled by a route has no address space, so Chromium's local network checks
    # would refuse its loopback WebSocket: this browser runs without them. Routes do not see
    # what a service worker serves, so the page comes from the network here.
    own = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"],
    )
    try:
        context = own.new_context(service_workers="block")
        config = json.dumps({"wsUrl": local_stack.ws_url})
        context.add_init_script(f"window.USERDB_CONFIG = {config};")
        for path in ("/", "/index.html", "/todos/"):
            context.route(local_stack.base_url + path, with_policy)
        context.add_init_script(
            "window.violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));"
        )
        account = local_stack.signup("Policy")
        page = open_page(context, local_stack, account)
        wait_live(page)
        if local_stack.serves_collections():
            add_note(page, "Written under the policy")
        page.locator("#account-name").click()
        page.keyboard.press("Escape")
        assert page.evaluate("window.violations") == []
        page.goto(local_stack.base_url + "/todos/")
        page.get_by_label("Email").fill(account["email"])
        page.get_by_label("Password").fill(account["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector('#state[data-state="live"]', timeout=WAIT_MS)
        assert page.evaluate("window.violations") == []
        assert page.page_errors == []
    finally:
        own.close()
