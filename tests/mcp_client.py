"""`lore mcp` end to end, driven by a real MCP client: the official MCP Python SDK (`mcp`).

Run by tests/mcp.rs (`cargo test --release --test mcp`) with the interpreter that
scripts/python-env.sh prepares, against an index of tests/fixtures/mcp/:

    python tests/mcp_client.py --lore target/release/lore --index DIR [--tokens FILE] [--readers]

It starts `lore mcp` as a stdio server the way an MCP host does, initializes a session, lists the
tools (each must have a description an AI model can act on and an input schema with a token
`budget`), calls every tool and checks what comes back (citations that re-read from the fixture
files, budgets that are kept, an error case that is a tool error with a stable code, not a
crashed server), and checks the audit log. With --tokens it also starts a server for a token's
principal and one with a wrong token. With --readers it checks that a document whose front
matter names `readers: [priya]` is never shown to a server started `--as omar`, and is shown
to priya.

Exits 0 when every check holds; otherwise prints the failed check and exits 1.
"""

import argparse
import asyncio
import json
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, stdio_client

TOOLS = {"search", "context", "decisions", "who", "get"}
RESTRICTED_DOC = "board/2026-03-02-project-kestrel.md"

checks = 0


def check(condition, what):
    """Count a check; fail the run, saying what, when it does not hold."""
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


@asynccontextmanager
async def lore_mcp(args, *extra):
    """A session with `lore mcp --index INDEX EXTRA...` started as a stdio server."""
    params = StdioServerParameters(
        command=args.lore,
        args=["mcp", "--index", args.index, "--audit", args.audit, *extra],
        # The SDK passes a child only a few safe variables: name the ones lore reads.
        env={k: os.environ[k] for k in ("LORE_MODEL_DIR", "LORE_CACHE_DIR") if k in os.environ},
    )
    async with stdio_client(params) as (read, write):
        # A server that stops answering fails the test instead of hanging it.
        async with ClientSession(read, write, read_timeout_seconds=120) as session:
            init = await session.initialize()
            check(init.server_info.name == "lore", f"server name: {init.server_info}")
            check(init.capabilities.tools is not None, "the server offers tools")
            check("cite" in (init.instructions or ""), f"instructions: {init.instructions}")
            yield session


async def call(session, tool, arguments):
    """Call a tool that must succeed; its structured content."""
    result = await session.call_tool(tool, arguments)
    text = result.content[0].text if result.content else ""
    check(not result.is_error, f"{tool}({arguments}) failed: {text}")
    data = result.structured_content
    check(isinstance(data, dict), f"{tool} answers with structured content: {result}")
    check(json.loads(text) == data, f"{tool}: the text block is the structured content as JSON")
    return data


async def call_error(session, tool, arguments):
    """Call a tool that must fail with a tool error; its `error` object."""
    result = await session.call_tool(tool, arguments)
    check(result.is_error, f"{tool}({arguments}) should fail: {result}")
    error = (result.structured_content or {}).get("error")
    check(isinstance(error, dict), f"{tool}: a tool error carries {{error: {{code, message}}}}: {result}")
    check(error["message"], f"{tool}: the error has a message")
    check(error["code"] in result.content[0].text, f"{tool}: the text block names the code")
    return error


FIXTURE = Path("tests/fixtures/mcp")


def source_file(path):
    """The fixture file a cited path names. A server cites a file relative to the folder it was
    indexed from, led by that folder's name (`wiki/x.md` for an index of
    tests/fixtures/mcp/wiki, `mcp/wiki/x.md` for one of tests/fixtures/mcp), never by a path
    of its own file system."""
    check(not Path(path).is_absolute(), f"a cited path names no server path: {path}")
    for base in (FIXTURE, FIXTURE.parent):
        if (base / path).is_file():
            return base / path
    return FIXTURE / path


def reread(path, line_range):
    """The lines `line_range` (1-based, inclusive) of a cited file."""
    lines = source_file(path).read_text().splitlines()
    return "\n".join(lines[line_range[0] - 1 : line_range[1]])


