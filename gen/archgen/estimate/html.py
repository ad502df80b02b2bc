"""report.html: one self-contained page (inline CSS and SVG plots; no scripts, no external
URLs) from the dict ``archgen report`` writes to resources.json.

The page reads only that dict: ``part``, ``capacity``, ``estimate`` (always), and ``synth``,
``sim``, ``csim``, ``vitis_hls`` when present; any figure may be zero or missing. Plots are
drawn with matplotlib's object API (``matplotlib.figure.Figure``, never pyplot, so a user's
backend is left alone) and written as SVG with a fixed hash salt and no date, so the same
data gives the same bytes.
"""

from __future__ import annotations

import html
import io
import re

from .resources import KEYS

COLORS = {"estimate": "#4c72b0", "synth": "#dd8452", "vitis": "#55a868",
          "bottleneck": "#c44e52", "grid": "#e3e6ea", "text": "#2b2f36"}
RC = {"svg.hashsalt": "archgen-report", "svg.fonttype": "none",
      "font.size": 9, "axes.edgecolor": "#9aa1ab", "axes.linewidth": 0.8,
      "axes.labelcolor": COLORS["text"], "xtick.color": COLORS["text"],
      "ytick.color": COLORS["text"], "axes.titlesize": 10, "axes.titleweight": "bold"}
LABEL_CHARS = 30   # layer names longer than this are shortened in the plots (never in tables)
PLOT_KEYS = (("LUT", "LUT"), ("FF", "FF"), ("DSP", "DSP"), ("BRAM", "BRAM (18K units)"))
TOP = "top"
DASH, SEP = "\u2014", " \u00b7 "


# -- entry point ------------------------------------------------------------------------------

def render_report(data: dict) -> str:
    """The HTML report of one project (deterministic: same data, same bytes)."""
    import matplotlib

    est = data.get("estimate") or {}
    layers = est.get("layers") or {}
    synth = data.get("synth") or None
    clock, clock_src = _clock(data)
    with matplotlib.rc_context(RC):
        body = [
            _header(data, clock, clock_src, len([n for n in layers if n != TOP])),
            _cards(data, clock),
            _section("Performance", _perf_table(data, clock),
                     "Interval: cycles between the ends of consecutive frames in steady state; "
                     "latency: first input beat to last output beat of a frame."),
            _section("Resources", _resource_table(data),
                     "BRAM (18K units) counts a BRAM36 as two BRAM18, as Vitis HLS does."),
            _section("Utilization of the part", _util_chart(data)),
            _snn_section(data.get("snn")),
            _deform_section(data.get("deform")),
            _section("Cycles per layer", _cycles_chart(est, data),
                     "Each layer's interval (cycles per frame); the slowest layer sets the "
                     "accelerator's interval."),
            _section("Resources per layer", _layer_chart(layers, synth),
                     "The analytic estimate" + (" beside yosys synthesis" if synth else "")
                     + "; \u201ctop\u201d is the stream plumbing between layers (FIFOs, forks)."),
        ]
        if synth:
            body.append(_section("Estimate vs. synthesis", _error_table(layers, synth),
                                 "Error = (estimate \u2212 synthesis) / synthesis. LUT and FF: "
                                 "green within 10%, amber within 25%, red beyond; DSP and BRAM: "
                                 "green only when equal. Faded cells are small layers (under "
                                 "200 synthesized LUTs), where a few LUTs are a large percent."))
        body.append(_section("Layers", _layer_table(est)))
        if synth and synth.get("cells"):
            body.append(_cells_section(synth))
    title = _title(data)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


# -- figures ----------------------------------------------------------------------------------

def _clock(data: dict) -> tuple[float | None, str]:
    """The clock in MHz, and where it came from (the project's, or a simulator's)."""
    for key, src in ((None, "project"), ("sim", "RTL simulation"), ("csim", "C simulation")):
        mhz = (data if key is None else (data.get(key) or {})).get("clock_mhz")
        if _positive(mhz):
            return float(mhz), src
    target = (data.get("vitis_hls") or {}).get("target_clock_ns")
    if _positive(target):
        return 1000.0 / target, "Vitis HLS target"
    return None, ""


