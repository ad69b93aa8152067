#!/usr/bin/env python3
"""Checks that the Grafana dashboard (and the alerting rules) query only real metrics.

The list of metrics and their labels comes from docs/interfaces.md, or, with --scrape, from
a Prometheus text exposition (a saved `curl http://127.0.0.1:9464/metrics` of a running
mscredd), so the same check runs against the live daemon once it exists.

For every PromQL expression (panel targets, template variable queries, rule exprs) a
small lexer finds the metric names, their label matchers and the by/without/on/ignoring
label lists, and checks each against the list; histogram metrics allow _bucket (with
`le`), _sum and _count. The dashboard itself must be provisioning-ready: fixed uid, no
`__inputs`, a `datasource` variable that every panel and target uses, an `entity`
variable that the score panel filters on, and a panel for each required view.

A family with no child series yet is absent from a scrape (prometheus-cpp writes no
`# TYPE` line for it: no rejection so far, no Kafka source): name such metrics with
--conditional and they are taken from docs/interfaces.md instead, with a note.

Usage: check_dashboard.py DASHBOARD --interfaces MD [--scrape FILE [--conditional NAME]...]
                          [--rules YML] [--generator PY]
"""

import argparse
import importlib.util
import json
import re
import sys

import yaml

# Labels Prometheus itself attaches to every scraped series.
TARGET_LABELS = {"job", "instance"}
# Series Prometheus synthesises per target; allowed in rules, not needed in the dashboard.
SYNTHETIC = {"up": set()}
KEYWORDS_WITH_LABELS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
OPERATORS = {"and", "or", "unless", "bool", "offset"}
# Aggregators may put their label list first: `sum by (job) (x)`.
AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
               "bottomk", "topk", "quantile"}
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes",
    "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta",
    "deriv", "exp", "floor", "group", "histogram_quantile", "idelta", "increase", "irate",
    "label_join", "label_replace", "last_over_time", "ln", "max", "max_over_time", "min",
    "min_over_time", "predict_linear", "quantile", "quantile_over_time", "rate", "resets",
    "round", "scalar", "sort", "sort_desc", "stddev", "stddev_over_time", "stdvar", "sum",
    "sum_over_time", "time", "timestamp", "topk", "vector",
    # Grafana template functions.
    "label_values", "query_result", "metrics", "label_names",
}
REQUIRED_VIEWS = {
    "score per scale": "mscred_score",
    "threshold": "mscred_threshold",
    "alerts by severity": "mscred_alerts_total",
    "ingest rate": "mscred_samples_ingested_total",
    "rejected records by reason": "mscred_records_rejected_total",
    "latency percentiles": "mscred_end_to_end_latency_seconds_bucket",
    "queue depth": "mscred_queue_depth",
}

TOKEN = re.compile(r"""
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<range>\[[^\]]*\])
  | (?P<var>\$\{[^}]+\}|\$\w+)
  | (?P<number>\d+(?:\.\d+)?(?:e[+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<punct>=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/%^])
  | (?P<space>\s+)
""", re.X)


def tokens(expr):
    out, pos = [], 0
    while pos < len(expr):
        match = TOKEN.match(expr, pos)
        if not match:
            raise ValueError(f"cannot lex at {pos}: {expr[pos:pos + 20]!r} in {expr!r}")
        pos = match.end()
        if match.lastgroup != "space":
            out.append((match.lastgroup, match.group()))
    return out


def label_list(toks, i):
    """Reads `( a, b )` starting at toks[i] == '('; returns (labels, index after ')')."""
    labels = []
    i += 1
    while i < len(toks) and toks[i][1] != ")":
        if toks[i][0] == "ident":
            labels.append(toks[i][1])
        i += 1
    return labels, i + 1


def analyse(expr):
    """-> (list of (metric, [matcher labels]), [grouping labels]) used by expr."""
    toks = tokens(expr)
    metrics, grouping = [], []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        following = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "ident" and text in KEYWORDS_WITH_LABELS:
            if following == "(":
                labels, i = label_list(toks, i + 1)
                grouping += labels
                continue
        elif kind == "ident" and following == "(" and text in FUNCTIONS:
            pass
        elif kind == "ident" and text in AGGREGATORS and following in ("by", "without"):
            pass
        elif kind == "ident" and following == "(":
            raise ValueError(f"unknown function {text}() in {expr!r}")
        elif kind == "ident" and text not in OPERATORS and text not in ("inf", "nan"):
            matchers = []
            if following == "{":
                i += 2
                while i < len(toks) and toks[i][1] != "}":
                    if toks[i][0] == "ident" and i + 1 < len(toks) and toks[i + 1][1] in ("=", "!=", "=~", "!~"):
                        matchers.append(toks[i][1])
                    i += 1
            metrics.append((text, matchers))
        i += 1
    return metrics, grouping


