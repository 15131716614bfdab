#!/usr/bin/env python3
"""Check Autobahn TestSuite reports (index.json) and summarise them.

Used by scripts/autobahn.sh, one --run per (runtime, role):

    check.py --markdown autobahn/reports/summary.md --min-cases 200 \\
        --run runtime=blocking role=server index=autobahn/reports/server-blocking/index.json \\
              agent=wsproto-blocking expect=301 seconds=42 \\
        --run runtime=blocking role=client index=... agent=... expect=301 error="testee exited 101"

or ad hoc on report files (all agents in each file are checked):

    check.py autobahn/reports/server-blocking/index.json

A case passes when its `behavior` is OK, NON-STRICT or INFORMATIONAL and its
`behaviorClose` is OK or INFORMATIONAL; UNIMPLEMENTED (either field) is allowed
only for 12.* and 13.* (permessage-deflate).  A run fails when any case fails,
when its report is missing or unreadable, when it holds fewer cases than
expected (`expect=`) or than --min-cases (a testee that crashed must not pass),
or when the runner recorded an error for it (`error=`).

Exit status: 0 when every run passes, 1 otherwise, 2 on usage errors.
"""

import argparse
import json
import os
import sys
from collections import OrderedDict

BEHAVIOR_OK = {"OK", "NON-STRICT", "INFORMATIONAL"}
CLOSE_OK = {"OK", "INFORMATIONAL"}
UNIMPLEMENTED_OK_PREFIXES = ("12.", "13.")
COLUMNS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]


def case_key(case_id):
    """Sort '1.1.10' after '1.1.9'."""
    return tuple(int(p) if p.isdigit() else p for p in case_id.split("."))


def classify(case_id, behavior, close):
    """Return (column, allowed) for one case."""
    unimpl_ok = case_id.startswith(UNIMPLEMENTED_OK_PREFIXES)
    if behavior == "UNIMPLEMENTED" or close == "UNIMPLEMENTED":
        return "UNIMPLEMENTED", unimpl_ok
    if behavior in BEHAVIOR_OK and close in CLOSE_OK:
        return behavior, True
    # FAILED, WRONG CODE, UNCLEAN, or anything unknown in either field.
    return "FAILED", False


class Run:
    def __init__(self, runtime, role, index, agent=None, expect=None, seconds=None, error=None):
        self.runtime = runtime
        self.role = role
        self.index = index
        self.agent = agent
        self.expect = expect
        self.seconds = seconds
        self.errors = [error] if error else []
        self.counts = OrderedDict((c, 0) for c in COLUMNS)
        self.total = 0
        self.notable = []  # (case_id, behavior, behaviorClose, allowed)
        self.ok = False

    @property
    def label(self):
        return "%s/%s" % (self.runtime, self.role)

    def check(self, min_cases):
        cases = self._load()
        if cases is not None:
            for case_id in sorted(cases, key=case_key):
                res = cases[case_id]
                behavior = str(res.get("behavior"))
                close = str(res.get("behaviorClose"))
                column, allowed = classify(case_id, behavior, close)
                self.counts[column] += 1
                self.total += 1
                if not allowed:
                    self.errors.append("case %s: behavior %s, close %s" % (case_id, behavior, close))
                if behavior != "OK" or close != "OK":
                    self.notable.append((case_id, behavior, close, allowed))
            floor = max(min_cases, self.expect or 0)
            if self.total < floor:
                self.errors.append(
                    "only %d case(s) in the report, expected %s%d (testee crashed or hung?)"
                    % (self.total, "" if self.expect else "at least ", floor)
                )
            elif self.expect is not None and self.total != self.expect:
                self.errors.append("%d case(s) in the report, expected %d" % (self.total, self.expect))
        self.ok = not self.errors
        return self.ok

    def _load(self):
        if not self.index or not os.path.isfile(self.index):
            self.errors.append("no report at %s" % self.index)
            return None
        try:
            with open(self.index) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            self.errors.append("unreadable report %s: %s" % (self.index, e))
            return None
        if not isinstance(data, dict):
            self.errors.append("unexpected report format in %s" % self.index)
            return None
        if self.agent is None:
            # Ad-hoc mode: merge all agents (prefixing ids if there are several).
            if len(data) == 1:
                self.agent, cases = next(iter(data.items()))
                return cases
            merged = {}
            for agent, cases in data.items():
                for cid, res in cases.items():
                    merged["%s:%s" % (agent, cid)] = res
            return merged
        if self.agent not in data:
            self.errors.append(
                "agent %r not in %s (agents: %s)" % (self.agent, self.index, ", ".join(sorted(data)) or "none")
            )
            return None
        return data[self.agent]

    @property
    def result(self):
        return "PASS" if self.ok else "FAIL"