def words(text):
    return {w.strip(".,:;()[]`*#-").lower() for w in text.split()} - {""}


async def tools_and_results(args):
    async with lore_mcp(args) as s:
        listed = await s.list_tools()
        by_name = {t.name: t for t in listed.tools}
        check(set(by_name) == TOOLS, f"tools: {sorted(by_name)}")
        for t in listed.tools:
            check(len(t.description or "") > 300, f"{t.name}: a description a model can act on")
            check("budget" in t.description, f"{t.name}: the description explains the budget")
            schema = t.input_schema
            check(schema.get("type") == "object", f"{t.name}: input schema is an object")
            props = schema.get("properties", {})
            check("budget" in props, f"{t.name}: takes a token budget")
            check(props["budget"].get("description"), f"{t.name}: budget is described")
            check(t.output_schema and t.output_schema.get("type") == "object", f"{t.name}: output schema")
            check(t.annotations and t.annotations.read_only_hint, f"{t.name}: read-only")
        check(by_name["search"].input_schema.get("required") == ["query"], "search requires query")
        check(by_name["get"].input_schema.get("required") == ["chunk_id"], "get requires chunk_id")
        check("cite" in by_name["search"].description.lower(), "search says how to cite")

        # search: cited hits whose lines re-read from the fixture.
        found = await call(s, "search", {"query": "how do I rerun the invoice export by hand?"})
        hits = found["hits"]
        check(hits, "search finds something")
        runbook = [h for h in hits[:3] if h["path"].endswith("wiki/billing-on-call-runbook.md")]
        check(runbook, f"the runbook is among the first hits: {[h['path'] for h in hits]}")
        top = runbook[0]
        check("billing-cli export invoices" in top["text"], f"the runbook hit: {top['text']}")
        check([h["rank"] for h in hits] == list(range(1, len(hits) + 1)), "hits are ranked")
        cited = reread(top["path"], top["line_range"])
        check(words(top["text"]) <= words(cited), f"the cited lines hold the hit: {cited!r}")
        check(found["tokens_used"] <= found["budget"] == 2000, "search keeps the default budget")

        # budget: a small budget returns fewer hits and stays within it.
        wide = await call(s, "search", {"query": "invoice export", "budget": 4000, "max_hits": 20})
        narrow = await call(s, "search", {"query": "invoice export", "budget": 250, "max_hits": 20})
        check(len(wide["hits"]) > len(narrow["hits"]), "a smaller budget returns fewer hits")
        check(narrow["tokens_used"] <= 250, f"search within budget: {narrow['tokens_used']}")
        check(narrow["num_left_out"] > 0, "search says how many hits did not fit")
        check([h["chunk_id"] for h in narrow["hits"]] == [h["chunk_id"] for h in wide["hits"]][: len(narrow["hits"])],
              "a smaller budget keeps the best hits")

        # context: a pack within budget whose citations re-read.
        pack = await call(s, "context", {"question": "When does the nightly invoice export run?", "budget": 400})
        check(pack["tokens_used"] <= 400, f"context within budget: {pack['tokens_used']}")
        check(pack["citations"], "context cites its passages")
        check("04:30" in pack["rendered"], f"context holds the answer: {pack['rendered']}")
        for c in pack["citations"]:
            check(f"[{c['number']}]" in pack["rendered"], f"citation [{c['number']}] is in the pack")
            check(source_file(c["path"]).is_file(), f"cited file exists: {c['path']}")
        small = await call(s, "context", {"question": "When does the nightly invoice export run?", "budget": 150})
        check(small["tokens_used"] <= 150, "context keeps a small budget")
        check(len(small["rendered"]) < len(pack["rendered"]), "a smaller budget packs less")

        # decisions: the decision in force, with the one it replaced as history.
        ledger = await call(s, "decisions", {"query": "invoice export time"})
        entries = ledger["entries"]
        check(entries, "decisions finds the invoice export decision")
        first = entries[0]
        check("04:30" in first["title"], f"the decision in force comes first: {first['title']}")
        check(first["status"].lower() == "accepted", f"status: {first['status']}")
        check(any("03:00" in h["title"] for h in first["history"]), f"history: {first['history']}")
        check("Omar Farouk" in first["people"], f"deciders: {first['people']}")
        check(reread(first["path"], first["line_range"]).startswith("# ADR-0002"),
              "the decision cites its record")
        old = await call(s, "decisions", {"query": "invoice export time", "as_of": "2025-10-01"})
        check(old["entries"] and "03:00" in old["entries"][0]["title"], "as_of turns the clock back")

        # who: people with evidence.
        people = await call(s, "who", {"topic": "invoice export"})
        names = [p["name"] for p in people["people"]]
        check("Omar Farouk" in names[:2], f"who knows about the export: {names}")
        evidence = people["people"][0]["evidence"]
        check(evidence and all(e["chunk_id"] and e["path"] for e in evidence), "who cites evidence")

        # get: a cited span by chunk id, with its neighbours.
        span = await call(s, "get", {"chunk_id": top["chunk_id"], "before": 1, "after": 1})
        check(span["chunk"]["chunk_id"] == top["chunk_id"], "get returns the chunk asked for")
        check(span["chunk"]["text"] == top["text"], "get returns the hit's text")
        check(span["before"] or span["after"], "get returns neighbours")
        for n in span["before"] + span["after"]:
            check(n["path"] == top["path"], "neighbours come from the same document")
        alone = await call(s, "get", {"chunk_id": top["chunk_id"], "before": 0, "after": 0})
        check(alone["before"] == [] and alone["after"] == [], "get without neighbours")
        check(alone["tokens_used"] < span["tokens_used"] <= span["budget"], "get counts its tokens")
        tight = await call(s, "get", {"chunk_id": top["chunk_id"], "budget": alone["tokens_used"]})
        check(tight["before"] == [] and tight["after"] == [], "no neighbour fits a budget the chunk fills")
        tiny = await call_error(s, "get", {"chunk_id": top["chunk_id"], "budget": 10})
        check(tiny["code"] == "invalid_request", f"a budget the chunk alone overruns: {tiny}")

        # errors: tool errors with stable codes, and the server goes on answering.
        missing = await call_error(s, "get", {"chunk_id": "wiki/no-such-page.md#0"})
        check(missing["code"] == "not_found", f"unknown chunk: {missing}")
        bad = await call_error(s, "search", {"query": "x", "budget": "lots"})
        check(bad["code"] == "invalid_request", f"a badly typed argument: {bad}")
        check("budget" in bad["message"], f"the message names the argument: {bad['message']}")
        unknown = await call_error(s, "search", {"text": "the argument is called query"})
        check(unknown["code"] == "invalid_request", f"a wrong argument name: {unknown}")
        date = await call_error(s, "decisions", {"query": "export", "as_of": "last week"})
        check(date["code"] == "invalid_request", f"a bad date: {date}")
        again = await call(s, "search", {"query": "Stripe webhooks"})
        check(again["hits"], "the server still answers after errors")
        return [h["chunk_id"] for h in hits]


