"""Peer extractors' test expectations, scored against allsource per IOC type.

Two sources of cases, each a text with the observables an extractor is expected to find:

1. **ioc-finder's own tests, read from its PyPI sdist** (``ioc_finder-9.4.1.tar.gz``, fetched
   once by the bench-setup step below; nothing of it is committed). The parametrised cases in
   ``tests/find_iocs_cases/*.py`` are imported from a temporary copy (they are data: text,
   expected result, options); the assert-style tests in ``tests/test_*.py`` are read with
   :mod:`ast` without running them: in each test function, ``s = "…"`` then
   ``iocs = find_iocs(s)`` and ``assert "v" in iocs["key"]`` / ``assert iocs["key"] == [...]``
   give positive expectations, ``assert "v" not in iocs["key"]`` a negative one (only for calls
   with the default options). Expressions the reader cannot evaluate (``"a" * 32`` is fine,
   a fixture is not) are skipped and counted.
2. **Forms written for allsource** (``data/ioc_forms.jsonl``): one line per way analysts write
   an observable (defangs, spacing, casing, placeholders …), worded by us after studying the
   test suites of ioc-finder, iocextract, iocsearcher and iocparser (none of which ship their
   tests in their PyPI distributions except ioc-finder). ``iocs`` are expected, ``absent`` must
   not be reported.

Matching, per expected ``(type, value)``: both sides go through our value types (``clean``), a
scheme-less URL is compared as ``http://…``. Met when allsource reports it; **met by
convention** when allsource reports the container that holds it (the host of a URL or the
domain of an e-mail it reports, the address of a CIDR): our labels do not repeat a host as its
own observable. **Rejected by type** when our value type refuses the expected value itself
(``aaaa…`` placeholder hashes, ``…_pdf.zip`` as a domain): a decision, listed in the report.
A negative expectation is violated when allsource reports that value with that type.

Bench setup (once, needs PyPI): ``pip download --no-deps --no-binary :all: ioc-finder==9.4.1
-d benchmarks/.peer`` — the benchmark looks there (or at ``--peer-sdist``) and says so if the
file is missing.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from allsource.model.types import REGISTRY, clean

HERE = Path(__file__).resolve().parent
FORMS = HERE / "data" / "ioc_forms.jsonl"
PEER_DIR = HERE / ".peer"
IOC_FINDER_SDIST = "ioc_finder-9.4.1.tar.gz"
Pair = tuple[str, str]
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, SyntaxError)

# ioc-finder result keys → our value types. Types we do not have (ssdeep, MAC, user agents,
# socket addresses, XMPP, monero, Google ids, TLP labels, file paths) are left out.
KEYS = {
    "urls": "url", "email_addresses": "email", "domains": "domain", "ipv4s": "ipv4",
    "ipv6s": "ipv6", "ipv4_cidrs": "cidr", "ipv6_cidrs": "cidr", "md5s": "md5", "sha1s": "sha1",
    "sha256s": "sha256",
    "sha512s": "sha512", "cves": "cve", "asns": "asn", "bitcoin_addresses": "btc",
    "registry_key_paths": "regkey", "imphashes": "imphash", "authentihashes": "authentihash",
    "attack_techniques": "attack-id", "attack_tactics": "attack-id",
    "attack_mitigations": "attack-id",
}


@dataclass
class Case:
    source: str
    text: str
    expected: set[Pair] = field(default_factory=set)
    absent: set[Pair] = field(default_factory=set)
    exact: set[str] = field(default_factory=set)  # types whose expected list is complete
    complete_urls: set[str] = field(default_factory=set)  # ioc-finder's untrimmed URLs


# --- reading the cases ------------------------------------------------------------------------
def _pairs(result: dict[str, Any]) -> set[Pair]:
    out: set[Pair] = set()
    for key, values in result.items():
        kind = KEYS.get(key)
        if kind is None:
            continue
        if isinstance(values, dict):  # ATT&CK ids by platform
            values = [v for vs in values.values() for v in vs]
        out |= {(kind, str(v)) for v in values}
    return out


def parametrised_cases(tests: Path) -> list[Case]:
    """``find_iocs_cases``: ``param(text, expected, options, id=…)`` (pytest's ParameterSet)."""
    sys.path.insert(0, str(tests.parent))
    try:
        module = importlib.import_module("tests.find_iocs_cases")
    finally:
        sys.path.remove(str(tests.parent))
    cases = []
    for p in module.ALL_TESTS:
        text, expected, options = p.values
        if "included_ioc_types" in options:
            continue  # a feature test of its type switch, not of extraction
        exact = set(KEYS.values()) if not options else set()
        cases.append(Case(f"find_iocs_cases:{p.id}", text, _pairs(expected), exact=exact,
                          complete_urls=set(expected.get("urls_complete", []))))
    return cases


class _Reader(ast.NodeVisitor):
    """Collects ``find_iocs`` expectations from one test module without running it."""

    def __init__(self, module_env: dict[str, Any]) -> None:
        self.env = dict(module_env)
        self.cases: dict[tuple[str, str], Case] = {}
        self.skipped = 0

    def value(self, node: ast.AST, env: dict[str, Any]) -> Any:
        """A literal, a name bound to one, ``str * int``, ``"…".format(literals)`` or an
        f-string of those; anything else raises ``ValueError``."""
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add)):
            a, b = self.value(node.left, env), self.value(node.right, env)
            return a * b if isinstance(node.op, ast.Mult) else a + b
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.FormattedValue):
                    parts.append(str(self.value(v.value, env)))
                else:
                    parts.append(str(self.value(v, env)))
            return "".join(parts)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format" and not node.keywords):
            return self.value(node.func.value, env).format(
                *(self.value(a, env) for a in node.args))
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [self.value(e, env) for e in node.elts]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("sorted", "set", "list") and len(node.args) == 1:
            return self.value(node.args[0], env)
        return ast.literal_eval(node)

    def call(self, node: ast.AST, env: dict[str, Any]) -> tuple[str, bool] | None:
        """``find_iocs(text, **options)`` → (text, default options?)."""
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "find_iocs" and node.args):
            try:
                return str(self.value(node.args[0], env)), not node.keywords
            except _UNREADABLE:
                self.skipped += 1
        return None

    def visit_Assign(self, node: ast.Assign) -> None:  # module level constants
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(*_UNREADABLE):
                self.env[node.targets[0].id] = self.value(node.value, self.env)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        env = dict(self.env)
        results: dict[str, tuple[str, bool, str | None]] = {}  # var → (text, default, key)
        for stmt in ast.walk(node):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                    isinstance(stmt.targets[0], ast.Name):
                name = stmt.targets[0].id
                found = self.call(stmt.value, env)
                key = None
                if found is None and isinstance(stmt.value, ast.Subscript):
                    found = self.call(stmt.value.value, env)
                    key = _const(stmt.value.slice)
                if found is not None:
                    results[name] = (*found, key)
                    continue
                try:
                    env[name] = self.value(stmt.value, env)
                except _UNREADABLE:
                    env.pop(name, None)
            elif isinstance(stmt, ast.Assert):
                self.expectation(stmt.test, env, results, node.name)

    def target(self, node: ast.AST, env: dict[str, Any],
               results: dict[str, tuple[str, bool, str | None]]) -> tuple[str, bool, str] | None:
        """``iocs["key"]``, ``iocs["key"][0]``, ``find_iocs(…)["key"]``, ``sorted(…)`` or a
        variable bound to ``find_iocs(…)["key"]``."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("sorted", "set", "list") and len(node.args) == 1:
            node = node.args[0]
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript) and \
                isinstance(_const(node.slice), int):
            node = node.value
        if isinstance(node, ast.Name) and node.id in results and results[node.id][2]:
            text, default, key = results[node.id]
            return (text, default, key) if key else None
        if isinstance(node, ast.Subscript):
            key = _const(node.slice)
            if not isinstance(key, str):
                return None
            inner = node.value
            if isinstance(inner, ast.Name) and inner.id in results:
                text, default, _ = results[inner.id]
                return text, default, key
            found = self.call(inner, env)
            if found is not None:
                return (*found, key)
        return None

    def expectation(self, test: ast.AST, env: dict[str, Any],
                    results: dict[str, tuple[str, bool, str | None]], where: str) -> None:
        if not isinstance(test, ast.Compare) or len(test.ops) != 1:
            return
        op, right = test.ops[0], test.comparators[0]
        if isinstance(op, (ast.In, ast.NotIn)):
            tgt, item = self.target(right, env, results), test.left
        elif isinstance(op, ast.Eq):
            tgt, item = self.target(test.left, env, results), right
        else:
            return
        if tgt is None:
            return
        text, default, key = tgt
        kind = KEYS.get(key)
        if kind is None and key != "urls_complete":
            return
        try:
            got = self.value(item, env)
        except _UNREADABLE:
            self.skipped += 1
            return
        values = got if isinstance(got, list) else [got]
        if isinstance(op, ast.Eq) and isinstance(_const(getattr(test.left, "slice", None)), int):
            values = [got]
        case = self.cases.setdefault((where, text), Case(f"{where}", text))
        if kind is None:  # "urls_complete": what a URL may also be, untrimmed
            case.complete_urls.update(v for v in (got if isinstance(got, list) else [got])
                                      if isinstance(v, str))
            return
        if isinstance(op, ast.Eq) and default and isinstance(got, list):
            case.exact.add(kind)
        for v in values:
            if not isinstance(v, str):
                continue
            if isinstance(op, ast.NotIn):
                if default:
                    case.absent.add((kind, v))
            else:
                case.expected.add((kind, v))


def _const(node: ast.AST | None) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def assert_cases(tests: Path) -> tuple[list[Case], int]:
    cases: list[Case] = []
    skipped = 0
    for path in sorted(tests.glob("test_*.py")):
        reader = _Reader({})
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign):
                reader.visit_Assign(stmt)
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef):
                reader.visit_FunctionDef(stmt)
        for case in reader.cases.values():
            case.source = f"{path.name}:{case.source}"
            if case.expected or case.absent or case.exact:
                cases.append(case)
        skipped += reader.skipped
    return cases, skipped


def ioc_finder_cases(sdist: Path) -> tuple[list[Case], int]:
    """Every case of ioc-finder's test suite, read from its sdist."""
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if "/tests/" in m.name and m.isfile()]
        tar.extractall(tmp, members=members, filter="data")
        tests = next(Path(tmp).glob("*/tests"))
        param = parametrised_cases(tests)
        asserted, skipped = assert_cases(tests)
        for name in [m for m in sys.modules if m == "tests" or m.startswith("tests.")]:
            del sys.modules[name]
    return param + asserted, skipped


