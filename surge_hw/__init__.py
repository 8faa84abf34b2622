"""surge_hw: BNN training (SURGE), export, FINN build, open RTL, simulation and comparison, one stage per folder.

``surge_hw.export_brevitas(module, example_input, test_images, out, labels=None)`` exports your own Brevitas model
into an export dir that ``surge-hw build`` takes (see README, "Bring your own model"). Imported lazily, so that
``import surge_hw`` stays light.
"""


def __getattr__(name: str):
    if name == "export_brevitas":
        from .export.user_model import export_brevitas

        return export_brevitas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