def audit_lines(args):
    with open(args.audit) as f:
        return [json.loads(line) for line in f if line.strip()]


async def host_goes_away(args):
    """A host that closes the server's standard input before a session: a clean exit."""
    gone = await asyncio.create_subprocess_exec(
        args.lore, "mcp", "--index", args.index, "--no-audit",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(gone.communicate(), timeout=60)
    check(gone.returncode == 0, f"stdin closed before a session: exit {gone.returncode} {err.decode()}")
    check(out == b"", f"nothing on stdout but the protocol: {out!r}")
    check(b"lore mcp: serving" in err, f"the start line goes to stderr: {err.decode()}")


async def tokens_case(args):
    """A token's principal answers; a wrong token is refused before any session."""
    async with lore_mcp(args, "--token", "priya-0123456789abcdef", "--tokens", args.tokens) as s:
        found = await call(s, "search", {"query": "dunning emails"})
        check(found["hits"], "a server started with a token answers")
    check(audit_lines(args)[-1]["principal"] == "priya", "the audit log names the token's principal")
    refused = await asyncio.create_subprocess_exec(
        args.lore, "mcp", "--index", args.index, "--audit", args.audit,
        "--token", "wrong-0123456789abcdef", "--tokens", args.tokens,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await refused.communicate()
    check(refused.returncode == 1, f"a wrong token exits 1: {refused.returncode} {err.decode()}")
    check(out == b"", "nothing on stdout but the protocol")
    check(b"unauthorized" in err, f"a wrong token is named unauthorized: {err.decode()}")
    check(audit_lines(args)[-1]["outcome"] == "unauthorized", "the refusal is audited")


async def readers_case(args):
    """`readers: [priya]` keeps a document from omar, in every tool."""
    question = "Project Kestrel acquisition talks with Kestrel Analytics"
    async with lore_mcp(args, "--as", "priya") as s:
        found = await call(s, "search", {"query": question})
        mine = [h for h in found["hits"] if h["path"].endswith(RESTRICTED_DOC)]
        check(mine, f"priya reads the board page: {[h['path'] for h in found['hits']]}")
        kestrel = mine[0]["chunk_id"]
        check("diligence" in mine[0]["text"], "the words omar must not see are in priya's hit")
        await call(s, "get", {"chunk_id": kestrel})
    async with lore_mcp(args, "--as", "omar") as s:
        found = await call(s, "search", {"query": question, "max_hits": 100, "budget": 100000})
        check(all(not h["path"].endswith(RESTRICTED_DOC) for h in found["hits"]), "search hides it from omar")
        check(found["hits"], "omar still reads the rest")
        pack = await call(s, "context", {"question": question, "budget": 2000})
        check(all(not c["path"].endswith(RESTRICTED_DOC) for c in pack["citations"]), "context cites it not")
        for secret in ("term sheet", "diligence", "twelve people"):
            check(secret not in pack["rendered"], f"context hides the board page's words from omar: {secret}")
        people = await call(s, "who", {"topic": question})
        for p in people["people"]:
            check(all(not e["path"].endswith(RESTRICTED_DOC) for e in p["evidence"]), "who hides it")
        hidden = await call_error(s, "get", {"chunk_id": kestrel})
        check(hidden["code"] == "not_found", f"get of priya's page as omar: {hidden}")
    log = audit_lines(args)
    check(any(r["principal"] == "omar" and r["transport"] == "mcp" for r in log), "omar's calls are audited")


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lore", required=True, help="the lore binary")
    parser.add_argument("--index", required=True, help="an index of tests/fixtures/mcp/")
    parser.add_argument("--audit", required=True, help="the audit log the servers write")
    parser.add_argument("--tokens", help="a tokens file with priya-0123456789abcdef for priya")
    parser.add_argument("--readers", action="store_true", help="check readers: [priya]")
    args = parser.parse_args()

    span_ids = await tools_and_results(args)
    log = audit_lines(args)
    check(log and all(r["transport"] == "mcp" for r in log), "every call is audited as mcp")
    search = [r for r in log if r["operation"] == "search" and r["outcome"] == "ok"]
    check(search and search[0]["spans"] == span_ids, "the audit log lists the spans handed out")
    check(any(r["outcome"] == "not_found" for r in log), "errors are audited with their code")
    check(any(r["outcome"] == "invalid_request" and r["operation"] == "search" for r in log),
          "arguments that do not parse are audited")
    await host_goes_away(args)
    if args.tokens:
        await tokens_case(args)
    if args.readers:
        await readers_case(args)
    print(f"mcp_client: all {checks} checks passed")


def failed_check(error):
    """The failed check inside `error`, which the SDK's task groups may have wrapped."""
    if isinstance(error, AssertionError):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = failed_check(inner)
        if found:
            return found
    return None


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BaseException as error:  # noqa: BLE001 (a failed check may arrive inside a group)
        failed = failed_check(error)
        if failed is None:
            raise
        print(f"mcp_client: FAILED after {checks} checks: {failed}", file=sys.stderr)
        sys.exit(1)
