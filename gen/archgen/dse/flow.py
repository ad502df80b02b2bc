"""Design flows: a YAML file naming a sequence of tasks, branches on a condition and forks
over alternatives, with free parameters that the search chooses.

    objectives: [LUT, DSP, fidelity]      # metrics; fidelity, accuracy, agreement, fps: maximized
    sampler: nsga2                        # or tpe
    seed: 0
    constraints: ["fidelity >= 0.9"]     # optional: a trial that breaks one is infeasible
    steps:
      - quantize: {weight_bits: {int: [2, 8]}, act_bits: {int: [3, 8]}, per_layer: true}
      - if: DSP > 4                       # METRIC OP NUMBER, joined by 'and' / 'or'
        then:
          - prune: {mode: channel, fraction: {float: [0.0, 0.5]}}
        else: []
      - fork:                             # every branch runs; reduce keeps one
          - [fold: {mode: folded}]
          - [fold: {mode: target, target_fps: 100000}]
        reduce: {min: LUT, where: "fps >= 50000"}

A free parameter is ``{int: [LO, HI]}`` (optional ``step``), ``{float: [LO, HI]}``
(optional ``log: true``) or ``{choice: [A, B, ...]}``; ``per_layer: true`` on a task
makes each of its free parameters one per layer.  Every error is a ConfigError naming
the file, the step and the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ArchgenError, ConfigError
from .metrics import METRICS
from .tasks import TASKS, task_params

FREE_KINDS = ("int", "float", "choice")
SAMPLERS = ("nsga2", "tpe")
TOP_KEYS = ("name", "objectives", "sampler", "seed", "constraints", "steps")

DEFAULT_FLOW = """\
name: default
objectives: [LUT, DSP, fidelity]
sampler: nsga2
seed: 0
steps:
  - quantize: {weight_bits: {int: [2, 8]}, act_bits: {int: [2, 8]}, per_layer: true}
  - prune: {mode: channel, fraction: {float: [0.0, 0.5]}, per_layer: true}
  - prune: {mode: unstructured, sparsity: {float: [0.0, 0.6]}}
  - fold: {mode: folded}