def parse_run(fields):
    kv = {}
    for f in fields:
        if "=" not in f:
            raise ValueError("--run field %r is not key=value" % f)
        k, v = f.split("=", 1)
        kv[k] = v
    unknown = set(kv) - {"runtime", "role", "index", "agent", "expect", "seconds", "error"}
    if unknown:
        raise ValueError("unknown --run key(s): %s" % ", ".join(sorted(unknown)))
    for k in ("runtime", "role", "index"):
        if k not in kv:
            raise ValueError("--run needs %s=" % k)
    return Run(
        runtime=kv["runtime"],
        role=kv["role"],
        index=kv["index"],
        agent=kv.get("agent") or None,
        expect=int(kv["expect"]) if kv.get("expect") else None,
        seconds=float(kv["seconds"]) if kv.get("seconds") else None,
        error=kv.get("error") or None,
    )


def fmt_seconds(s):
    if s is None:
        return "-"
    s = int(round(s))
    return "%dm%02ds" % (s // 60, s % 60) if s >= 60 else "%ds" % s


def text_report(runs):
    header = ["runtime", "role", "cases"] + COLUMNS + ["time", "result"]
    rows = [
        [r.runtime, r.role, str(r.total)] + [str(r.counts[c]) for c in COLUMNS] + [fmt_seconds(r.seconds), r.result]
        for r in runs
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    out = []
    line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    out.append(line(header))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in rows)
    for r in runs:
        if r.notable:
            out.append("")
            out.append("%s: non-OK cases (behavior / close):" % r.label)
            for cid, b, c, allowed in r.notable:
                out.append("  %-10s %s / %s%s" % (cid, b, c, "" if allowed else "   <-- not allowed"))
        if r.errors:
            out.append("")
            out.append("%s: FAILED:" % r.label)
            for e in r.errors[:50]:
                out.append("  " + e)
            if len(r.errors) > 50:
                out.append("  ... and %d more" % (len(r.errors) - 50))
    return "\n".join(out)


def markdown_report(runs, title=None, preamble=None):
    out = []
    if title:
        out += ["## %s" % title, ""]
    if preamble:
        out += [preamble, ""]
    out.append("| Runtime | Role | Cases | " + " | ".join(COLUMNS) + " | Time | Result |")
    out.append("|---|---|--:|" + "--:|" * len(COLUMNS) + "--:|---|")
    for r in runs:
        out.append(
            "| %s | %s | %d | %s | %s | %s |"
            % (
                r.runtime,
                r.role,
                r.total,
                " | ".join(str(r.counts[c]) for c in COLUMNS),
                fmt_seconds(r.seconds),
                "pass" if r.ok else "**FAIL**",
            )
        )
    details = [r for r in runs if r.notable or r.errors]
    if details:
        out += ["", "Cases not fully OK (behavior / close):", ""]
        for r in details:
            items = ["`%s` %s / %s%s" % (cid, b, c, "" if ok else " (**not allowed**)") for cid, b, c, ok in r.notable]
            extra = [e for e in r.errors if not e.startswith("case ")]
            items += ["**%s**" % e for e in extra]
            out.append("- %s: %s" % (r.label, "; ".join(items) if items else "-"))
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("reports", nargs="*", help="index.json files to check ad hoc (every agent in each)")
    ap.add_argument("--run", nargs="+", action="append", default=[], metavar="KEY=VALUE",
                    help="one run: runtime= role= index= [agent=] [expect=] [seconds=] [error=]")
    ap.add_argument("--min-cases", type=int, default=1, help="fail a run with fewer cases than this (default 1)")
    ap.add_argument("--markdown", help="also write the summary as Markdown to this file")
    ap.add_argument("--title", default="Autobahn TestSuite results", help="Markdown heading")
    ap.add_argument("--preamble", help="Markdown text between heading and table")
    args = ap.parse_args(argv)

    runs = []
    try:
        runs += [parse_run(fields) for fields in args.run]
    except ValueError as e:
        ap.error(str(e))
    for path in args.reports:
        parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
        runtime, _, role = parent.partition("-")
        if role:
            runtime, role = role, runtime  # "server-blocking" -> runtime blocking, role server
        runs.append(Run(runtime=runtime or parent, role=role or "-", index=path))
    if not runs:
        ap.error("nothing to check: give index.json files or --run")

    for r in runs:
        r.check(args.min_cases)

    print(text_report(runs))
    if args.markdown:
        d = os.path.dirname(args.markdown)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(args.markdown, "w") as f:
            f.write(markdown_report(runs, args.title, args.preamble))
        print("\nsummary written to %s" % args.markdown)

    failed = [r.label for r in runs if not r.ok]
    print("\nAUTOBAHN: %s" % ("FAIL (%s)" % ", ".join(failed) if failed else "PASS (%d run(s))" % len(runs)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
