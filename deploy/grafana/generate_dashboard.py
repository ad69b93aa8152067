#!/usr/bin/env python3
"""Writes deploy/grafana/mscred-dashboard.json, the provisioning-ready Grafana dashboard.

The JSON is generated so the panels stay uniform (datasource variable everywhere, same
instance filter, one grid); edit this file, rerun it, commit both. The ctest
deploy_grafana_dashboard checks that the JSON is this script's output and that every
query names only metrics and labels from docs/interfaces.md.

Usage: python3 deploy/grafana/generate_dashboard.py [OUTPUT]
"""

import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
INSTANCE = 'instance=~"$instance"'
ENTITY = 'entity=~"$entity"'
RATE = "$__rate_interval"


def target(expr, legend, ref):
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "range": True}


def timeseries(title, description, targets, x, y, w=12, h=8, unit="short", extra=None):
    panel = {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"fillOpacity": 10}}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": [target(e, l, chr(ord("A") + i)) for i, (e, l) in enumerate(targets)],
    }
    if extra:
        panel.update(extra)
    return panel


def stat(title, description, expr, x, y, w=6, h=4, unit="short", mappings=None):
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit, "mappings": mappings or []}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "value", "graphMode": "none"},
        "targets": [target(expr, "{{instance}}", "A")],
    }


def row(title, y):
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
            "panels": []}


def severity_colours():
    colours = {"short": "yellow", "medium": "orange", "long": "red"}
    return [{"matcher": {"id": "byName", "options": s},
             "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": c}}]}
            for s, c in colours.items()]


