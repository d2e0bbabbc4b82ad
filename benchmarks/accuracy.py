"""The real-code accuracy loop: run jaxpure on a corpus, match findings to the hand triage.

    python benchmarks/accuracy.py                      # the default corpora (see CORPORA)
    python benchmarks/accuracy.py --untriaged          # list the findings nobody has triaged yet
    python benchmarks/accuracy.py --markdown           # the table for docs/accuracy.md
    python benchmarks/accuracy.py --by-rule            # findings per rule and class
    python benchmarks/accuracy.py --wheels wheels=DIR --corpus wheels   # unpacked WHEELS["wheels"]

The triage lives in ``docs/triage.tsv``, one row a finding: corpus, path (relative to the
corpus), code, the flagged line's text (stripped), occurrence, class (``bug``, ``intended``,
``false``), cause, note. A row is matched by what the finding is, not by its line number (the
baseline's key, ``jaxpure.findings.finding_keys``), so edits elsewhere in a file keep it.

The report counts findings by class, lists findings without a triage row (to read and add)
and triage rows no finding matches any more: a ``false`` or ``intended`` row gone is a
false alarm removed; a ``bug`` row gone is a lost true positive, and the script exits 1.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = ROOT / "docs" / "triage.tsv"
CLASSES = ("bug", "intended", "false")
COLUMNS = ("corpus", "path", "code", "source", "occurrence", "class", "cause", "note")
# The installed libraries jaxpure was developed on; the shared devcorpus (repositories with
# their tests and notebooks) is the main one.
LIBRARIES = ("optax", "flax", "equinox", "haiku", "numpyro")


# Released JAX libraries checked after round 3 (``--wheels NAME=DIR``), each corpus pinned.
# Fetch and unpack one with (``sdist``s: untar into DIR/<name> instead):
#   pip download --no-deps -d W <its pins>; for w in W/*.whl; do n=$(basename $w | cut -d- -f1);
#   mkdir -p DIR/$n; unzip -q -o $w -d DIR/$n -x '*.dist-info/*'; done
# Six folders carry their pin's name instead, as their triage rows expect: sgmcmcjax (wheels7),
# aws-fortuna, google-tunix, jax-fdm (wheels10), learned-optimization (wheels11), jax-models (wheels12).
WHEELS = {
    # triaged while the round-4 rules were written: a development corpus since
    "wheels": "blackjax==1.7.1 chex==0.1.92 diffrax==0.7.2 distrax==0.1.9 dm-pix==0.4.5 evosax==0.3.2 "
    "flashbax==0.1.3 gymnax==1.0.1 jaxopt==0.8.5 jraph==0.0.6.dev0 lineax==0.1.1 mctx==0.0.71 optimistix==0.1.0 "
    "rlax==0.1.9",
    # first run only once round 4's rules were in: held out, then triaged for round 5's rules
    "wheels2": "brax==0.14.2 evojax==0.2.17 flowjax==19.1.2 gpjax==1.0.0 jax-cosmo==0.1.0 jax-md==0.2.29 "
    "jaxley==0.14.0 kfac-jax==0.0.8 neural-tangents==0.6.5 oryx==0.2.9 ott-jax==0.6.0 penzai==0.2.5 pgx==2.6.0 "
    "qdax==0.5.0",
    # first run only once round 5's rules (from wheels2) were in: held out
    "wheels3": "bayeux-ml==0.1.15 craftax==1.6.1 dynamiqs==0.3.7 e3nn-jax==0.21.0 jax-cfd==0.2.1 "
    "jax-dataclasses==1.6.3 jaxlie==1.5.0 jaxns==3.0.0 jaxsim==0.9.0 mujoco-mjx==3.17.0 navix==0.7.4 netket==3.23.0 "
    "sbijax==0.3.4 xminigrid==0.9.3",
    # first run with the final code of round 4: held out, triaged, no rule written from it
    "wheels4": "cola-ml==0.0.7 distreqx==0.0.3 einshape==1.0 flowmc==0.6.4 jax-tqdm==0.4.0 jaxdf==0.3.0 "
    "jaxkern==0.0.5 jaxmarl==0.2.0 kernex==0.2.1 paramax==0.0.5 quax==0.4.6 rejax==0.1.3 sbx-rl==0.28.0 scico==0.0.7 "
    "sympy2jax==0.0.8 tinygp==0.3.1",
    # first run with the final code of round 5: held out, triaged, no rule written from it
    "wheels5": "coix==0.1.0 dinosaur-dycore==1.2.1 equimo==1.1.0 exojax==2.6.0 fdtdx==0.6.3 gemma==3.3.0 haliax==1.3 "
    "interpax==0.3.16 jax-galsim==2026.7.0 jax-privacy==2.0.0 jaxoplanet==0.2.0 orthax==0.2.11 quadax==0.3.1 "
    "recurrentgemma==1.0.1 vbjax==0.0.19 xlb==0.3.1",
    # first run with the final code of round 5 (after the wheels5 rules): held out, triaged
    "wheels6": "augmax==0.4.1 bayex==0.3.0 brainstate==0.5.4 clu==0.0.12 dopamine-rl==4.1.2 elegy==0.5.0 "
    "flaxmodels==0.1.3 jax-fem==0.0.11 jax-healpy==0.8.2 jaxfit==0.0.5 jwave==0.2.1 neuralgcm==1.2.2 objax==1.8.0 "
    "s2fft==1.5.0 spyx==1.0.0 treex==0.6.9",
    # first run with the final code of round 5 (2026-12-07, 0b7d0b4): held out, triaged by helpers; round 6's
    # rules were written from the other corpora only, so their effect here is a held-out measure
    "wheels7": "bijx==1.3.2 cr-sparse==0.4.0 evofr==0.2.1 fedjax==0.0.17 jax-sysid==1.1.0 jax-unirep==3.0.0 "
    "jaxline==0.0.8 jaxls==2024.0.1 jmp==0.0.4 jumanji==1.1.2 kinetix-env==3.0.2 lagrangebench==0.0.1 "
    "matfree==0.6.3 sgmcmcjax==0.2.13 sparsejac==0.2.0 tensorcircuit==0.12.0",
    # first run during round 6 (2026-12-07), with that round's rules up to then: held out, triaged by helpers
    # (diffmah, dm-acme and dsps are sdists)
    "wheels8": "diffmah==0.7.3 dm-acme==0.4.0 dsps==0.4.8 jax-dips==0.2.1 jaxkd==0.1.2 jaxonnxruntime==0.3.0 "
    "jaxpm==0.1.6 jaxwell==0.2.0 kauldron==1.4.2 levanter==1.1 praxis==1.4.0 sax==0.18.2 torax==1.4.3",
    # first run with the final code of round 6 (2026-12-07): held out, triaged by helpers (rockpool is an sdist)
    "wheels9": "apebench==0.1.1 brainpy==2.8.2 celerite2==0.3.3 exponax==0.2.0 fjformer==0.0.91 gpax==0.1.9 "
    "herculens==0.3.0 jax-metrics==0.2.5 jax-xc==0.0.11 jaxspec==0.4.1 jaxued==0.0.1 pdequinox==0.1.2 pgmax==0.6.1 "
    "qujax==1.1.0 rockpool==3.1.0 trainax==0.0.2",
    # held out until round 7's first rule (871ca57)
    "wheels10": "alphafold==2.0.0 aws-fortuna==0.2.0 bayesnewton==1.3.4 coax==0.1.13 colabdesign==1.1.1 efax==1.22.3 "
    "flaxdiff==0.2.11 google-tunix==0.1.7 id-mava==0.1.3 jax-fdm==0.14.1 jax-verify==1.0 jaxite==0.0.3-1 "
    "mbirjax==0.7.3 paxml==1.4.0 pyhgf==0.2.12 rljax==0.0.4 trax==1.4.1",
    # held out until round 7's Module-helper rule (4682bc7)
    "wheels11": "aqtp==0.9.0 cosmopower-jax==0.5.8 deepqmc==1.2.0 diffusionjax==0.1.8 evermore==0.4.1 gwkokab==0.3.1 "
    "inference-gym==0.0.5 jax-loop-utils==0.0.14 jax-resnet==0.0.4 jax-sgmc==0.1.5 jaxkan==0.3.7 jaxley-mech==0.4.0 "
    "jestimator==0.3.3 jimgw==0.5.2 learned-optimization==0.0.1 probdiffeq==0.9.2 pyscfad==0.3.4 ripplegw==0.4.1",
    # held out until round 7's final code (f032dc7)
    "wheels12": "chemtrain==0.2.0 dlux==0.15.1 eqxvision==0.2.8 imax==0.0.1b11 jax-dataloader==0.1.4 "
    "jax-finufft==1.3.1 jax-lorax==0.3.1 jax-models==0.0.5 jax-triton==0.3.1 jaxdecomp==0.3.1 jaxrk==0.1.1 "
    "jaxsnn==0.3.0 jaxwt==0.1.1 laplax==0.0.2 optax-shampoo==0.0.6 s2wav==1.0.4 snnax==0.0.1 symjax==0.5.0 "
    "zodiax==0.5.0",
    # held out until round 8's start (f0dc06b; jax-sparse and veros are sdists)
    "wheels13": "brainevent==0.2.1 braintools==0.3.0 brainunit==0.6.0 cax==0.3.3 evox==0.9.0 fenbux==0.1.0 "
    "inferactively-pymdp==1.0.4 jax-jumpy==1.0.0 jax-sparse==0.0.2 jaxrenderer==0.3.2 jaxtorch==0.6.0 kozax==0.1.5 "
    "nifty8==8.5.7 pcax==0.1.0 pinnx==0.0.3 qiskit-dynamics==0.6.0 ringattention==0.1.2 surjectors==0.3.3 "
    "veros==1.7.0",
    # held out until round 8's final rules (2b3ab9c); ``playground`` is MuJoCo Playground
    "wheels14": "coreax==1.0.0 easydel==0.3.0 eformer==0.0.101 fmmax==1.7.1 invrs-gym==1.6.2 jax-am==0.0.3 "
    "jax2d==1.0.2 jaxadi==0.4.0 jaxlayerlumos==0.3.5 jaxquantum==0.3.0 mpax==0.2.4 playground==0.2.0 "
    "popgym-arcade==0.0.7 qwix==0.1.8 tokamax==0.0.12",
    # held out until round 9's first rule (8987817, a method of an object of unknown class)
    "wheels15": "diffeqzoo==0.0.5 dopamax==0.2.1 ejkernel==0.0.80.3 evorl==2.0.0 jax-flows==0.0.1 kheperax==0.2.0 "
    "matrax==0.0.5 memax==0.1.1 octax==0.1.1 optimism==3.2 pytreeclass==0.11.1 qax==0.4.1 rax==0.4.0 sepes==0.12.1 "
    "serket==0.1.0 tjax==1.3.13 torchax==0.0.13 tornadox==0.0.2",
    # held out until round 9's fourth rule (13c2bf1; diffsky, diffstar, jaxlinop and jaxtronomy are sdists)
    "wheels16": "colabfold==1.6.3 diffsky==0.3.11 diffstar==1.0.3 diffuse-jax==0.1.0 flash-attention-jax==0.3.1 "
    "gigalens==0.1.8 haiku-geometric==0.0.5 jax-bitempered-loss==0.0.2 jaxcapse==0.2.0 jaxfin==0.3.3 jaxgw==0.0.4.2 "
    "jaxlinop==0.0.3 jaxtronomy==0.1.5 linox==0.0.3 memory-efficient-attention==0.1.3 orbax-checkpoint==0.12.8 "
    "perceiver-jax==0.0.3 progen-transformer==0.0.36 qutip-jax==0.1.1",
    # held out until round 9's seventh rule (dd24d0b; mpi4jax is an sdist)
    "wheels17": "agjax==0.3.7 google-jetstream==0.2.2 invrs-opt==0.12.1 invrs-utils==1.4.1 jax-tpu-embedding==0.1.0 "
    "jax2torch==0.0.7 keras==3.15.1 meent==0.13.2 mpi4jax==0.9.1.post2 tf2jax==0.3.8 torch2jax==0.1.0 totypes==0.9.1 "
    "tree-math==0.2.1",
    # held out until round 10's first rule was in (57b3dbb; cleanrl and waymax are sdists): multi-backend
    # libraries with JAX paths (pytensor's JAX linker, pymc's and pyhf's JAX backends, keras-hub, geomstats, POT)
    "wheels18": "cleanrl==0.4.8 cvxpylayers==1.2.0 deepxde==1.15.0 einops==0.8.2 funsor==0.4.8 geomstats==2.8.0 "
    "grain==0.2.18 jax-smi==1.0.4 jaxatari==0.2.0 jaxili==0.1.3 keras-hub==0.32.0 lightweight-mmm==0.1.9 "
    "pot==0.9.7.post1 pyhf==0.7.6 pymanopt==2.2.1 pymc==5.28.5 pytensor==3.0.7 treescope==0.1.10 waymax==0.0.1",
    "wheels19": "alpa==0.2.3 cuequivariance-jax==0.13.0 dalle-mini==0.1.5 diffusers==0.30.3 einx==0.4.3 "
    "flax-trainer==0.0.0.8 gymnasium==1.4.0 ivy==1.0.0.5 jaxtyping==0.3.11 pennylane==0.45.1 phiml==1.16.1 "
    "tensorflow-probability==0.25.0 tensornetwork==0.4.6 transformers==4.46.3",
    "wheels20": "brainmass==0.1.1 brainscale==0.1.0 braintrace==0.2.6 diffopt==2.0.0 flax-pilot==0.2.5 genjax==0.10.3 "
    "jax2onnx==0.17.1 jaxsr==0.3.0 keras-rs==0.4.0 orbax-export==0.0.8 quantax==0.4.0 safejax==0.5.0 saiunit==0.5.2 "
    "simphony==0.7.3 wcosmo==0.7.1 xarray-jax==0.0.5",
    "wheels21": "axlearn==0.0.1.post20240213000026 coordinax==0.23.5 flowrl==0.2.0 galax==0.0.2 google-vizier==0.1.24 "
    "harmonic==1.3.1 jax-flash-attn2==0.0.3 jax-quantity==0.3.2 jax-scipy-spatial==0.2.6 jaxampler==0.0.7 jaxmg==1.1.1 "
    "jaxonmodels==0.2.3 jaxparrow==1.1.1 jaxscape==0.0.13 kvax==0.1.0 mujoco-warp==4.0.0 optymus==0.1.8 "
    "quax-blocks==0.4.2 quimb==1.16.0 unxt==1.11.4",
    # first run at round 12's final code (23eef53), before any rule of round 13 was written: held out
    "wheels22": "abmax==0.0.8 ace-jax==0.4.1 bamojax==0.4.3 booz-xform-jax==0.5.0 cryojax-eo==0.3.2 cutejax==0.1.5 "
    "cuthbert==0.1.1 evorl-jax==0.1.1 factoriax==0.1.0 fleqx==0.0.5 gxm==0.4.0 inox==0.8.0 jax-moseq==0.3.7 "
    "jax-numerical-operators==0.4.2 jaxarc==1.0.3 jaxbessel==0.2.0 jaxfmm==0.6.0 jaxfne==0.5.8 jaxht==0.4.0 "
    "jaxmore==0.5.0 jaxnasium==0.1.1 jaxprop==0.5.7",
}


@dataclass(frozen=True)
class Corpus:
    name: str
    paths: tuple[Path, ...]
    root: Path  # finding paths are made relative to it


def default_corpora() -> list[Corpus]:
    corpora = []
    # Beside the checkout, as the project lays it out; JAXPURE_DEVCORPUS names it from elsewhere
    # (a second worktree of the repository).
    devcorpus = Path(os.environ.get("JAXPURE_DEVCORPUS", ROOT.parent / "shared" / "devcorpus"))
    if devcorpus.is_dir():
        corpora.append(Corpus("devcorpus", (devcorpus,), devcorpus))
    found = [_installed(name) for name in LIBRARIES]
    libraries = tuple(path for path in found if path is not None)
    if libraries:
        corpora.append(Corpus("libraries", libraries, libraries[0].parent))
    return corpora


def _installed(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # a top-level name: found without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def run_jaxpure(corpus: Corpus) -> list[dict]:
    command = [sys.executable, "-m", "jaxpure", "check", "--no-cache", "--format", "json", *map(str, corpus.paths)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode not in (0, 1):
        raise SystemExit(f"jaxpure failed on {corpus.name} (exit {completed.returncode}):\n{completed.stderr}")
    return json.loads(completed.stdout)["findings"]


def keyed(corpus: Corpus, findings: list[dict]) -> dict[tuple, dict]:
    """Each finding by (corpus, relative path, code, stripped line text, occurrence)."""
    sources: dict[str, _Source] = {}
    seen: Counter = Counter()
    result = {}
    for finding in sorted(findings, key=lambda f: (f["path"], f.get("cell", 0), f["line"], f["column"], f["code"])):
        path = finding["path"]
        if path not in sources:
            sources[path] = _Source(path)
        text = sources[path].line(finding["line"], finding.get("cell"))
        identity = (corpus.name, os.path.relpath(path, corpus.root), finding["code"], text)
        result[(*identity, seen[identity])] = finding
        seen[identity] += 1
    return result


class _Source:
    """A file's lines as findings count them: a notebook finding's line is within its cell."""

    def __init__(self, path: str) -> None:
        self.notebook = None
        if path.endswith(".ipynb"):
            from jaxpure.files.notebook import NotebookError, extract

            try:
                self.notebook = extract(Path(path).read_text(encoding="utf-8"))
            except NotebookError:  # reported as JP000: no cells to find lines in
                self.lines = []
                return
            self.lines = self.notebook.source.splitlines()
        else:
            self.lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()

    def line(self, number: int, cell: int | None) -> str:
        if self.notebook is not None and cell is not None:
            span = next((c for c in self.notebook.cells if c.index == cell - 1), None)
            number = number if span is None else span.first_line + number - 1
        return self.lines[number - 1].strip() if 0 < number <= len(self.lines) else ""


def load_triage(path: Path = TRIAGE) -> dict[tuple, dict]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return {(r["corpus"], r["path"], r["code"], r["source"], int(r["occurrence"])): r for r in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--untriaged", action="store_true", help="list every finding without a triage row")
    parser.add_argument("--markdown", action="store_true", help="print the per-class table as markdown")
    parser.add_argument("--by-rule", action="store_true", help="count the triaged findings per rule and class")
    parser.add_argument("--show", metavar="CLASS", help="list the findings triaged as CLASS (bug, intended, false)")
    parser.add_argument(
        "--wheels", metavar="NAME=DIR", action="append", default=[], help="also a corpus of WHEELS, unpacked in DIR"
    )
    parser.add_argument("--corpus", action="append", help="only this corpus (devcorpus, libraries, a WHEELS name)")
    args = parser.parse_args()
    triage = load_triage()
    corpora = default_corpora()
    for spec in args.wheels:
        name, _, folder = spec.partition("=")
        if name not in WHEELS or not folder:
            parser.error(f"--wheels takes NAME=DIR with NAME one of {', '.join(WHEELS)}")
        corpora.append(Corpus(name, (Path(folder),), Path(folder)))
    if args.corpus:
        corpora = [corpus for corpus in corpora if corpus.name in args.corpus]
    run = {corpus.name for corpus in corpora}
    triage = {key: row for key, row in triage.items() if row["corpus"] in run}  # rows of corpora not run stay out
    found: dict[tuple, dict] = {}
    for corpus in corpora:
        found.update(keyed(corpus, run_jaxpure(corpus)))
    matched = {key: triage[key] for key in found if key in triage}
    untriaged = [key for key in found if key not in triage]
    gone = [row for key, row in triage.items() if key not in found]
    _print_counts(found, matched, untriaged, markdown=args.markdown)
    if args.by_rule:
        _print_by_rule(matched)
    lost = [row for row in gone if row["class"] == "bug"]
    print(
        f"\ntriage rows no finding matches: {len(gone)} "
        f"({Counter(row['class'] for row in gone)}); bugs among them: {len(lost)}"
    )
    for row in lost:
        print(f"  LOST BUG {row['corpus']}/{row['path']}: {row['code']} {row['source']!r} ({row['note']})")
    if args.show:
        print(f"\nfindings triaged {args.show}:")
        for key, row in sorted(matched.items()):
            if row["class"] == args.show:
                finding = found[key]
                print(f"  {finding['path']}:{finding['line']}: {finding['code']} [{row['cause']}] {row['note']}")
    if args.untriaged:
        print("\nuntriaged findings:")
        for key in untriaged:
            finding = found[key]
            print(f"  {finding['path']}:{finding['line']}:{finding['column']}: {finding['code']} {finding['message']}")
            print("      " + "\t".join(map(str, key)))  # the row's first five columns, to complete
    return 1 if lost else 0


def _print_counts(found: dict, matched: dict, untriaged: list, *, markdown: bool) -> None:
    by_class = Counter(row["class"] for row in matched.values())
    total = len(matched)
    if markdown:
        print("| class | findings | share |\n|---|---:|---:|")
        for name in CLASSES:
            print(f"| {name} | {by_class[name]} | {by_class[name] / max(total, 1):.0%} |")
        print(f"| untriaged | {len(untriaged)} | |")
        return
    print(f"findings: {len(found)}  triaged: {total}  untriaged: {len(untriaged)}")
    for name in CLASSES:
        print(f"  {name:<9} {by_class[name]:>4}  {by_class[name] / max(total, 1):.0%}")
    causes = Counter((row["class"], row["cause"]) for row in matched.values() if row["class"] != "bug")
    if causes:
        print("causes of the findings that are not bugs:")
        for (name, cause), count in causes.most_common(15):
            print(f"  {count:>4}  {name:<9} {cause}")


def _print_by_rule(matched: dict) -> None:
    counts = Counter((row["code"], row["class"]) for row in matched.values())
    print(f"\n{'rule':<6} {'findings':>8} " + " ".join(f"{name:>8}" for name in CLASSES) + "  false share")
    for code in sorted({code for code, _ in counts}):
        total = sum(counts[code, name] for name in CLASSES)
        cells = " ".join(f"{counts[code, name]:>8}" for name in CLASSES)
        print(f"{code:<6} {total:>8} {cells}  {counts[code, 'false'] / total:>10.0%}")


if __name__ == "__main__":
    sys.exit(main())
