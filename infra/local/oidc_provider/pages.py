"""The provider's HTML: its login page (who signs in, which fault) and its error page."""

from __future__ import annotations

import html

from infra.local.oidc_provider.faults import FAULTS

Reply = tuple[int, object, list[tuple[str, str]]]


def page(status: int, content: str, raw: bool = False) -> Reply:
    """A page; `content` is escaped unless `raw`."""
    body = content if raw else f"<p>{html.escape(content)}</p>"
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<title>Local OIDC test provider</title></head>"
        "<body style='font-family:sans-serif;max-width:32em;margin:2em auto'>"
        f"{body}</body></html>"
    )
    return status, text, [("Content-Type", "text/html; charset=utf-8")]


def login_form(fields: dict[str, str]) -> str:
    """The login form, carrying the authorization request's fields through."""
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in fields.items()
    )
    faults = "".join(f"<option value='{f}'>{f}</option>" for f in FAULTS)
    return (
        "<h1>Local test provider</h1>"
        "<p>Choose who signs in. Nothing here is checked: this provider is for testing.</p>"
        f"<form method='post' action='/authorize'>{hidden}"
        "<p><label>Subject <input name='sub' value='alice' required></label></p>"
        "<p><label>Name <input name='name' value='Alice'></label></p>"
        "<p><label>Email <input name='email' value='alice@example.com'></label></p>"
        "<p><label><input type='checkbox' name='email_verified' value='true' checked>"
        " email verified</label></p>"
        "<p><label>Test fault <select name='fault'><option value=''>none</option>"
        f"{faults}</select></label></p>"
        "<p><button name='login' value='allow'>Sign in</button> "
        "<button name='login' value='deny'>Deny</button></p></form>"
    )