def _bram18(row: dict) -> float:
    return 2 * _num(row.get("BRAM36")) + _num(row.get("BRAM18"))


def _value(row: dict, key: str) -> float:
    return _bram18(row) if key == "BRAM" else _num(row.get(key))


def _error(est: float, syn: float) -> float | None:
    """(estimate - synthesis) / synthesis in percent; None when both are zero."""
    if syn == 0:
        return None if est == 0 else float("inf")
    return 100.0 * (est - syn) / syn


def _per_second(clock: float | None, cycles) -> float | None:
    return clock * 1e6 / cycles if clock and _positive(cycles) else None


def _micros(clock: float | None, cycles) -> float | None:
    return cycles / clock if clock and isinstance(cycles, (int, float)) else None


# -- page sections ----------------------------------------------------------------------------

def _title(data: dict) -> str:
    name = data.get("model") or data.get("top")
    return f"archgen report \u2014 {name}" if name else "archgen report"


def _header(data: dict, clock, clock_src: str, n_layers: int) -> str:
    part = data.get("part") or "?"
    full = data.get("part_name")
    bits = [f"<b>Part</b> {_e(part)}" + (f" ({_e(full)})" if full and full != part else "")
            + (f", family {_e(data['family'])}" if data.get("family") else "")]
    if clock:
        bits.append(f"<b>Clock</b> {_fmt(clock, 4)} MHz"
                    + ("" if clock_src == "project" else f" (from {_e(clock_src)})"))
    else:
        bits.append("<b>Clock</b> unknown (figures in cycles only)")
    if data.get("backends"):
        bits.append(f"<b>Backends</b> {_e(', '.join(map(str, data['backends'])))}")
    bits.append(f"<b>Layers</b> {n_layers}")
    tools = ["archgen analytic model"]
    if data.get("synth"):
        tools.append(str(data["synth"].get("tool") or "yosys"))
    for key, what in (("sim", "RTL simulation"), ("csim", "C simulation")):
        if data.get(key):
            tools.append(f"{what} ({data[key].get('simulator') or key})")
    if data.get("vitis_hls"):
        tools.append(str(data["vitis_hls"].get("tool") or "Vitis HLS"))
    return (f"<header><h1>{_e(_title(data))}</h1><p class=\"meta\">{SEP.join(bits)}</p>"
            f"<p class=\"tools\">Sources: {_e('; '.join(tools))}</p></header>")


def _cards(data: dict, clock) -> str:
    est = data.get("estimate") or {}
    util = est.get("utilization_percent") or {}
    interval, latency = est.get("interval_cycles"), est.get("latency_cycles")
    fps = _per_second(clock, interval)
    cards = [
        ("Interval", _fmt(interval),
         "cycles" + (f"{SEP}{_fmt(fps, 4)} frames/s" if fps else "")),
        ("Latency", _fmt(latency),
         "cycles" + (f"{SEP}{_fmt(_micros(clock, latency), 4)} \u00b5s" if clock else "")),
        ("Bottleneck", _e(est.get("bottleneck") or DASH),
         _e(_unit_of(est, est.get("bottleneck"))), "bottleneck"),
    ]
    for key in ("LUT", "FF", "DSP"):
        pct = _num(util.get(key))
        cards.append((key, f"{_fmt(pct, 3)}%", f"{_fmt((est.get('total') or {}).get(key))} estimated",
                      "over" if pct > 100 else ""))
    bram = _bram_percent(est.get("total") or {}, data.get("capacity") or {})
    cards.append(("BRAM", f"{_fmt(bram, 3)}%" if bram is not None else DASH,
                  f"{_fmt(_bram18(est.get('total') or {}))} \u00d7 18K",
                  "over" if (bram or 0) > 100 else ""))
    out = []
    for card in cards:
        name, big, small = card[:3]
        cls = " " + card[3] if len(card) > 3 and card[3] else ""
        out.append(f"<div class=\"card{cls}\"><div class=\"k\">{name}</div>"
                   f"<div class=\"v\">{big}</div><div class=\"s\">{small}</div></div>")
    return "<section class=\"cards\">" + "".join(out) + "</section>"


