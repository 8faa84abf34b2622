"""The notebooks run end to end (small settings) and stay output-free in git."""
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.xdist_group("notebooks")


def test_notebooks_exist_and_are_stripped():
    assert len(NOTEBOOKS) >= 2
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, f"{path.name}: outputs committed"


def test_notebooks_execute(tmp_path, monkeypatch):
    monkeypatch.setenv("SURGE_NB_OUT", str(tmp_path / "nb"))
    monkeypatch.setenv("SURGE_NB_IMAGES", "200")
    for path in NOTEBOOKS:  # in order: notebook 2 reuses notebook 1's checkpoint
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"


@pytest.mark.slow
def test_notebook_2_runs_cnv(tmp_path, monkeypatch):
    """Notebook 2 with the convolutional CNV (Fashion-MNIST 32x32): trains on 512 images, ~5 min."""
    monkeypatch.setenv("SURGE_NB_OUT", str(tmp_path / "nb"))
    monkeypatch.setenv("SURGE_NB_MODEL", "cnv")
    monkeypatch.setenv("SURGE_NB_IMAGES", "12")
    path = next(p for p in NOTEBOOKS if p.name.startswith("02_"))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/markdown", "")) for c in nb.cells
                   if c.cell_type == "code" for o in c.outputs)
    assert "RTL sim (verilator) | 12 |" in text and "12/12" in text
