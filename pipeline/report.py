"""Batch reports for CI systems: JSON and JUnit XML."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from .files import write_text_atomic
from .jobs import BatchResult


def report_json(batch: BatchResult) -> str:
    """Every output of the batch with its status, time, record or error."""
    data = {
        "ok": batch.ok,
        "seconds": round(batch.seconds, 3),
        "model_calls": batch.model_calls,
        "outputs": [
            {
                "campaign": o.job.campaign.split("/")[0],
                "version": o.job.version or "",
                "channel": o.job.channel,
                "output": f"{o.job.campaign}/{o.job.channel}",
                "spec": str(o.job.spec),
                "status": o.status,
                "seconds": round(o.seconds, 3),
                "error": o.error or None,
                "record": dataclasses.asdict(o.record) if o.record else None,
            }
            for o in batch.outcomes
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def junit_xml(batch: BatchResult) -> str:
    """One test suite per campaign, one test case per output (failed outputs as failures)."""
    suites = ET.Element("testsuites", name="rekrutt", time=f"{batch.seconds:.3f}")
    for name, result in batch.campaigns.items():
        outcomes = result.outcomes
        suite = ET.SubElement(
            suites, "testsuite", name=name, tests=str(len(outcomes)),
            failures=str(sum(o.status == "failed" for o in outcomes)),
            skipped=str(sum(o.status == "skipped" for o in outcomes)),
            time=f"{sum(o.seconds for o in outcomes):.3f}")
        for o in outcomes:
            case = ET.SubElement(suite, "testcase", classname=name, name=f"{name}/{o.job.channel}",
                                 time=f"{o.seconds:.3f}")
            if o.status == "failed":
                failure = ET.SubElement(case, "failure", message=o.error.splitlines()[0] if o.error else "failed")
                failure.text = o.error
            elif o.status == "skipped":
                ET.SubElement(case, "skipped", message="not run after an earlier failure (--fail-fast)")
            elif o.status == "unchanged":
                ET.SubElement(case, "system-out").text = "unchanged since the last render"
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_reports(batch: BatchResult, json_path: Path | None = None, junit_path: Path | None = None) -> None:
    """The JSON report and the JUnit XML report of a batch, each where asked (atomically)."""
    if json_path:
        write_text_atomic(json_path, report_json(batch))
    if junit_path:
        write_text_atomic(junit_path, junit_xml(batch))


def incomplete_outputs(batch: BatchResult) -> list[str]:
    """What made outputs lack that they must show, one line per output ("campaign/version/channel: no name
    strap for A, B"): what ``render --strict`` fails on."""
    return [f"{o.job.campaign}/{o.job.channel}: no name strap for {', '.join(o.record.names_left_out)}"
            for o in batch.outcomes if o.record is not None and o.record.names_left_out]
