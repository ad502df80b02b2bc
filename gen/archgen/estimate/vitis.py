"""Vitis HLS's own estimates, read from the top-level synthesis report
``<prj>/solution1/syn/report/csynth.xml`` (written by ``csynth_design``), so that the report
can show them beside archgen's analytic figures.

The parts read, as Vitis HLS (and Vivado HLS before it) writes them::

    <profile>
      <ReportVersion><Version>2022.2</Version></ReportVersion>
      <UserAssignments>
        <Part>...</Part> <TopModelName>...</TopModelName>
        <TargetClockPeriod>ns</TargetClockPeriod> <ClockUncertainty>ns</ClockUncertainty>
      </UserAssignments>
      <PerformanceEstimates>
        <SummaryOfTimingAnalysis><EstimatedClockPeriod>ns</EstimatedClockPeriod></...>
        <SummaryOfOverallLatency>
          <Best-caseLatency>, <Average-caseLatency>, <Worst-caseLatency>   (cycles or "undef")
          <Interval-min>, <Interval-max>
        </SummaryOfOverallLatency>
      </PerformanceEstimates>
      <AreaEstimates>
        <Resources> BRAM_18K, DSP (DSP48E before 2020), FF, LUT, URAM </Resources>
        <AvailableResources> the same keys, the part's totals </AvailableResources>
      </AreaEstimates>
    </profile>

A figure Vitis HLS could not compute (a loop with a variable trip count gives "undef") is
None; a file that is not XML, or XML without these sections, is a ConfigError naming it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import ConfigError

RESOURCES = ("LUT", "FF", "DSP", "BRAM_18K", "URAM")
_ALIASES = {"DSP48E": "DSP", "DSP48": "DSP"}  # Vivado HLS's names for the DSP slice


def read_csynth(path) -> dict:
    """Vitis HLS's resource, latency and clock estimates from a csynth.xml."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ConfigError(f"{path}: not a readable Vitis HLS csynth.xml ({e}); rerun "
                          "csynth_design or delete the file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the Vitis HLS report ({e.strerror})") from None
    perf, area = root.find("PerformanceEstimates"), root.find("AreaEstimates")
    if root.tag != "profile" or (perf is None and area is None):
        raise ConfigError(f"{path}: not a Vitis HLS csynth.xml (expected <profile> with "
                          f"<PerformanceEstimates> and <AreaEstimates>, found <{root.tag}>); "
                          "rerun csynth_design or delete the file")
    user = root.find("UserAssignments")
    lat = perf.find("SummaryOfOverallLatency") if perf is not None else None
    timing = perf.find("SummaryOfTimingAnalysis") if perf is not None else None
    return {
        "tool": _join("Vitis HLS", _text(root, "ReportVersion/Version")),
        "top": _text(user, "TopModelName"),
        "part": _text(user, "Part"),
        "target_clock_ns": _number(user, "TargetClockPeriod", float),
        "clock_uncertainty_ns": _number(user, "ClockUncertainty", float),
        "estimated_clock_ns": _number(timing, "EstimatedClockPeriod", float),
        "latency_cycles": {"best": _number(lat, "Best-caseLatency"),
                           "average": _number(lat, "Average-caseLatency"),
                           "worst": _number(lat, "Worst-caseLatency")},
        "interval_cycles": {"min": _number(lat, "Interval-min"),
                            "max": _number(lat, "Interval-max")},
        "resources": _resources(area, "Resources"),
        "available": _resources(area, "AvailableResources"),
    }


def _resources(area, tag: str) -> dict:
    out = dict.fromkeys(RESOURCES)
    node = area.find(tag) if area is not None else None
    for child in node if node is not None else ():
        key = _ALIASES.get(child.tag, child.tag)
        if key in out:
            out[key] = _parse(child.text, int)
    return out


def _text(node, tag: str) -> str | None:
    found = node.find(tag) if node is not None else None
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _number(node, tag: str, kind=int):
    return _parse(_text(node, tag), kind)


def _parse(text, kind):
    """A count or a period; None for Vitis HLS's "undef", "-" or an empty element."""
    try:
        return kind(float(text.strip())) if kind is int else kind(text.strip())
    except (AttributeError, ValueError, OverflowError):
        return None


def _join(*parts) -> str:
    return " ".join(p for p in parts if p)
