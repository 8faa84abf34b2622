"""Import a deploy package's own ``driver.py`` the way the board does (``packing.py`` beside it)."""
import importlib.util
import sys
from pathlib import Path


def import_package_driver(pkg: Path, name: str = "pkg_driver"):
    spec = importlib.util.spec_from_file_location(name, Path(pkg) / "driver.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(pkg))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(pkg))
    return mod