def form_cases(path: Path = FORMS) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        cases.append(Case(f"forms:{row['form']}", row["text"],
                          {(i["type"], i["value"]) for i in row.get("iocs", [])},
                          {(i["type"], i["value"]) for i in row.get("absent", [])}))
    return cases


# --- scoring ----------------------------------------------------------------------------------
def _norm(kind: str, value: str) -> str | None:
    """Our value type's form; a scheme-less URL as ``http://…``; e-mails compared without
    case (ioc-finder lower-cases the local part, our type keeps it as written)."""
    if kind == "url" and "://" not in value:
        value = "http://" + value
    v = clean(kind, value)
    return v.lower() if v is not None and kind == "email" else v


def _containers(found: set[Pair]) -> set[Pair]:
    """What reported containers hold: URL hosts, e-mail domains, CIDR addresses."""
    held: set[Pair] = set()
    for kind, value in found:
        host = None
        if kind == "url":
            host = urlsplit(value).hostname
        elif kind == "email":
            host = value.rpartition("@")[2]
        elif kind == "cidr":
            held.add(("ipv6" if ":" in value else "ipv4", value.split("/")[0]))
            continue
        if host:
            for k in ("domain", "ipv4", "ipv6"):
                c = clean(k, host)
                if c:
                    held.add((k, c))
    return held


