"""Write a wstest spec file and print how many test cases it selects.

Runs under the Autobahn TestSuite virtualenv's Python 2.7 (so it can ask the
TestSuite itself how its case patterns resolve); also valid Python 3.

    spec.py fuzzingclient --out spec.json --outdir DIR --url ws://H:P --agent NAME \
            --cases '1.*,2.*' --exclude '12.*,13.*'
    spec.py fuzzingserver --out spec.json --outdir DIR --url ws://H:P \
            --cases '1.*,2.*' --exclude '12.*,13.*'

Prints the number of cases the spec selects (as wstest resolves the patterns)
on stdout; exits 2 if that number is zero.
"""
from __future__ import print_function

import argparse
import json
import sys


def split(patterns):
    return [p.strip() for p in patterns.split(",") if p.strip()]


def count_cases(spec):
    from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories
    from autobahntestsuite.caseset import CaseSet

    case_set = CaseSet("fuzzing", "Case", Cases, CaseCategories, CaseSubCategories)
    # parseSpecCases passes patterns without '*' through verbatim, and wstest
    # would crash on an unknown id later: reject those here.
    unknown = [c for c in spec["cases"] if "*" not in c and c not in case_set.CasesIndices]
    if unknown:
        print("spec.py: unknown case id(s): %s" % ", ".join(unknown), file=sys.stderr)
        sys.exit(2)
    return len(case_set.parseSpecCases(spec))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["fuzzingclient", "fuzzingserver"])
    ap.add_argument("--out", required=True, help="spec file to write")
    ap.add_argument("--outdir", required=True, help="report directory for wstest")
    ap.add_argument("--url", required=True)
    ap.add_argument("--agent", help="agent name of the testee (fuzzingclient)")
    ap.add_argument("--cases", required=True, help="comma-separated case patterns")
    ap.add_argument("--exclude", default="", help="comma-separated case patterns")
    args = ap.parse_args()

    spec = {"outdir": args.outdir}
    if args.mode == "fuzzingclient":
        if not args.agent:
            ap.error("--agent is required for fuzzingclient")
        spec["servers"] = [{"agent": args.agent, "url": args.url}]
    else:
        spec["url"] = args.url
    spec["cases"] = split(args.cases)
    spec["exclude-cases"] = split(args.exclude)
    spec["exclude-agent-cases"] = {}

    with open(args.out, "w") as f:
        json.dump(spec, f, indent=2, sort_keys=True)
        f.write("\n")

    n = count_cases(spec)
    print(n)
    return 0 if n > 0 else 2


if __name__ == "__main__":
    sys.exit(main())