def panels():
    out = []
    y = 0
    out.append(row("Daemon", y))
    y += 1
    ready_map = [{"type": "value", "options": {"0": {"text": "NOT READY", "color": "red"},
                                               "1": {"text": "READY", "color": "green"}}}]
    out += [
        stat("Ready", "mscred_ready: 1 once models are loaded and sources are connected.",
             f"min(mscred_ready{{{INSTANCE}}})", 0, y, mappings=ready_map),
        stat("Entities", "Entities with streaming state, summed over instances.",
             f"sum(mscred_entities{{{INSTANCE}}})", 6, y),
        stat("Alerts (1 h)", "Alerts raised in the last hour, all severities.",
             f"sum(increase(mscred_alerts_total{{{INSTANCE}}}[1h]))", 12, y),
        stat("Queue fill", "Worst instance's queue depth over capacity.",
             f"max(mscred_queue_depth{{{INSTANCE}}} / mscred_queue_capacity{{{INSTANCE}}})",
             18, y, unit="percentunit"),
    ]
    y += 4

    out.append(row("Anomaly scores", y))
    y += 1
    # One panel per selected entity (Grafana repeats it over $entity).
    out.append(timeseries(
        "Score per scale vs threshold: $entity",
        "Broken-correlation count per scale (window length) against the threshold fitted on "
        "validation data; an alert needs the detection scale above its threshold.",
        [(f"max by (entity, scale) (mscred_score{{{INSTANCE}, {ENTITY}}})", "score s={{scale}}"),
         (f"max by (entity, scale) (mscred_threshold{{{INSTANCE}, {ENTITY}}})", "threshold s={{scale}}")],
        0, y, w=24, h=8,
        extra={"repeat": "entity", "repeatDirection": "h", "maxPerRow": 2,
               "fieldConfig": {"defaults": {"unit": "short", "custom": {"fillOpacity": 0}},
                               "overrides": [{"matcher": {"id": "byRegexp", "options": "threshold.*"},
                                              "properties": [{"id": "custom.lineStyle",
                                                              "value": {"fill": "dash", "dash": [10, 10]}}]}]}}))
    y += 8
    out.append(timeseries(
        "Alerts by severity",
        "Alerts raised per interval (short < medium < long anomalies).",
        [(f"sum by (severity) (increase(mscred_alerts_total{{{INSTANCE}}}[{RATE}]))", "{{severity}}")],
        0, y, extra={"fieldConfig": {"defaults": {"unit": "short", "custom": {"drawStyle": "bars", "fillOpacity": 80,
                                                                          "stacking": {"mode": "normal"}}},
                                     "overrides": severity_colours()}}))
    out.append(timeseries(
        "Steps scored",
        "Signature steps scored per second, by model.",
        [(f"sum by (model) (rate(mscred_steps_scored_total{{{INSTANCE}}}[{RATE}]))", "{{model}}")],
        12, y, unit="ops"))
    y += 8

    out.append(row("Intake", y))
    y += 1
    out.append(timeseries(
        "Ingest rate",
        "Samples accepted per second, by source.",
        [(f"sum by (source) (rate(mscred_samples_ingested_total{{{INSTANCE}}}[{RATE}]))", "{{source}}")],
        0, y, unit="ops"))
    out.append(timeseries(
        "Rejected records by reason",
        "Records refused per second (bad JSON, unknown entity, wrong sensor count, ...).",
        [(f"sum by (source, reason) (rate(mscred_records_rejected_total{{{INSTANCE}}}[{RATE}]))",
          "{{source}}: {{reason}}")],
        12, y, unit="ops"))
    y += 8
    out.append(timeseries(
        "Kafka consumer lag",
        "Records behind the partition end, by topic (Kafka source only).",
        [(f"sum by (topic) (mscred_kafka_consumer_lag{{{INSTANCE}}})", "{{topic}}")],
        0, y))
    out.append(timeseries(
        "Queue depth",
        "Windows waiting for the worker, against the bounded queue's capacity. A full queue "
        "slows the sources (back-pressure); it never drops.",
        [(f"max by (instance) (mscred_queue_depth{{{INSTANCE}}})", "depth {{instance}}"),
         (f"max by (instance) (mscred_queue_capacity{{{INSTANCE}}})", "capacity {{instance}}")],
        12, y))
    y += 8

    out.append(row("Latency", y))
    y += 1
    quantiles = [("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")]
    out.append(timeseries(
        "End-to-end latency percentiles",
        "From a sample's arrival to its step being scored (and any alert handed to the sinks).",
        [(f"histogram_quantile({q}, sum by (le) (rate(mscred_end_to_end_latency_seconds_bucket{{{INSTANCE}}}[{RATE}])))", n)
         for q, n in quantiles],
        0, y, unit="s"))
    out.append(timeseries(
        "Inference duration percentiles (per batch)",
        "Model time per batch of windows on the worker.",
        [(f"histogram_quantile({q}, sum by (le) (rate(mscred_inference_duration_seconds_bucket{{{INSTANCE}}}[{RATE}])))", n)
         for q, n in quantiles],
        12, y, unit="s"))
    y += 8
    return out


def variable_query(name, query, label, multi=True):
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": f"{name}-query"}, "definition": query,
        "refresh": 2, "sort": 1, "multi": multi, "includeAll": True, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
    }


def dashboard():
    all_panels = panels()
    for i, panel in enumerate(all_panels, 1):
        panel["id"] = i
    return {
        "id": None,
        "uid": "mscred-overview",
        "title": "mscred: streaming anomaly detection",
        "description": "mscredd metrics (docs/interfaces.md): scores against thresholds, alerts, intake, latency, queue.",
        "tags": ["mscred", "anomaly-detection"],
        "timezone": "browser",
        "schemaVersion": 38,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "refresh": 1, "current": {}, "hide": 0},
            variable_query("instance", "label_values(mscred_build_info, instance)", "Instance"),
            variable_query("entity", 'label_values(mscred_score{instance=~"$instance"}, entity)', "Entity"),
        ]},
        "panels": all_panels,
    }


def render():
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    output = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "mscred-dashboard.json")
    with open(output, "w", encoding="utf-8") as f:
        f.write(render())
    print("wrote", output)