def _unit_of(est: dict, name) -> str:
    row = (est.get("layers") or {}).get(name) or {}
    return f"{row['unit']} unit" if row.get("unit") else ""


def _bram_percent(total: dict, capacity: dict) -> float | None:
    cap = _num(capacity.get("BRAM18")) or 2 * _num(capacity.get("BRAM36"))
    return 100.0 * _bram18(total) / cap if cap else None


def _perf_table(data: dict, clock) -> str:
    est = data.get("estimate") or {}
    cols = [("Analytic estimate", est.get("interval_cycles"), est.get("latency_cycles"), clock,
             "archgen model")]
    for key, what in (("sim", "RTL simulation"), ("csim", "C simulation")):
        s = data.get(key)
        if s:
            note = f"{s.get('simulator') or key}, {_fmt(s.get('frames'))} frames"
            if s.get("mismatches") not in (None, 0):
                note += f", {_fmt(s['mismatches'])} mismatches"
            cols.append((what, s.get("interval_cycles"), s.get("latency_cycles"),
                         s.get("clock_mhz") if _positive(s.get("clock_mhz")) else clock, note))
    v = data.get("vitis_hls")
    if v:
        iv, lat = v.get("interval_cycles") or {}, v.get("latency_cycles") or {}
        vclock = 1000.0 / v["target_clock_ns"] if _positive(v.get("target_clock_ns")) else clock
        note = "csynth"
        if _positive(v.get("estimated_clock_ns")):
            note += f", clock estimate {_fmt(v['estimated_clock_ns'], 4)} ns"
        cols.append(("Vitis HLS", iv.get("max"), lat.get("worst"), vclock, note,
                     _range(iv.get("min"), iv.get("max")), _range(lat.get("best"), lat.get("worst"))))
    head = "".join(f"<th>{_e(c[0])}</th>" for c in cols)
    rows = [("Interval (cycles)", [c[5] if len(c) > 5 else _fmt(c[1]) for c in cols]),
            ("Latency (cycles)", [c[6] if len(c) > 6 else _fmt(c[2]) for c in cols]),
            ("Throughput (frames/s)", [_fmt(_per_second(c[3], c[1]), 4) for c in cols]),
            ("Interval (\u00b5s)", [_fmt(_micros(c[3], c[1]), 4) for c in cols]),
            ("Latency (\u00b5s)", [_fmt(_micros(c[3], c[2]), 4) for c in cols]),
            ("Clock (MHz)", [_fmt(c[3], 4) for c in cols]),
            ("Source", [_e(c[4]) or "\u2014" for c in cols])]
    rows = [(name, vals) for name, vals in rows if any(v != DASH for v in vals)]
    if est.get("bottleneck"):
        rows.insert(2, ("Bottleneck layer",
                        [f"<span class=\"bn\">{_e(est['bottleneck'])}</span>"]
                        + ["" for _ in cols[1:]]))
    body = "".join(f"<tr><th>{name}</th>" + "".join(f"<td>{v}</td>" for v in vals) + "</tr>"
                   for name, vals in rows)
    return f"<table class=\"num\"><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def _range(lo, hi) -> str:
    return _fmt(hi) if lo is None or lo == hi else f"{_fmt(lo)} \u2013 {_fmt(hi)}"


