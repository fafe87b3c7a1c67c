#!/usr/bin/env python3
"""Metric names queried by the Grafana dashboard and the Prometheus rules, and checks on them.

Subcommands:

  names --dashboard FILE --rules FILE
      Print every metric name the dashboard and the rules query, one per line, followed by
      where it is used. Names recorded by the rules file itself are left out.

  check --dashboard FILE --rules FILE --scrape FILE
      Verify that each of those names has at least one sample in FILE, a scrape in the
      Prometheus text exposition format. Exit 1 listing the missing names.

  dashboard-rules --dashboard FILE
      Print a rules file (JSON, which is also YAML) with one recording rule per dashboard
      query, Grafana variables replaced by sample values, so that
      `promtool check rules` can verify that every query parses.

Only the Python standard library is needed; PyYAML is used for the rules file when present,
otherwise a small reader for the `record:` and `expr:` keys of a rules file.
"""

import argparse
import json
import re
import sys

# Aggregation operators, set operators and modifiers: words that look like metric names.
KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "atan2", "sum", "min", "max", "avg", "group", "stddev", "stdvar",
    "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    "inf", "nan",
}

GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)")
NAME_MATCHER = re.compile(r"""__name__\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
GRAFANA_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::\w+)?\]\]")


def blank_strings_and_comments(expr):
    """Replace string literals with "" and drop # comments, keeping everything else."""
    out = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < len(expr) and expr[j] != c:
                j += 2 if (expr[j] == "\\" and c != "`") else 1
            out.append('""')
            i = j + 1
        elif c == "#":
            while i < len(expr) and expr[i] != "\n":
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def metric_names(expr):
    """The metric names an expression selects (recording rule names included)."""
    names = {m.group(1) or m.group(2) for m in NAME_MATCHER.finditer(expr)}
    text = blank_strings_and_comments(expr)
    text = re.sub(r"\{[^{}]*\}", "{}", text)  # label matchers
    text = re.sub(r"\[[^\[\]]*\]", "", text)  # range and subquery durations
    text = GROUPING.sub(r"\1", text)  # label lists: by (job, uri), group_left (), ...
    for match in IDENTIFIER.finditer(text):
        word = match.group(1)
        rest = text[match.end():].lstrip()
        if rest.startswith("("):
            continue  # a function or an aggregation operator
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def grafana_to_promql(expr, variables):
    """Replace Grafana's variables: intervals by 5m, the dashboard's own by a sample value."""

    def replace(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name in ("__rate_interval", "__interval", "__range", "__range_s", "__range_ms",
                    "__interval_ms", "__rate_interval_ms"):
            return "5m" if not name.endswith(("_s", "_ms")) else "300"
        if name in variables:
            return "sample"
        return match.group(0)  # not a variable, e.g. "$1" in label_replace

    return GRAFANA_VARIABLE.sub(replace, expr)


def variable_query_expr(query):
    """The PromQL inside a Grafana Prometheus variable query, or None."""
    if isinstance(query, dict):
        query = query.get("query", "")
    if not isinstance(query, str):
        return None
    query = query.strip()
    match = re.fullmatch(r"label_values\((.*),\s*\w+\s*\)", query, re.S)
    if match:
        return match.group(1)
    match = re.fullmatch(r"query_result\((.*)\)", query, re.S)
    if match:
        return match.group(1)
    return None  # label_names(), metrics(), label_values(label): no metric queried


def dashboard_queries(path):
    """(where, PromQL) for every query of the dashboard, Grafana variables replaced."""
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    templating = dashboard.get("templating", {}).get("list", [])
    variables = {v.get("name") for v in templating}
    queries = []

    def walk(node, where):
        if isinstance(node, dict):
            title = node.get("title")
            if "panels" in node or "targets" in node:
                where = f"panel {title!r}" if title else where
            for key, value in node.items():
                if key == "expr" and isinstance(value, str) and value.strip():
                    ref = node.get("refId", "?")
                    queries.append((f"dashboard {where} query {ref}", value))
                elif key != "templating":
                    walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(dashboard.get("panels", []), "dashboard")
    for variable in templating:
        if variable.get("type") == "query":
            expr = variable_query_expr(variable.get("query")) or variable_query_expr(variable.get("definition"))
            if expr:
                queries.append((f"dashboard variable ${variable.get('name')}", expr))
    return [(where, grafana_to_promql(expr, variables)) for where, expr in queries]


def load_rules(path):
    """(recorded names, [(where, expr)]) from a Prometheus rules file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml  # noqa: PLC0415 - optional
    except ImportError:
        return read_rules_without_yaml(text)
    recorded, exprs = set(), []
    for group in (yaml.safe_load(text) or {}).get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("record") or rule.get("alert")
            if rule.get("record"):
                recorded.add(rule["record"])
            exprs.append((f"rules {name}", str(rule.get("expr", ""))))
    return recorded, exprs


def read_rules_without_yaml(text):
    """Reads `- record:`/`- alert:` names and `expr:` values, plain, quoted or block scalars."""
    recorded, exprs = set(), []
    lines = text.splitlines()
    name = "?"
    i = 0
    while i < len(lines):
        line = lines[i]
        match = re.match(r"^(\s*)(?:-\s+)?(record|alert|expr):\s*(.*?)\s*$", line)
        i += 1
        if not match:
            continue
        indent, key, value = len(match.group(1)), match.group(2), match.group(3)
        if value and value[0] in "|>":
            block = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i])
                i += 1
            value = "\n".join(block)
        elif value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        elif value.startswith('"') and value.endswith('"'):
            value = json.loads(value)
        elif " #" in value:
            value = value.split(" #", 1)[0]
        if key == "record":
            name = value
            recorded.add(value)
        elif key == "alert":
            name = value
        else:
            exprs.append((f"rules {name}", value))
    return recorded, exprs


def scrape_names(path):
    """Metric names that have at least one sample in a text exposition."""
    names = set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            match = re.match(r"^([A-Za-z_:][\w:]*)(?:\{|\s)", line)
            if match:
                names.add(match.group(1))
    return names


def queried_names(dashboard, rules):
    """{metric name: [where used]} for the dashboard and the rules, recorded names left out."""
    recorded, rule_exprs = load_rules(rules)
    used = {}
    for where, expr in rule_exprs + dashboard_queries(dashboard):
        for name in metric_names(expr):
            if name not in recorded:
                used.setdefault(name, []).append(where)
    return used


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    names = sub.add_parser("names")
    check = sub.add_parser("check")
    for p in (names, check):
        p.add_argument("--dashboard", required=True)
        p.add_argument("--rules", required=True)
    check.add_argument("--scrape", required=True)
    dash = sub.add_parser("dashboard-rules")
    dash.add_argument("--dashboard", required=True)
    args = parser.parse_args(argv)

    if args.command == "dashboard-rules":
        rules = []
        for n, (where, expr) in enumerate(dashboard_queries(args.dashboard), 1):
            slug = re.sub(r"[^A-Za-z0-9]+", "_", where).strip("_").lower()
            rules.append({"record": f"dashboard:{n}:{slug}", "expr": expr})
        json.dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, sys.stdout, indent=2)
        print()
        return 0

    used = queried_names(args.dashboard, args.rules)
    if not used:
        print("error: no metric name found in the dashboard or the rules", file=sys.stderr)
        return 2
    if args.command == "names":
        for name in sorted(used):
            print(f"{name}\t{', '.join(sorted(set(used[name])))}")
        return 0

    present = scrape_names(args.scrape)
    if not present:
        print(f"error: {args.scrape} holds no sample in the Prometheus text format", file=sys.stderr)
        return 2
    missing = sorted(name for name in used if name not in present)
    for name in sorted(used):
        print(f"{'ok     ' if name in present else 'MISSING'} {name}")
    if missing:
        print(f"\n{len(missing)} of {len(used)} queried metric names are not in the scrape:", file=sys.stderr)
        for name in missing:
            print(f"  {name}  (used by: {'; '.join(sorted(set(used[name])))})", file=sys.stderr)
        return 1
    print(f"\nAll {len(used)} queried metric names are in the scrape.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
