"""What every experiment works with: the finding, its module, its target, inputs to try (child only)."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import jax

from jaxpure.files.notebook import extract, is_notebook
from jaxpure.runtime.examples import ExamplesError
from jaxpure.runtime.inputs import Inputs, NoInputs, candidate_inputs
from jaxpure.runtime.perturb import Perturbation
from jaxpure.runtime.probes import LineProbe
from jaxpure.runtime.protocol import FindingTask
from jaxpure.runtime.targets import Target, TargetError, resolve

CONFIRMED = "confirmed"
NOT_REPRODUCED = "not-reproduced"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Verdict:
    status: str
    evidence: str


def confirmed(evidence: str) -> Verdict:
    return Verdict(CONFIRMED, evidence)


def not_reproduced(evidence: str) -> Verdict:
    return Verdict(NOT_REPRODUCED, evidence)


def skipped(evidence: str) -> Verdict:
    return Verdict(SKIPPED, evidence)


class InputRejected(Exception):
    """These inputs failed for a reason other than the finding: try the next ones."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


@dataclass
class ExperimentContext:
    task: FindingTask
    module: ModuleType
    module_name: str
    file: str
    examples: dict | None
    perturbation: Perturbation
    nested_in: str | None = None  # the module-level function called for a nested root (``target``)

    @functools.cached_property
    def lines(self) -> list[str]:
        """The file's lines as findings count them (a notebook's code cells, where ``extract`` puts them)."""
        with open(self.file, encoding="utf-8", errors="replace") as source:
            text = source.read()
        return (extract(text).source if is_notebook(self.file) else text).splitlines()

    def finding_text(self) -> str:
        """The source the finding spans (its first line only, for a multi-line span)."""
        text = self.lines[self.task.line - 1]
        end = self.task.end_column - 1 if self.task.end_line == self.task.line else len(text)
        return text[self.task.column - 1 : end]

    def finding_name(self) -> str | None:
        """The identifier the finding starts with: the global read (JP106), the parameter (JP503)."""
        match = re.match(r"\s*([A-Za-z_]\w*)", self.finding_text())
        return match.group(1) if match else None

    def target(self) -> Target:
        """The traced root that reaches the finding (the finding's own function where none is known).

        A root nested in another function cannot be imported: the module-level function around it
        is called instead, as its own callers call it (``lax.scan(body, ...)`` traces ``body`` anyway).
        """
        task = self.task
        if task.kind is not None and task.root is None:
            raise TargetError(
                "no importable traced function reaches this code (a lambda or module-level transform call)"
            )
        qualname = task.root or task.function
        assert qualname is not None  # only findings inside a function become tasks
        if "<locals>" not in qualname:
            return resolve(self.module, qualname, task.transform, task.kind, task.static_params)
        enclosing = resolve(self.module, qualname.split(".<locals>.")[0], None, None)
        self.nested_in = enclosing.qualname
        if enclosing.traces_without_running:  # itself jitted: it stages what it calls
            return dataclasses.replace(enclosing, kind="staging", transform="jax.jit")
        return enclosing

    def line_never_ran(self, target: Target, inputs: Inputs, during: str) -> Verdict:
        """The finding's line did not run: the function was reached, the line was not."""
        text = f"line {self.task.line} never ran {during} {target.label} with {inputs.description}"
        if self.nested_in:
            return skipped(
                f"{text}; {self.task.root or self.task.function} is nested in {self.nested_in}, which does not run it: "
                f"give {self.nested_in} arguments that do in the examples file, or move the function to module level"
            )
        return not_reproduced(text)

    def own_function(self) -> Target:
        """The function containing the finding, called as its callers call it."""
        return resolve(self.module, self.task.function, None, None)

    def probe(self, watch: str | None = None) -> LineProbe:
        """Watch the finding's line while code runs (``watch``: an expression to read around it)."""
        return LineProbe(self.file, self.task.line, self.task.end_line, watch=watch, function=self.task.function)

    def try_inputs(
        self, target: Target, attempt: Callable[[Inputs], Verdict], *, numpy_arrays: bool = False
    ) -> Verdict:
        """Run ``attempt`` on each candidate input until one gives a verdict (SPEC §7)."""
        try:
            candidates = candidate_inputs(target, self.module_name, self.examples, numpy_arrays=numpy_arrays)
        except (NoInputs, ExamplesError) as error:
            return skipped(str(error))
        failures = []
        for inputs in candidates:
            try:
                return attempt(inputs)
            except InputRejected as rejected:
                failures.append((inputs, rejected.error))
            except Exception as error:
                failures.append((inputs, error))
        tried = "; ".join(inputs.description for inputs, _ in failures)
        return skipped(
            f"{target.label} failed for a reason other than this finding with every input tried ({tried}): "
            f"{self.describe_error(failures[-1][1])}; give it real arguments in the runtime examples file "
            f'under "{self.module_name}:{target.qualname}"'
        )

    def raised_at(self, error: BaseException) -> int | None:
        """The finding's line, if ``error`` arose there (its innermost frame in this file is in the span)."""
        line = self.error_line(error)
        return line if line is not None and self.task.line <= line <= self.task.end_line else None

    def raised_through(self, error: BaseException) -> bool:
        """Whether the finding's line is on the stack ``error`` unwound: it raised there, or in
        what that line called (a ``__setattr__`` guarding the object it mutates)."""
        frames = traceback.extract_tb(error.__traceback__)
        return any(
            _same_file(f.filename, self.file)
            and f.lineno is not None
            and self.task.line <= f.lineno <= self.task.end_line
            for f in frames
        )

    def error_line(self, error: BaseException) -> int | None:
        """The innermost line of this file in the traceback of ``error`` or of what caused it."""
        seen = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            frames = [f for f in traceback.extract_tb(current.__traceback__) if _same_file(f.filename, self.file)]
            if frames:
                return frames[-1].lineno
            current = current.__cause__ or current.__context__
        return None

    def describe_error(self, error: BaseException) -> str:
        """``jax.errors.TracerBoolConversionError: Attempted boolean conversion... (line 12)``."""
        message = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
        line = self.error_line(error)
        where = f" (line {line})" if line is not None else ""
        return f"{error_class(error)}: {message}{where}" if message else f"{error_class(error)}{where}"


def error_class(error: BaseException) -> str:
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__name__
    if getattr(jax.errors, cls.__name__, None) is cls:
        return f"jax.errors.{cls.__name__}"
    return f"{cls.__module__}.{cls.__name__}"


def _same_file(a: str, b: str) -> bool:
    return a == b or os.path.realpath(a) == os.path.realpath(b)