def _resource_table(data: dict) -> str:
    est = data.get("estimate") or {}
    cap = data.get("capacity") or {}
    synth = data.get("synth")
    vitis = (data.get("vitis_hls") or {}).get("resources") if data.get("vitis_hls") else None
    total, stotal = est.get("total") or {}, (synth or {}).get("total") or {}
    head = ["Resource", "Part", "Estimate", "% of part"]
    if synth:
        head += ["Synthesis", "% of part", "Estimate error"]
    if vitis is not None:
        head += ["Vitis HLS", "% of part"]
    rows = []
    for key in (*KEYS, "BRAM"):
        name = "BRAM (18K units)" if key == "BRAM" else key
        c = _bram18(cap) if key == "BRAM" else _num(cap.get(key))
        e = _value(total, key)
        cells = [f"<th>{name}</th>", f"<td>{_fmt(c)}</td>", f"<td>{_fmt(e)}</td>",
                 f"<td>{_pct(e, c)}</td>"]
        if synth:
            s = _value(stotal, key)
            cells += [f"<td>{_fmt(s)}</td>", f"<td>{_pct(s, c)}</td>",
                      _error_cell(e, s, key, s >= 200 or key != "LUT")]
        if vitis is not None:
            vk = {"BRAM": "BRAM_18K", "LUT": "LUT", "FF": "FF", "DSP": "DSP"}.get(key)
            vv = vitis.get(vk) if vk else None
            cells += [f"<td>{_fmt(vv)}</td>", f"<td>{_pct(vv, c) if vv is not None else DASH}</td>"]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if vitis is not None and vitis.get("URAM"):
        pad = 3 + (3 if synth else 0)
        rows.append("<tr><th>URAM</th>" + "<td>\u2014</td>" * pad
                    + f"<td>{_fmt(vitis['URAM'])}</td><td>\u2014</td></tr>")
    return ("<table class=\"num\"><thead><tr>" + "".join(f"<th>{h}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _pct(value, capacity) -> str:
    if value is None or not capacity:
        return DASH
    pct = 100.0 * value / capacity
    text = f"{_fmt(pct, 3)}%"
    return f"<span class=\"over\">{text}</span>" if pct > 100 else text


def _error_cell(est: float, syn: float, key: str, counts: bool = True) -> str:
    err = _error(est, syn)
    if err is None:
        return "<td class=\"err same\">=</td>"
    exact = key in ("DSP", "BRAM", "BRAM36", "BRAM18")
    if exact:
        cls = "good" if est == syn else "bad"
    else:
        cls = "good" if abs(err) <= 10 else "fair" if abs(err) <= 25 else "bad"
    text = "+\u221e" if err == float("inf") else "0%" if abs(err) < 0.5 else f"{err:+.0f}%"
    small = "" if counts else " small"
    return (f"<td class=\"err {cls}{small}\" title=\"estimate {_fmt(est)}, synthesis "
            f"{_fmt(syn)}\">{text}</td>")


def _error_table(layers: dict, synth: dict) -> str:
    slayers = synth.get("layers") or {}
    names = [n for n in layers if n in slayers] + [n for n in slayers if n not in layers]
    keys = [k for k, _ in PLOT_KEYS]
    head = ("<tr><th rowspan=\"2\">Layer</th><th rowspan=\"2\">Unit</th>"
            + "".join(f"<th colspan=\"3\" class=\"grp\">{label}</th>" for _, label in PLOT_KEYS)
            + "</tr><tr>" + "<th>est.</th><th>synth</th><th>error</th>" * len(keys) + "</tr>")
    rows = []
    for name in names:
        e, s = layers.get(name) or {}, slayers.get(name) or {}
        big = _value(s, "LUT") >= 200
        cells = [f"<td class=\"name\">{_e(name)}</td><td>{_e(e.get('unit') or '')}</td>"]
        for k in keys:
            ev, sv = _value(e, k), _value(s, k)
            cells.append(f"<td>{_fmt(ev) if e else DASH}</td><td>{_fmt(sv)}</td>"
                         + _error_cell(ev, sv, k, big or k in ("DSP", "BRAM")))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class=\"scroll\"><table class=\"num errors\"><thead>{head}</thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


def _layer_table(est: dict) -> str:
    layers = est.get("layers") or {}
    bottleneck = est.get("bottleneck")
    head = ("<tr><th>#</th><th>Layer</th><th>Unit</th><th>Module</th><th>Interval (cycles)</th>"
            "<th>Pipeline</th>" + "".join(f"<th>{k}</th>" for k in KEYS) + "</tr>")
    rows = []
    for i, (name, row) in enumerate(layers.items(), 1):
        cls = " class=\"bottleneck\"" if name == bottleneck else ""
        tag = " <span class=\"badge\">bottleneck</span>" if name == bottleneck else ""
        rows.append(f"<tr{cls}><td>{i}</td><td class=\"name\">{_e(name)}{tag}</td>"
                    f"<td>{_e(row.get('unit') or '')}</td>"
                    f"<td class=\"name\">{_e(row.get('module') or '')}</td>"
                    f"<td>{_fmt(row.get('cycles'))}</td><td>{_fmt(row.get('pipeline'))}</td>"
                    + "".join(f"<td>{_fmt(row.get(k))}</td>" for k in KEYS) + "</tr>")
    return (f"<div class=\"scroll\"><table class=\"num layers\"><thead>{head}</thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


def _cells_section(synth: dict) -> str:
    cells = synth.get("cells") or {}
    kinds = sorted({k for c in cells.values() for k in c})
    head = "<tr><th>Layer</th>" + "".join(f"<th>{_e(k)}</th>" for k in kinds) + "</tr>"
    rows = "".join(f"<tr><td class=\"name\">{_e(n)}</td>"
                   + "".join(f"<td>{_fmt(c.get(k)) if c.get(k) else ''}</td>" for k in kinds)
                   + "</tr>" for n, c in cells.items())
    return ("<section><details><summary>yosys cells per layer</summary><div class=\"scroll\">"
            f"<table class=\"num cells\"><thead>{head}</thead><tbody>{rows}</tbody></table>"
            "</div></details></section>")


def _snn_section(snn: dict | None) -> str:
    """Spiking models: neurons, synapses, membrane state and cycles per time step."""
    if not snn:
        return ""
    head = ("<table><tr><th>time steps</th><th>neurons</th><th>synapses</th>"
            "<th>state memory (bits)</th><th>cycles / step</th><th>cycles / sample</th></tr>"
            f"<tr><td>{snn['time_steps']}</td><td>{_fmt(snn['neurons'])}</td>"
            f"<td>{_fmt(snn['synapses'])}</td><td>{_fmt(snn['state_bits'])}</td>"
            f"<td>{_fmt(snn['cycles_per_step'])}</td><td>{_fmt(snn['cycles_per_sample'])}</td>"
            "</tr></table>")
    rows = "".join(f"<tr><td>{_e(r['layer'])}</td><td>{_e(r['model'])}</td>"
                   f"<td>{_fmt(r['neurons'])}</td><td>{r['lanes']}</td>"
                   f"<td>{_fmt(r['state_words'])}</td><td>{_fmt(r['state_bits'])}</td></tr>"
                   for r in snn["neuron_layers"])
    layers = ("<table><tr><th>neuron layer</th><th>model</th><th>neurons</th><th>lanes</th>"
              f"<th>state words</th><th>state bits</th></tr>{rows}</table>")
    return _section("Spiking network", head + layers,
                    "A frame is one time step; membrane state persists over a sample's steps.")


def _deform_section(deform: dict | None) -> str:
    """Deformable convolutions: each sampler's frame buffer and taps per cycle."""
    if not deform:
        return ""
    rows = "".join(f"<tr><td>{_e(r['layer'])}</td><td>{_fmt(r['buffer_pixels'])}</td>"
                   f"<td>{_fmt(r['buffer_bits'])}</td><td>{r['taps_per_cycle']:.3g}</td>"
                   f"<td>{_fmt(r['cycles_per_frame'])}</td></tr>" for r in deform["samplers"])
    table = ("<table><tr><th>sampler</th><th>buffer (pixels)</th><th>buffer (bits)</th>"
             f"<th>taps / cycle</th><th>its cycles / frame</th></tr>{rows}</table>")
    return _section("Deformable convolution", table,
                    f"The accelerator: {_fmt(deform['cycles_per_frame'])} cycles per frame.")


def _section(title: str, content: str, note: str = "") -> str:
    note = f"<p class=\"note\">{_e(note)}</p>" if note else ""
    return f"<section><h2>{_e(title)}</h2>{note}{content}</section>"


# -- plots ------------------------------------------------------------------------------------

def _figure(rows: float, labels, top: float = 0.15, bottom: float = 0.5, ncols: int = 1):
    """A figure 12.5 inches wide with room on the left for ``labels`` (y tick labels) and
    ``rows`` bar rows; margins are set here, in inches, rather than by a layout engine (which
    draws everything several times: too slow for 60 layers)."""
    from matplotlib.figure import Figure

    width, height = 12.5, top + bottom + 0.24 * rows
    left = 0.2 + 0.075 * max([len(line) for label in labels for line in label.split("\n")] or [4])
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - 0.15 / width, top=1 - top / height,
                        bottom=bottom / height, wspace=0.08 if ncols > 1 else None)
    return fig


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    return f"<div class=\"plot\">{text.strip()}</div>"


def _short(name: str) -> str:
    """A layer name for a plot's axis: long names keep their start and end."""
    if len(name) > LABEL_CHARS:
        tail = LABEL_CHARS // 2 - 2
        name = name[:LABEL_CHARS - tail - 1] + "\u2026" + name[-tail:]
    return name.replace("$", r"\$")  # matplotlib reads $...$ as math


def _style(ax, grid_axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(_tick))
    ax.grid(axis=grid_axis, color=COLORS["grid"], linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _tick(x: float, _pos=None) -> str:
    return f"{round(x):,}" if float(x).is_integer() else f"{x:g}"


def _label_bars(ax, bars, values, fmt=None, size=7, zeros=False) -> None:
    for bar, v in zip(bars, values):
        if not v and not zeros:
            continue
        ax.annotate(fmt(v) if fmt else _fmt(v), (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    xytext=(3, 0), textcoords="offset points", va="center", fontsize=size,
                    color=COLORS["text"])


def _layer_chart(layers: dict, synth: dict | None) -> str:
    names = list(layers)
    if not names:
        return "<p class=\"note\">No layers.</p>"
    slayers = (synth or {}).get("layers") or {}
    n = len(names)
    fig = _figure(n * (1.45 if synth else 1) + 0.5, [_short(m) for m in names],
                  top=0.55 if synth else 0.35, bottom=0.35, ncols=len(PLOT_KEYS))
    axes = fig.subplots(1, len(PLOT_KEYS), sharey=True)
    ys = list(range(n))
    h = 0.38 if synth else 0.7
    labels = n <= 30
    for ax, (key, title) in zip(axes, PLOT_KEYS):
        ev = [_value(layers[m], key) for m in names]
        off = h / 2 if synth else 0
        bars = ax.barh([y - off for y in ys], ev, height=h, color=COLORS["estimate"], label="estimate")
        top = max(ev)
        if labels:
            _label_bars(ax, bars, ev)
        if synth:
            sv = [_value(slayers.get(m) or {}, key) for m in names]
            bars = ax.barh([y + off for y in ys], sv, height=h, color=COLORS["synth"], label="synthesis")
            top = max(top, *sv)
            if labels:
                _label_bars(ax, bars, sv)
        ax.set_xlim(0, top * 1.25 if top else 1)
        ax.set_title(title)
        _style(ax)
        ax.tick_params(axis="x", labelsize=7)
    axes[0].set_yticks(ys, [_short(m) for m in names])
    axes[0].set_ylim(n - 0.5, -0.5)
    axes[0].tick_params(axis="y", labelsize=8 if n <= 30 else 7, length=0)
    for ax, (key, _) in zip(axes, PLOT_KEYS):
        if not any(_value(layers[m], key) or _value(slayers.get(m) or {}, key) for m in names):
            ax.text(0.5, 0.5, f"no {key}", transform=ax.transAxes, ha="center", va="center",
                    color="#9aa1ab", fontsize=9)
    if synth:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="upper right", ncols=2,
                   fontsize=8, frameon=False)
    return _svg(fig)


def _cycles_chart(est: dict, data: dict) -> str:
    from matplotlib.ticker import NullFormatter

    layers = est.get("layers") or {}
    names = [n for n in layers if n != TOP or _num(layers[n].get("cycles"))]
    if not names:
        return "<p class=\"note\">No layers.</p>"
    cycles = [_num(layers[n].get("cycles")) for n in names]
    bottleneck = est.get("bottleneck")
    n = len(names)
    fig = _figure(n + 0.4, [_short(m) for m in names], bottom=0.55)
    ax = fig.subplots()
    colors = [COLORS["bottleneck"] if m == bottleneck else COLORS["estimate"] for m in names]
    bars = ax.barh(range(n), cycles, height=0.7, color=colors)
    positive = [c for c in cycles if c > 0]
    log = bool(positive) and max(positive) / min(positive) > 50
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(positive) / 2, max(positive) * 4)
        ax.set_xlabel("cycles per frame (log scale)")
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.set_xlim(0, max(cycles) * 1.2 if max(cycles) else 1)
        ax.set_xlabel("cycles per frame")
    _label_bars(ax, bars, cycles, size=7 if n <= 40 else 6)
    ax.set_yticks(range(n), [_short(m) for m in names])
    ax.set_ylim(n - 0.5, -0.5)
    ax.tick_params(axis="y", labelsize=8 if n <= 30 else 7, length=0)
    for tick, m in zip(ax.get_yticklabels(), names):
        if m == bottleneck:
            tick.set_color(COLORS["bottleneck"])
            tick.set_fontweight("bold")
    for key, what, style in (("sim", "RTL simulation", "--"), ("csim", "C simulation", ":")):
        iv = (data.get(key) or {}).get("interval_cycles")
        if _positive(iv):
            ax.axvline(iv, color="#444", linestyle=style, linewidth=1,
                       label=f"{what}: interval {_fmt(iv)}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8, frameon=True, framealpha=0.9)
    _style(ax)
    return _svg(fig)


def _util_chart(data: dict) -> str:
    est = data.get("estimate") or {}
    cap = data.get("capacity") or {}
    cats = [("LUT", "LUT"), ("FF", "FF"), ("DSP", "DSP"), ("BRAM", "BRAM"), ("CARRY4", "CARRY4")]
    series = [("estimate", est.get("total") or {}, COLORS["estimate"])]
    if data.get("synth"):
        series.append(("synthesis", data["synth"].get("total") or {}, COLORS["synth"]))
    v = (data.get("vitis_hls") or {}).get("resources")
    if v:
        series.append(("Vitis HLS", {"LUT": v.get("LUT"), "FF": v.get("FF"), "DSP": v.get("DSP"),
                                     "BRAM18": v.get("BRAM_18K")}, COLORS["vitis"]))
    k = len(series)
    h = 0.8 / k
    fig = _figure(len(cats) * (1.2 + 0.7 * k), ["CARRY4"], bottom=0.55)
    ax = fig.subplots()
    top = 0.0
    for j, (label, total, color) in enumerate(series):
        vals = []
        for key, _ in cats:
            c = _bram18(cap) if key == "BRAM" else _num(cap.get(key))
            if label == "Vitis HLS" and key == "CARRY4":
                vals.append(None)
                continue
            vals.append(100.0 * _value(total, key) / c if c else 0.0)
        ys = [i - 0.4 + h * (j + 0.5) for i in range(len(cats))]
        shown = [(y, x) for y, x in zip(ys, vals) if x is not None]
        bars = ax.barh([y for y, _ in shown], [x for _, x in shown], height=h * 0.92,
                       color=color, label=label)
        _label_bars(ax, bars, [x for _, x in shown], fmt=lambda x: f"{_fmt(x, 3)}%", size=8,
                    zeros=True)
        top = max([top, *(x for _, x in shown)])
    part = data.get("part") or "the part"
    if top >= 25:
        ax.axvline(100, color=COLORS["bottleneck"], linestyle="--", linewidth=1)
        ax.set_xlim(0, max(100.0, top) * 1.12)
        ax.set_xlabel(f"% of {part} (BRAM in 18K units; dashed line: the whole part)")
    else:  # a small design: zoom in rather than draw slivers against 100%
        ax.set_xlim(0, _nice(top * 1.3))
        ax.set_xlabel(f"% of {part} (BRAM in 18K units; scale zoomed: the whole part is 100%)")
    ax.set_yticks(range(len(cats)), [f"{name}\n{_fmt(_bram18(cap) if key == 'BRAM' else cap.get(key))}"
                                     for key, name in cats])
    ax.set_ylim(len(cats) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.legend(loc="lower right", fontsize=8, frameon=True, framealpha=0.9)
    _style(ax)
    return _svg(fig)


# -- small helpers ----------------------------------------------------------------------------

def _nice(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least x (and > 0)."""
    step = 1e-3
    while True:
        for m in (1, 2, 2.5, 5):
            if m * step >= x:
                return m * step
        step *= 10


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _num(value) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _fmt(value, digits: int | None = None) -> str:
    """An integer with thousands separators; a float to ``digits`` significant figures."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "\u2014" if value is None else _e(value)
    if value == float("inf"):
        return "\u221e"
    if digits is None or abs(value) >= 10 ** (digits - 1):
        return f"{round(value):,}"
    return f"{value:.{digits}g}"


CSS = """
:root { --fg: #2b2f36; --muted: #6b7280; --line: #e3e6ea; --bg: #f6f7f9; --est: #4c72b0;
        --syn: #dd8452; --bad: #c44e52; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 48px; }
header { border-bottom: 3px solid var(--est); padding-bottom: 12px; margin-bottom: 18px; }
h1 { font-size: 24px; margin: 0 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 0 0 6px; }
.meta { margin: 0; font-size: 14px; } .meta b { color: var(--muted); font-weight: 600; }
.tools, .note { margin: 4px 0 10px; color: var(--muted); font-size: 12.5px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px;
          margin: 0 0 16px; }
section.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 10px;
                background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--est);
        border-radius: 8px; padding: 10px 12px; min-width: 0; }
.card.bottleneck { border-left-color: var(--bad); grid-column: span 2; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 19px; font-weight: 650; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
.card.over { border-left-color: var(--bad); } .card.over .v, .over { color: var(--bad); font-weight: 650; }
.card.bottleneck .v { color: var(--bad); font-size: 15px; line-height: 1.5; }
.card .s { color: var(--muted); font-size: 12.5px; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #f0f2f5; font-weight: 600; white-space: nowrap; }
th.grp { text-align: center; border-left: 2px solid #fff; }
table.num td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.num td.name { text-align: left; white-space: normal; overflow-wrap: anywhere; max-width: 26em; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody th { font-weight: 600; white-space: nowrap; }
tr.bottleneck, tr.bottleneck:nth-child(even) { background: #fbeaea; }
.badge { display: inline-block; white-space: nowrap; margin-left: 6px; padding: 0 6px;
         border-radius: 9px; background: var(--bad); color: #fff; font-size: 11px; font-weight: 600; }
.bn { color: var(--bad); font-weight: 650; overflow-wrap: anywhere; white-space: normal; }
td.err { font-weight: 600; }
td.err.good { background: #e3f4e6; color: #1d6b2c; } td.err.fair { background: #fdf1d8; color: #8a5a00; }
td.err.bad { background: #fbe3e3; color: #a32323; } td.err.same { color: var(--muted); font-weight: 400; }
td.err.small { opacity: .55; }
.scroll { overflow-x: auto; }
.plot svg { width: 100%; height: auto; display: block; }
details summary { cursor: pointer; font-weight: 600; font-size: 15px; }
table.cells td, table.cells th { padding: 2px 6px; font-size: 12px; }
"""