def grafana_query(query):
    """Template queries `label_values(expr, label)`: the label list counts as grouping."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query)
    if match:
        return match.group(1), [match.group(2)]
    return query, []


def metrics_from_interfaces(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    found = {}
    for name, labels, kind in re.findall(
            r"`(mscred_[a-z0-9_]+)(?:\{([^}]*)\})?`\s+(counter|gauge|histogram)", text):
        found[name] = (kind, {l.strip() for l in labels.split(",") if l.strip()})
    if not found:
        raise SystemExit(f"{path}: no metric list found")
    return found


def metrics_from_scrape(path):
    found = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            type_line = re.match(r"# TYPE (\S+) (\S+)", line)
            if type_line:
                found.setdefault(type_line.group(1), (type_line.group(2), set()))
                continue
            sample = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
            if sample and not line.startswith("#"):
                name = re.sub(r"_(bucket|sum|count)$", "", sample.group(1)) \
                    if re.sub(r"_(bucket|sum|count)$", "", sample.group(1)) in found else sample.group(1)
                kind, labels = found.setdefault(name, ("untyped", set()))
                labels |= set(re.findall(r"(\w+)=\"", sample.group(2) or "")) - {"le"}
    return found


def allowed_series(known):
    """{series name: allowed labels}, expanding histograms into their three series."""
    series = {}
    for name, (kind, labels) in known.items():
        labels = labels | TARGET_LABELS
        if kind == "histogram":
            series[name + "_bucket"] = labels | {"le"}
            series[name + "_sum"] = labels
            series[name + "_count"] = labels
        else:
            series[name] = labels
    return series


def check_expr(where, expr, series, failures, extra_grouping=()):
    try:
        metrics, grouping = analyse(expr)
    except ValueError as e:
        failures.append(f"{where}: {e}")
        return set()
    used = set()
    for name, matchers in metrics:
        if name not in series:
            failures.append(f"{where}: metric '{name}' is not in the metric list")
            continue
        used.add(name)
        for label in matchers:
            if label not in series[name]:
                failures.append(f"{where}: '{name}' has no label '{label}'")
    available = set().union(*(series[m] for m in used)) if used else set()
    for label in list(grouping) + list(extra_grouping):
        if label not in available:
            failures.append(f"{where}: groups by '{label}', which none of {sorted(used)} has")
    if not metrics:
        failures.append(f"{where}: expression names no metric: {expr}")
    return used


def walk_panels(panels):
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def check_dashboard(path, series, failures):
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    if "__inputs" in dash:
        failures.append("dashboard has __inputs: that is the export-for-import form, not provisioning")
    if not dash.get("uid") or dash.get("id") is not None:
        failures.append("dashboard needs a fixed uid and id null for provisioning")

    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds_var = [n for n, v in variables.items() if v.get("type") == "datasource"]
    if not ds_var:
        failures.append("no datasource-type template variable")
    if "entity" not in variables:
        failures.append("no 'entity' template variable")
    ds_refs = {f"${{{n}}}" for n in ds_var} | {f"${n}" for n in ds_var}

    used_all = set()
    for name, variable in variables.items():
        if variable.get("type") != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        expr, labels = grafana_query(query)
        used_all |= check_expr(f"variable {name}", expr, series, failures, labels)
        if (variable.get("datasource") or {}).get("uid") not in ds_refs:
            failures.append(f"variable {name} does not use the datasource variable")

    entity_filtered = False
    exprs_by_title = {}
    for panel in walk_panels(dash.get("panels", [])):
        if panel.get("type") == "row":
            continue
        title = panel.get("title", "?")
        if (panel.get("datasource") or {}).get("uid") not in ds_refs:
            failures.append(f"panel '{title}' does not use the datasource variable")
        if not panel.get("targets"):
            failures.append(f"panel '{title}' has no queries")
        for t in panel.get("targets", []):
            if (t.get("datasource") or {}).get("uid") not in ds_refs:
                failures.append(f"panel '{title}' target {t.get('refId')} does not use the datasource variable")
            used = check_expr(f"panel '{title}'", t["expr"], series, failures)
            used_all |= used
            exprs_by_title.setdefault(title.lower(), set()).update(used)
            if "mscred_score" in used and "$entity" in t["expr"]:
                entity_filtered = True
    if not entity_filtered:
        failures.append("no score query filters on $entity")
    for view, metric in REQUIRED_VIEWS.items():
        if not any(view in title and metric in used for title, used in exprs_by_title.items()):
            failures.append(f"no panel titled like '{view}' querying {metric}")
    return used_all


def check_rules(path, series, failures):
    with open(path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    with_synthetic = dict(series)
    with_synthetic.update({k: v | TARGET_LABELS for k, v in SYNTHETIC.items()})
    for group in rules["groups"]:
        for rule in group["rules"]:
            check_expr(f"rule {rule.get('alert') or rule.get('record')}", rule["expr"],
                       with_synthetic, failures)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dashboard")
    parser.add_argument("--interfaces", required=True)
    parser.add_argument("--scrape")
    parser.add_argument("--rules")
    parser.add_argument("--generator")
    parser.add_argument("--conditional", action="append", default=[])
    opts = parser.parse_args()
    failures = []

    known = metrics_from_interfaces(opts.interfaces)
    if opts.scrape:
        listed = known
        known = metrics_from_scrape(opts.scrape)
        for name in opts.conditional:
            if name not in known and name in listed:
                print(f"note: {name} is not in the scrape; using docs/interfaces.md for it")
                known[name] = listed[name]
    series = allowed_series(known)
    used = check_dashboard(opts.dashboard, series, failures)
    print(f"dashboard queries {len(used)} series of {len(series)} known: {sorted(used)}")
    if opts.rules:
        check_rules(opts.rules, series, failures)

    if opts.generator:
        spec = importlib.util.spec_from_file_location("generate_dashboard", opts.generator)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with open(opts.dashboard, encoding="utf-8") as f:
            if f.read() != module.render():
                failures.append(f"{opts.dashboard} is stale: rerun {opts.generator}")

    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