"""


# -- conditions ----------------------------------------------------------------------------------

_CLAUSE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*"
                     r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


@dataclass(frozen=True)
class Condition:
    """``METRIC OP NUMBER`` clauses joined by ``and`` (binding tighter) and ``or``."""

    text: str
    clauses: tuple  # or-of-ands: ((metric, op, number), ...), ...

    @classmethod
    def parse(cls, text, where: str) -> "Condition":
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise ConfigError(f"{where}: condition {text!r} is not text like 'DSP > 20'")
        text = str(text)
        ors = []
        for part in re.split(r"\s+or\s+", text.strip()):
            ands = []
            for clause in re.split(r"\s+and\s+", part):
                m = _CLAUSE.match(clause)
                if not m:
                    raise ConfigError(f"{where}: condition {text!r}: {clause.strip()!r} is not "
                                      "METRIC OP NUMBER (OP one of < <= > >= == !=)")
                metric, op, num = m.groups()
                if metric not in METRICS:
                    raise ConfigError(f"{where}: condition {text!r}: unknown metric {metric!r} "
                                      f"(metrics: {', '.join(METRICS)})")
                ands.append((metric, op, float(num)))
            ors.append(tuple(ands))
        return cls(text, tuple(ors))

    def __call__(self, metrics: dict) -> bool:
        return any(all(_OPS[op](metrics.get(k, float("nan")), v) for k, op, v in ands)
                   for ands in self.clauses)


# -- the flow ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Free:
    """A free parameter: what the search chooses."""

    kind: str  # int | float | choice
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple = ()

    def example(self):
        return self.choices[0] if self.kind == "choice" else (
            int(self.low) if self.kind == "int" else float(self.low))

    def to_json(self) -> dict:
        if self.kind == "choice":
            return {"choice": list(self.choices)}
        out = {self.kind: [self.low, self.high]}
        if self.step is not None:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out


@dataclass(frozen=True)
class TaskStep:
    where: str  # "step 2 (prune)": for messages and parameter names
    key: str  # the parameter-name prefix: "2.prune"
    task: str
    args: dict  # parameter -> value or Free
    per_layer: bool = False


@dataclass(frozen=True)
class Branch:
    where: str
    cond: Condition
    then: tuple
    orelse: tuple


@dataclass(frozen=True)
class Reduce:
    metric: str
    maximize: bool
    where: Condition | None = None


@dataclass(frozen=True)
class Fork:
    where: str
    branches: tuple
    reduce: Reduce


@dataclass(frozen=True)
class Flow:
    file: str
    name: str
    steps: tuple
    objectives: tuple  # metric names
    sampler: str = "nsga2"
    seed: int = 0
    constraints: tuple = ()  # Conditions every feasible design meets
    text: str = ""  # the YAML it came from

    def directions(self) -> list:
        return ["maximize" if METRICS[m] else "minimize" for m in self.objectives]

    def task_steps(self):
        """Every TaskStep, in every branch."""
        def walk(steps):
            for s in steps:
                if isinstance(s, TaskStep):
                    yield s
                elif isinstance(s, Branch):
                    yield from walk(s.then)
                    yield from walk(s.orelse)
                else:
                    for b in s.branches:
                        yield from walk(b)
        return list(walk(self.steps))


def load_flow(path) -> Flow:
    """The flow in the YAML file ``path`` (None: the default flow), validated."""
    import yaml

    if path is None:
        text, file = DEFAULT_FLOW, "default flow"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: flow file not found")
        text, file = p.read_text(encoding="utf-8"), str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else "invalid YAML"
        raise ConfigError(f"{file}: not valid YAML ({first})") from None
    return parse_flow(data, file, text)


def parse_flow(data, file: str, text: str = "") -> Flow:
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping with 'steps' at the top level")
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(f"{file}: unknown key {key!r} (valid: {', '.join(TOP_KEYS)})")
    objectives = data.get("objectives", ["LUT", "DSP", "fidelity"])
    if isinstance(objectives, str):
        objectives = [objectives]
    if not isinstance(objectives, list) or not objectives:
        raise ConfigError(f"{file}: objectives: expected a list of metrics")
    for m in objectives:
        if m not in METRICS:
            raise ConfigError(f"{file}: objectives: unknown metric {m!r} "
                              f"(metrics: {', '.join(METRICS)})")
    if len(set(objectives)) != len(objectives):
        raise ConfigError(f"{file}: objectives: a metric is named twice")
    sampler = data.get("sampler", "nsga2")
    if sampler not in SAMPLERS:
        raise ConfigError(f"{file}: sampler: {sampler!r} is not one of {', '.join(SAMPLERS)}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{file}: seed: {seed!r} is not an integer")
    cons = data.get("constraints") or []
    if isinstance(cons, str):
        cons = [cons]
    if not isinstance(cons, list):
        raise ConfigError(f"{file}: constraints: expected a list of conditions")
    constraints = tuple(Condition.parse(c, f"{file}: constraints") for c in cons)
    if "steps" not in data:
        raise ConfigError(f"{file}: no 'steps' (a list of tasks)")
    steps = _steps(data["steps"], file, "")
    if not steps:
        raise ConfigError(f"{file}: steps: the flow has no task")
    flow = Flow(file, str(data.get("name", Path(file).stem)), steps, tuple(objectives),
                sampler, seed, constraints, text)
    keys = [s.key for s in flow.task_steps()]
    if len(set(keys)) != len(keys):  # cannot happen with positional keys; kept as a guard
        raise ConfigError(f"{file}: two steps share a parameter prefix")
    return flow


def _steps(items, file: str, prefix: str) -> tuple:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ConfigError(f"{file}: {('step ' + prefix.rstrip('.')) if prefix else 'steps'}: "
                          "expected a list of steps")
    return tuple(_step(item, file, f"{prefix}{i + 1}") for i, item in enumerate(items))


def _step(item, file: str, path: str):
    where = f"step {path}"
    if not isinstance(item, dict) or not item:
        raise ConfigError(f"{file}: {where}: expected a mapping such as "
                          "{quantize: {...}}, {if: ..., then: [...]} or {fork: [...]}")
    keys = set(item)
    if "if" in keys:
        extra = keys - {"if", "then", "else"}
        if extra:
            raise ConfigError(f"{file}: {where} (if): unknown key {sorted(extra)[0]!r} "
                              "(valid: if, then, else)")
        cond = Condition.parse(item["if"], f"{file}: {where} (if)")
        return Branch(where, cond, _steps(item.get("then"), file, f"{path}.then."),
                      _steps(item.get("else"), file, f"{path}.else."))
    if "fork" in keys:
        extra = keys - {"fork", "reduce"}
        if extra:
            raise ConfigError(f"{file}: {where} (fork): unknown key {sorted(extra)[0]!r} "
                              "(valid: fork, reduce)")
        branches = item["fork"]
        if not isinstance(branches, list) or len(branches) < 2:
            raise ConfigError(f"{file}: {where} (fork): expected a list of at least two "
                              "branches, each a list of steps")
        return Fork(where, tuple(_steps(b, file, f"{path}.{j + 1}.")
                                 for j, b in enumerate(branches)),
                    _reduce(item.get("reduce"), f"{file}: {where} (fork): reduce"))
    if len(item) != 1:
        raise ConfigError(f"{file}: {where}: one task per step (got {', '.join(map(str, item))})")
    (task, args), = item.items()
    if task not in TASKS:
        raise ConfigError(f"{file}: {where}: unknown task {task!r} (tasks: {', '.join(TASKS)}; "
                          "or if/then/else, fork/reduce)")
    where = f"{where} ({task})"
    args = {} if args is None else args
    if not isinstance(args, dict):
        raise ConfigError(f"{file}: {where}: expected a mapping of parameters")
    args = dict(args)
    per_layer = args.pop("per_layer", False)
    if not isinstance(per_layer, bool):
        raise ConfigError(f"{file}: {where}: per_layer: {per_layer!r} is not true or false")
    valid = task_params(task)
    values = {}
    for key, value in args.items():
        if key not in valid:
            raise ConfigError(f"{file}: {where}: unknown parameter {key!r} "
                              f"(valid: {', '.join(valid + ('per_layer',))})")
        values[key] = _free(value, f"{file}: {where}: {key}") if _is_free(value) else value
    step = TaskStep(where, f"{path}.{task}", task, values, per_layer)
    build_config(step, {}, file, example=True)  # every parameter's type and range, now
    return step


def _is_free(value) -> bool:
    return isinstance(value, dict) and any(k in value for k in FREE_KINDS)


def _free(spec: dict, where: str) -> Free:
    kinds = [k for k in FREE_KINDS if k in spec]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: a free parameter has one of {', '.join(FREE_KINDS)}")
    kind = kinds[0]
    allowed = {"choice": {"choice"}, "int": {"int", "step", "log"}, "float": {"float", "step", "log"}}
    for k in spec:
        if k not in allowed[kind]:
            raise ConfigError(f"{where}: unknown key {k!r} in a {kind} range "
                              f"(valid: {', '.join(sorted(allowed[kind]))})")
    if kind == "choice":
        choices = spec["choice"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choice: expected a non-empty list")
        if not all(c is None or isinstance(c, (bool, int, float, str)) for c in choices):
            raise ConfigError(f"{where}: choice: values must be numbers, strings or booleans")
        return Free("choice", choices=tuple(choices))
    rng = spec[kind]
    num = (int,) if kind == "int" else (int, float)
    if not (isinstance(rng, list) and len(rng) == 2 and all(
            isinstance(v, num) and not isinstance(v, bool) for v in rng)) or rng[0] > rng[1]:
        raise ConfigError(f"{where}: {kind}: expected [LOW, HIGH] with LOW <= HIGH, got {rng!r}")
    step, log = spec.get("step"), spec.get("log", False)
    if step is not None and (isinstance(step, bool) or not isinstance(step, num) or step <= 0):
        raise ConfigError(f"{where}: step: {step!r} is not a positive {kind}")
    if not isinstance(log, bool) or (log and (rng[0] <= 0 or step is not None)):
        raise ConfigError(f"{where}: log: needs true/false, LOW > 0 and no step")
    return Free(kind, rng[0], rng[1], step, log)


def _reduce(spec, where: str) -> Reduce:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected {{min: METRIC}} or {{max: METRIC}}, optionally "
                          "with where: CONDITION")
    keys = [k for k in ("min", "max") if k in spec]
    extra = set(spec) - {"min", "max", "where"}
    if len(keys) != 1 or extra:
        raise ConfigError(f"{where}: expected exactly one of min, max (and optionally where)")
    metric = spec[keys[0]]
    if metric not in METRICS:
        raise ConfigError(f"{where}: unknown metric {metric!r} (metrics: {', '.join(METRICS)})")
    cond = Condition.parse(spec["where"], f"{where}: where") if "where" in spec else None
    return Reduce(metric, keys[0] == "max", cond)


# -- binding a flow to a model -------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    """One free parameter of the search space, named ``2.prune.fraction[layer]``."""

    name: str
    free: Free
    step_key: str
    arg: str
    layer: str | None = None


def param_layers(step: TaskStep, arg: str, ctx) -> list:
    """The layers a per-layer parameter has one value for."""
    from . import transforms as T

    g = ctx.base
    layers = T.weight_layers(g)
    chosen = step.args.get("layers", "all")
    if chosen not in (None, "all"):
        layers = [chosen] if isinstance(chosen, str) else list(chosen)
    if step.task == "quantize" and arg == "act_bits":
        return [n for n in layers if T.input_quantizer(g, n) is not None]
    if step.task == "prune" and step.args.get("mode") == "channel":
        ok = []
        for n in layers:
            try:
                T.remove_channels(g, n, [0])
                ok.append(n)
            except ArchgenError:
                pass
        return ok
    return layers


def bind(flow: Flow, ctx) -> list:
    """The search space of ``flow`` on the model of ``ctx``: its Params, in flow order.
    Layer names in the flow are checked against the model here."""
    from . import transforms as T

    known = set(T.weight_layers(ctx.base))
    from .tasks import parallel_folding

    foldable = set(parallel_folding(ctx.base))
    params = []
    for step in flow.task_steps():
        _check_layers(flow, step, known, foldable)
        for arg, value in step.args.items():
            if not isinstance(value, Free):
                continue
            if step.per_layer and arg not in ("layers", "mode", "compact", "strategy"):
                for layer in param_layers(step, arg, ctx):
                    params.append(Param(f"{step.key}.{arg}[{layer}]", value, step.key, arg, layer))
            else:
                params.append(Param(f"{step.key}.{arg}", value, step.key, arg))
    return params


def _check_layers(flow, step, known, foldable):
    args = step.args
    names = []
    lay = args.get("layers")
    if isinstance(lay, str) and lay != "all":
        names.append(("layers", lay, known))
    elif isinstance(lay, list):
        names += [("layers", n, known) for n in lay]
    for key in ("weight_bits", "act_bits", "weight_precision", "act_precision", "sparsity",
                "fraction"):
        if isinstance(args.get(key), dict) and not isinstance(args.get(key), Free):
            names += [(key, n, known) for n in args[key]]
    for key in ("pe", "simd"):
        if isinstance(args.get(key), dict):
            names += [(key, n, foldable) for n in args[key]]
    for key, name, valid in names:
        if name not in valid:
            raise ConfigError(f"{flow.file}: {step.where}: {key}: no layer {name!r} in the model "
                              f"(layers: {', '.join(sorted(valid))})")


def build_config(step: TaskStep, values: dict, file: str, example: bool = False):
    """The task's config with the free parameters set from ``values`` (param name ->
    value; per-layer ones gathered into a mapping); ``example``: each range's low end."""
    args = {}
    for arg, value in step.args.items():
        if isinstance(value, Free):
            if example:
                value = value.example()
            elif f"{step.key}.{arg}" in values:
                value = values[f"{step.key}.{arg}"]
            else:
                pre = f"{step.key}.{arg}["
                value = {k[len(pre):-1]: v for k, v in values.items() if k.startswith(pre)}
        args[arg] = value
    try:
        return TASKS[step.task].config(**args)
    except ConfigError as e:
        raise ConfigError(f"{file}: {step.where}: {e}") from None
