"""The stages are in data-flow order and no stage imports a later one (README, Layout)."""
import ast
from pathlib import Path

import surge_hw

STAGES = ["data", "train", "export", "finn", "rtl", "sim", "hls", "compare", "deploy"]
ROOT = Path(surge_hw.__file__).parent


def imported_stages(path: Path, stage: str) -> set[str]:
    """Stages a module imports (``from ..rtl.x import``, ``from surge_hw.sim import``, ``import surge_hw.hls``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level >= 2:  # from ..stage.x: relative to surge_hw
                names.append(mod.split(".")[0])
            elif node.level == 1:
                continue  # same stage
            elif mod.startswith("surge_hw."):
                names.append(mod.split(".")[1])
        elif isinstance(node, ast.Import):
            names += [a.name.split(".")[1] for a in node.names if a.name.startswith("surge_hw.")]
        out |= {n for n in names if n in STAGES and n != stage}
    return out


def test_no_stage_imports_a_later_one():
    bad = []
    for stage in STAGES:
        for path in (ROOT / stage).rglob("*.py"):
            for other in imported_stages(path, stage):
                if STAGES.index(other) > STAGES.index(stage):
                    bad.append(f"{path.relative_to(ROOT)} imports the later stage {other}")
    assert not bad, "\n".join(bad)


def test_every_stage_package_exists():
    assert all((ROOT / s / "__init__.py").is_file() for s in STAGES)


def test_the_import_scan_sees_lazy_and_relative_imports():
    """compare imports hls inside a function and sim/rtl at module level: the scan must see all three."""
    assert {"hls", "sim", "rtl"} <= imported_stages(ROOT / "compare" / "stage.py", "compare")