def _schemeless(url: str) -> str:
    return url.split("://", 1)[-1]


def score(cases: Iterable[Case], tool: Callable[[str], set[Pair]]) -> dict[str, Any]:
    """Per type: expected, met, met by convention, rejected by type, missed (with examples),
    negatives checked and violated."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    missed: dict[str, list[str]] = defaultdict(list)
    rejected: dict[str, list[str]] = defaultdict(list)
    violated: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        got = {(k, v.lower() if k == "email" else v) for k, v in tool(case.text)}
        held = _containers(got)
        our_urls = {_schemeless(v) for k, v in got if k == "url"}
        complete = {_schemeless(u) for u in (_norm("url", c) for c in case.complete_urls) if u}
        ok: set[Pair] = set()  # what we report that the case allows
        for kind, raw in sorted(case.expected):
            if kind not in REGISTRY:
                continue  # a type allsource does not have
            c = per[kind]
            c["expected"] += 1
            value = _norm(kind, raw)
            if value is None:
                c["rejected"] += 1
                rejected[kind].append(f"{case.source}: {raw!r}")
                continue
            ok.add((kind, value))
            if kind == "url":  # scheme-less, or reported untrimmed as ioc-finder's "complete"
                want = _schemeless(value)
                hits = {u for u in our_urls if u == want or (complete and (
                    (u in complete and want in u)
                    or (u.startswith(want) and any(c.startswith(u) for c in complete))))}
                ok |= {(k, v) for k, v in got if k == "url" and _schemeless(v) in hits}
                if hits:
                    c["met"] += 1
                    continue
            if (kind, value) in got:
                c["met"] += 1
            elif (kind, value) in held:
                c["convention"] += 1
            elif kind in ("domain", "ipv4") and any(value in u.lower() for u in our_urls):
                c["inside"] += 1
            else:
                c["missed"] += 1
                missed[kind].append(f"{case.source}: {raw!r}")
        absent = {(k, _norm(k, v) or v) for k, v in case.absent if k in REGISTRY}
        for kind in case.exact:  # a complete list: anything else of that type is wrong
            absent |= {(k, v) for k, v in got if k == kind and (k, v) not in ok
                       and not (k == "cidr" and ":" in v and "ipv6_cidrs" not in KEYS)}
        for kind, value in sorted(absent):
            c = per[kind]
            c["negatives"] += 1
            if (kind, value) in got:
                c["violated"] += 1
                violated[kind].append(f"{case.source}: {value!r}")
    return {"per_type": {k: dict(v) for k, v in sorted(per.items())},
            "missed": dict(missed), "rejected": dict(rejected), "violated": dict(violated)}


def table(result: dict[str, Any]) -> str:
    lines = ["| type | expected | met | host of a reported container | inside a reported URL "
             "| rejected by our type | missed | share met (strict) | share met with containers "
             "| same, of what our type accepts | negatives violated |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    tot: Counter[str] = Counter()
    for kind, c in result["per_type"].items():
        tot.update(c)
        lines.append(_row(kind, Counter(c)))
    lines.append(_row("**all**", tot))
    return "\n".join(lines)


def _row(kind: str, c: Counter[str]) -> str:
    """Shares over every expectation, rejected ones included (they count as not met)."""
    n = c["expected"]
    strict = f"{c['met'] / n:.0%}" if n else "–"
    ok = c["met"] + c["convention"] + c["inside"]
    loose = f"{ok / n:.0%}" if n else "–"
    judged = n - c["rejected"]
    accepted = f"{ok / judged:.0%}" if judged else "–"
    neg = f"{c['violated']} / {c['negatives']}" if c["negatives"] else "–"
    return (f"| {kind} | {n} | {c['met']} | {c['convention']} | {c['inside']} | "
            f"{c['rejected']} | {c['missed']} | {strict} | {loose} | {accepted} | {neg} |")


def compare(results: dict[str, dict[str, Any]]) -> str:
    """One row per type: each tool's share met (containers counted) and negatives violated."""
    names = list(results)
    kinds = sorted({k for r in results.values() for k in r["per_type"]})
    lines = ["| type | expected | " + " | ".join(names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    for kind in kinds:
        cells = []
        n = 0
        for name in names:
            c = Counter(results[name]["per_type"].get(kind, {}))
            n = c["expected"] or n
            ok = c["met"] + c["convention"] + c["inside"]
            share = f"{ok / c['expected']:.0%}" if c["expected"] else "–"
            neg = f"; {c['violated']}/{c['negatives']}" if c["negatives"] else ""
            cells.append(share + neg)
        lines.append(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def find_sdist(path: Path | None) -> Path | None:
    candidates = [path] if path else [PEER_DIR / IOC_FINDER_SDIST]
    return next((p for p in candidates if p and p.is_file()), None)
