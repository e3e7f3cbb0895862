"""`userdb docs ...`: the documents of any collection the app declares."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from userdb.cli_output import EXIT_OK, UsageError, doc_row, print_json, terminal_width
from userdb.client import Client


def _json_object(raw: str, what: str) -> dict[str, Any]:
    text = sys.stdin.read() if raw == "-" else raw
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{what} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise UsageError(f'{what} must be a JSON object, e.g. \'{{"title": "milk"}}\'')
    return value


def cmd_docs_ls(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb docs ls COLLECTION [--where JSON]`: the documents, by id."""
    where = _json_object(args.where, "--where") if args.where else None
    collection = client.collection(args.collection)
    if args.cached:
        docs = [d for d in collection.cached() if where is None or _matches(d.data, where)]
    else:
        docs = collection.all(where)
    if args.json:
        print_json([doc.to_json() for doc in docs], out)
    elif not docs:
        out.write(f"No documents in {args.collection}.\n")
    else:
        width = terminal_width(out)
        for doc in docs:
            out.write(doc_row(doc, width) + "\n")
    return EXIT_OK


def _matches(data: dict[str, Any], where: dict[str, Any]) -> bool:
    """Equality as JSON text (so `true` never equals `1`), field by top-level field."""

    def same(a: Any, b: Any) -> bool:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)

    return all(name in data and same(data[name], value) for name, value in where.items())


def cmd_docs_get(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb docs get COLLECTION ID`: one document, as JSON."""
    doc = client.collection(args.collection).get(args.id)
    out.write(json.dumps(doc.to_json(), ensure_ascii=False, indent=None if args.json else 2))
    out.write("\n")
    return EXIT_OK


def cmd_docs_put(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb docs put COLLECTION [ID] JSON|-`: create (no ID) or replace a document."""
    if len(args.values) not in (1, 2):
        raise UsageError("give the document as JSON, optionally after its id")
    *doc_id, raw = args.values
    data = _json_object(raw, "the document")
    collection = client.collection(args.collection)
    if doc_id:
        doc = collection.put(doc_id[0], data, if_match=args.version)
    else:
        if args.version is not None:
            raise UsageError("--version needs the document's id")
        doc = collection.create(data)
    return _saved(doc.to_json(), args, out)


def cmd_docs_patch(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb docs patch COLLECTION ID JSON|-`: change some fields (JSON Merge Patch)."""
    patch = _json_object(args.patch, "the patch")
    doc = client.collection(args.collection).patch(args.id, patch, if_match=args.version)
    return _saved(doc.to_json(), args, out)


def _saved(doc: dict[str, Any], args: argparse.Namespace, out: TextIO) -> int:
    if args.json:
        print_json(doc, out)
    else:
        out.write(f"{doc['id']} saved (version {doc['version']})\n")
    return EXIT_OK


def cmd_docs_rm(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb docs rm COLLECTION ID...`: delete documents."""
    collection = client.collection(args.collection)
    for doc_id in args.ids:
        collection.delete(doc_id, if_match=args.version)
        if not args.json:
            out.write(f"{doc_id} deleted\n")
    if args.json:
        print_json({"deleted": args.ids}, out)
    return EXIT_OK


def add_docs_commands(commands: Any) -> None:
    """Add `docs ls|get|put|patch|rm` to the command line's subcommands."""
    docs = commands.add_parser("docs", help="documents of any collection the app declares")
    actions = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    ls = actions.add_parser("ls", help="list a collection's documents by id")
    ls.add_argument("collection")
    ls.add_argument("--where", metavar="JSON", help="top-level fields to match: '{\"done\":false}'")
    ls.add_argument("--cached", action="store_true", help="as last synced, without the server")
    ls.set_defaults(run=cmd_docs_ls)
    get = actions.add_parser("get", help="one document, as JSON")
    get.add_argument("collection")
    get.add_argument("id")
    get.set_defaults(run=cmd_docs_get)
    put = actions.add_parser(
        "put", help="create a document (JSON), or replace the one with ID (ID JSON); `-`: stdin"
    )
    put.add_argument("collection")
    put.add_argument("values", nargs="+", metavar="[ID] JSON")
    put.add_argument("--version", type=int, help="only if the document is at this version")
    put.set_defaults(run=cmd_docs_put)
    patch = actions.add_parser("patch", help="change some fields (JSON Merge Patch; null removes)")
    patch.add_argument("collection")
    patch.add_argument("id")
    patch.add_argument("patch", metavar="JSON")
    patch.add_argument("--version", type=int, help="only if the document is at this version")
    patch.set_defaults(run=cmd_docs_patch)
    rm = actions.add_parser("rm", help="delete documents")
    rm.add_argument("collection")
    rm.add_argument("ids", nargs="+", metavar="id")
    rm.add_argument("--version", type=int, help="only if the document is at this version")
    rm.set_defaults(run=cmd_docs_rm)
